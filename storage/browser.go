package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// browserSessionRow is a signed-in browser (single sign-on). The cookie
// holds a random value; only its SHA-256 is stored, so a database dump
// yields no usable cookie.
type browserSessionRow struct {
	IDHash    string    `gorm:"column:id_hash;primaryKey;size:64"`
	SID       string    `gorm:"column:sid;size:64;not null;uniqueIndex"` // public id, the ID token's "sid"
	UserID    string    `gorm:"size:64;not null;index"`
	AuthTime  time.Time `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null;index"`
	EndedAt   *time.Time
}

func (browserSessionRow) TableName() string { return "browser_sessions" }

// consentRow remembers the scopes a user granted a client.
type consentRow struct {
	UserID    string    `gorm:"primaryKey;size:64"`
	ClientID  string    `gorm:"primaryKey;size:255"`
	Scopes    string    `gorm:"not null"`
	GrantedAt time.Time `gorm:"not null"`
}

func (consentRow) TableName() string { return "consents" }

// BrowserSession is a live single-sign-on session.
type BrowserSession struct {
	SID       string
	UserID    string
	AuthTime  time.Time
	ExpiresAt time.Time
}

func hashCookie(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// CreateBrowserSession stores a session for the cookie value cookie.
func (s *Store) CreateBrowserSession(ctx context.Context, cookie string, bs BrowserSession) error {
	row := browserSessionRow{IDHash: hashCookie(cookie), SID: bs.SID, UserID: bs.UserID, AuthTime: bs.AuthTime.UTC(), ExpiresAt: bs.ExpiresAt.UTC()}
	if err := s.writer(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("create browser session: %w", mapErr(err))
	}
	return nil
}

// BrowserSessionByCookie returns the live session behind a cookie value.
func (s *Store) BrowserSessionByCookie(ctx context.Context, cookie string) (BrowserSession, error) {
	var row browserSessionRow
	err := s.reader(ctx).Where("id_hash = ? AND ended_at IS NULL AND expires_at > ?", hashCookie(cookie), s.now().UTC()).Take(&row).Error
	if err != nil {
		return BrowserSession{}, fmt.Errorf("get browser session: %w", mapErr(err))
	}
	return BrowserSession{SID: row.SID, UserID: row.UserID, AuthTime: row.AuthTime, ExpiresAt: row.ExpiresAt}, nil
}

// BrowserSessionLive reports whether the session sid exists, has not
// ended and has not expired.
func (s *Store) BrowserSessionLive(ctx context.Context, sid string) (bool, error) {
	var n int64
	err := s.reader(ctx).Model(&browserSessionRow{}).
		Where("sid = ? AND ended_at IS NULL AND expires_at > ?", sid, s.now().UTC()).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("read browser session %s: %w", sid, mapErr(err))
	}
	return n > 0, nil
}

// EndBrowserSession ends the session sid and revokes the token families
// it created (RP-initiated logout), except those granted offline_access:
// that scope asks for access while the user is not signed in (OpenID
// Connect Core 1.0 §11), so logging out of the browser leaves them to
// their client. It returns how many families it revoked.
func (s *Store) EndBrowserSession(ctx context.Context, sid, reason string) (int, error) {
	revoked := 0
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		revoked = 0
		if err := tx.Model(&browserSessionRow{}).Where("sid = ? AND ended_at IS NULL", sid).Update("ended_at", s.now().UTC()).Error; err != nil {
			return err
		}
		var ids []string
		if err := tx.Model(&familyRow{}).Where("session_id = ? AND revoked_at IS NULL", sid).Pluck("id", &ids).Error; err != nil {
			return err
		}
		for _, id := range ids {
			offline, err := familyGrants(tx, id, scopeOfflineAccess)
			if err != nil {
				return err
			}
			if offline {
				continue
			}
			if err := s.revokeFamilyTokens(tx, id, reason); err != nil {
				return err
			}
			revoked++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("end browser session: %w", mapErr(err))
	}
	return revoked, nil
}

// scopeOfflineAccess is the OpenID Connect scope of refresh tokens meant
// to outlive the user's browser session (OpenID Connect Core 1.0 §11).
const scopeOfflineAccess = "offline_access"

// familyGrants reports whether the family's newest refresh token was
// granted scope. A family whose tokens are all gone grants nothing.
func familyGrants(tx *gorm.DB, familyID, scope string) (bool, error) {
	var data [][]byte
	err := tx.Model(&refreshTokenRow{}).Where("request_id = ?", familyID).
		Order("requested_at DESC").Limit(1).Pluck("data", &data).Error
	if err != nil {
		return false, fmt.Errorf("read scopes of family %s: %w", familyID, mapErr(err))
	}
	if len(data) == 0 {
		return false, nil
	}
	var req struct {
		GrantedScopes []string `json:"granted_scopes"`
	}
	if err := json.Unmarshal(data[0], &req); err != nil {
		return false, fmt.Errorf("decode scopes of family %s: %w", familyID, err)
	}
	return slices.Contains(req.GrantedScopes, scope), nil
}

// GrantedScopes returns the scopes userID has consented to for clientID.
func (s *Store) GrantedScopes(ctx context.Context, userID, clientID string) ([]string, error) {
	var row consentRow
	err := s.reader(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Take(&row).Error
	if err != nil {
		return nil, fmt.Errorf("get consent: %w", mapErr(err))
	}
	return strings.Fields(row.Scopes), nil
}

// GrantScopes adds scopes to what userID has consented to for clientID.
func (s *Store) GrantScopes(ctx context.Context, userID, clientID string, scopes []string) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		// Concurrent grants for the pair (two consent screens, two
		// replicas) each add their scopes to what the other left.
		if err := s.xactLock(tx, "consent:"+userID+"\x00"+clientID); err != nil {
			return err
		}
		var row consentRow
		err := tx.Where("user_id = ? AND client_id = ?", userID, clientID).Take(&row).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("get consent: %w", mapErr(err))
		}
		all := strings.Fields(row.Scopes)
		for _, sc := range scopes {
			if !slices.Contains(all, sc) {
				all = append(all, sc)
			}
		}
		row = consentRow{UserID: userID, ClientID: clientID, Scopes: strings.Join(all, " "), GrantedAt: s.now().UTC()}
		err = tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "user_id"}, {Name: "client_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"scopes", "granted_at"}),
		}).Create(&row).Error
		if err != nil {
			return fmt.Errorf("grant consent: %w", mapErr(err))
		}
		return nil
	})
}
