package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Family is one login's chain of tokens, as `rotor sessions list` shows it.
type Family struct {
	ID              string
	ClientID        string
	Subject         string
	CreatedAt       time.Time
	LastRefreshedAt time.Time
	// ExpiresAt is when the family dies if unused: the idle deadline
	// capped by the absolute lifetime.
	ExpiresAt     time.Time
	AbsoluteLimit time.Time
	RevokedAt     *time.Time
	RevokedReason string
}

// Families lists a subject's families, newest first. idleTTL computes the
// idle deadline from the last refresh.
func (s *Store) Families(ctx context.Context, subject string, idleTTL time.Duration) ([]Family, error) {
	var rows []familyRow
	if err := s.reader(ctx).Where("subject = ?", subject).Order("created_at DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list families of %s: %w", subject, mapErr(err))
	}
	out := make([]Family, 0, len(rows))
	for _, r := range rows {
		last, err := s.lastRefresh(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("list families of %s: %w", subject, err)
		}
		exp := last.Add(idleTTL)
		if exp.After(r.ExpiresAt) {
			exp = r.ExpiresAt
		}
		out = append(out, Family{
			ID: r.ID, ClientID: r.ClientID, Subject: r.Subject,
			CreatedAt: r.CreatedAt, LastRefreshedAt: last,
			ExpiresAt: exp, AbsoluteLimit: r.ExpiresAt,
			RevokedAt: r.RevokedAt, RevokedReason: r.RevokedReason,
		})
	}
	return out, nil
}

// lastRefresh is when the family's newest refresh token was issued: its
// last rotation, or the login. While the family lives that token is kept
// (GC removes only expired ones); once they are all gone it falls back to
// the family's own record.
func (s *Store) lastRefresh(ctx context.Context, f familyRow) (time.Time, error) {
	var issued []time.Time
	err := s.reader(ctx).Model(&refreshTokenRow{}).Where("request_id = ?", f.ID).
		Order("requested_at DESC").Limit(1).Pluck("requested_at", &issued).Error
	if err != nil {
		return time.Time{}, mapErr(err)
	}
	last := f.LastRefreshedAt
	if len(issued) == 1 && issued[0].After(last) {
		last = issued[0]
	}
	return last, nil
}

// RevokeFamily revokes every refresh and access token of one family.
// It reports whether the family exists.
func (s *Store) RevokeFamily(ctx context.Context, id, reason string) (bool, error) {
	found := false
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&familyRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		found = n > 0
		return s.revokeFamilyTokens(tx, id, reason)
	})
	if err != nil {
		return false, fmt.Errorf("revoke family %s: %w", id, mapErr(err))
	}
	return found, nil
}

// RevokeSubjectFamilies revokes every live family of a subject and returns
// how many it revoked. It leaves browser and BFF sessions alone: signing
// a user out everywhere is SignOutEverywhere.
func (s *Store) RevokeSubjectFamilies(ctx context.Context, subject, reason string) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *gorm.DB) (err error) {
		n, err = s.revokeLiveFamilies(tx, reason, "subject = ?", subject)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("revoke families of %s: %w", subject, mapErr(err))
	}
	return n, nil
}

// SignedOut is what SignOutEverywhere ended.
type SignedOut struct {
	Families, BrowserSessions, BFFSessions int
}

// SignOutEverywhere signs a user out of everything at once, in one
// transaction: it revokes every live token family of the user, ends every
// single-sign-on browser session (so a stolen SSO cookie can't mint new
// families) and deletes every BFF session. Every "sign out everywhere"
// goes through it.
func (s *Store) SignOutEverywhere(ctx context.Context, userID, reason string) (SignedOut, error) {
	var out SignedOut
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		n, err := s.revokeLiveFamilies(tx, reason, "subject = ?", userID)
		if err != nil {
			return err
		}
		out = SignedOut{Families: n}
		res := tx.Model(&browserSessionRow{}).Where("user_id = ? AND ended_at IS NULL", userID).Update("ended_at", s.now().UTC())
		if res.Error != nil {
			return res.Error
		}
		out.BrowserSessions = int(res.RowsAffected)
		res = tx.Where("subject = ?", userID).Delete(&bffSessionRow{})
		if res.Error != nil {
			return res.Error
		}
		out.BFFSessions = int(res.RowsAffected)
		return nil
	})
	if err != nil {
		return SignedOut{}, fmt.Errorf("sign out %s everywhere: %w", userID, mapErr(err))
	}
	return out, nil
}

// FamilyLive reports whether the family id exists, is not revoked and has
// not reached its absolute end. It is one primary-key read, cheap enough
// for every request of a session that depends on the family.
func (s *Store) FamilyLive(ctx context.Context, id string) (bool, error) {
	var rows []familyRow
	err := s.reader(ctx).Select("revoked_at", "expires_at").Where("id = ?", id).Limit(1).Find(&rows).Error
	if err != nil {
		return false, fmt.Errorf("read family %s: %w", id, mapErr(err))
	}
	return len(rows) == 1 && rows[0].RevokedAt == nil && rows[0].ExpiresAt.After(s.now()), nil
}

// revokeLiveFamilies revokes, in tx, every live family that matches the
// condition (a gorm Where on token_families) and returns how many.
func (s *Store) revokeLiveFamilies(tx *gorm.DB, reason string, cond string, args ...any) (int, error) {
	var ids []string
	if err := tx.Model(&familyRow{}).Where(cond, args...).Where("revoked_at IS NULL").Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := s.revokeFamilyTokens(tx, id, reason); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

func (s *Store) revokeFamilyTokens(tx *gorm.DB, id, reason string) error {
	if err := s.revokeFamily(tx, id, reason); err != nil {
		return err
	}
	err := tx.Model(&accessTokenRow{}).Where("request_id = ? AND active = ?", id, true).Update("active", false).Error
	if err != nil {
		return fmt.Errorf("revoke access tokens of %s: %w", id, mapErr(err))
	}
	return nil
}
