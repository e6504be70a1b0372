package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"gorm.io/gorm"
)

// refreshView is a refresh token row joined with its family.
type refreshView struct {
	Signature string
	RequestID string
	Active    bool
	RotatedAt *time.Time
	Data      []byte
	// OwnRowAccessTokens: the family has live access tokens in rows of
	// their own (see PresentedToken).
	OwnRowAccessTokens bool
	FamilyRevokedAt    *time.Time
	FamilyExpiresAt    *time.Time
}

// familyEnded reports whether the token's family was revoked or is past
// its absolute lifetime at now.
func (v refreshView) familyEnded(now time.Time) bool {
	return v.FamilyRevokedAt != nil || v.FamilyExpiresAt != nil && !now.Before(*v.FamilyExpiresAt)
}

const refreshViewQuery = `SELECT r.signature, r.request_id, r.active, r.rotated_at, r.data,
	EXISTS (SELECT 1 FROM access_tokens a WHERE a.request_id = r.request_id AND a.active) AS own_row_access_tokens,
	f.revoked_at AS family_revoked_at, f.expires_at AS family_expires_at
	FROM refresh_tokens r LEFT JOIN token_families f ON f.id = r.request_id
	WHERE r.signature = ?`

// PresentedToken is what reading a refresh grant's token tells the rest of
// the grant. The session carries it from that read to the grant's writes.
type PresentedToken struct {
	// FamilyDeadline is the family's absolute end: the tokens the grant
	// issues must not outlive it.
	FamilyDeadline time.Time
	// OwnRowAccessTokens: the family has live access tokens stored in rows
	// of their own, which the rotation must retire with a write of its
	// own: a login's, a grace replay's, or any a release before migration 2
	// wrote. One a rotation issues lives in its refresh token's row and
	// retires with that token. Read from the database, not inferred from
	// the token's lineage, so every such row is found.
	OwnRowAccessTokens bool
}

// presentedTokenCarrier is a session that can carry a PresentedToken.
type presentedTokenCarrier interface {
	SetPresentedToken(PresentedToken)
	PresentedToken() PresentedToken
}

// GetRefreshTokenSession implements oauth2.RefreshTokenStorage.
//
// A rotated token is fosite.ErrInactiveToken (fosite then revokes the
// family as reuse), except inside the grace window while its successor is
// unused: then it is returned as valid so that a client whose response was
// lost gets the same successor again.
func (s *Store) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	if signature == "" {
		return nil, errNoSignature // a malformed token: nothing to look up
	}
	v, err := s.refreshView(ctx, signature)
	if err != nil {
		return nil, err
	}
	req, err := s.decodeRequest(ctx, v.Data, session)
	if err != nil {
		return nil, err
	}
	// The absolute lifetime caps the sliding one; fosite then reports an
	// expired token (invalid_grant) rather than reuse.
	if v.FamilyExpiresAt != nil {
		exp := req.GetSession().GetExpiresAt(fosite.RefreshToken)
		if exp.IsZero() || exp.After(*v.FamilyExpiresAt) {
			req.GetSession().SetExpiresAt(fosite.RefreshToken, *v.FamilyExpiresAt)
		}
	}
	if c, ok := req.GetSession().(presentedTokenCarrier); ok {
		p := PresentedToken{OwnRowAccessTokens: v.OwnRowAccessTokens}
		if v.FamilyExpiresAt != nil {
			p.FamilyDeadline = *v.FamilyExpiresAt
		}
		c.SetPresentedToken(p)
	}
	if v.Active && v.FamilyRevokedAt == nil {
		return req, nil
	}
	// A spent token is only special to its own client's refresh request:
	// there it may be a grace replay, or reuse that revokes the family.
	// Another client presenting it learns nothing and revokes nothing, and
	// introspection or revocation simply see an inactive token.
	ar, refreshing := ctx.Value(fosite.AccessRequestContextKey).(fosite.AccessRequester)
	if !refreshing || !ar.GetGrantTypes().ExactOne("refresh_token") {
		return req, fmt.Errorf("refresh token no longer active: %w", fosite.ErrInactiveToken)
	}
	if cl := ar.GetClient(); cl == nil || cl.GetID() != req.GetClient().GetID() {
		return nil, fmt.Errorf("refresh token of another client: %w", fosite.ErrNotFound)
	}
	ok, err := s.graceAllows(ctx, v)
	if err != nil {
		return nil, err
	}
	if ok {
		return req, nil
	}
	return req, &ReuseError{FamilyID: v.RequestID, FamilyEnded: v.familyEnded(s.now())}
}

// graceAllows reports whether the rotated token v may be presented again:
// within the grace window, family alive, successor not yet used. It reads
// in ctx's transaction, if any, to see that transaction's writes.
func (s *Store) graceAllows(ctx context.Context, v refreshView) (bool, error) {
	grace := s.opts.RefreshReuseGrace
	if grace <= 0 || v.RotatedAt == nil || v.FamilyRevokedAt != nil || s.now().After(v.RotatedAt.Add(grace)) {
		return false, nil
	}
	var live int64
	err := s.reader(ctx).Model(&refreshTokenRow{}).Where("request_id = ? AND parent_signature = ? AND active = ?", v.RequestID, v.Signature, true).Count(&live).Error
	if err != nil {
		return false, fmt.Errorf("find successor: %w", mapErr(err))
	}
	return live > 0, nil
}

// RotateRefreshToken implements oauth2.RefreshTokenStorage. It runs inside
// fosite's transaction and is the single point that decides a race: one
// conditional UPDATE, whose affected-row count says whether this request
// rotated the token. A request that lost is either a grace replay (the
// successor is reused, nothing is written) or reuse (ReuseError).
//
// The access tokens issued before the successor retire with the rotation.
// One stored in the rotated token's row (a rotation's) is retired by the
// same write; those with rows of their own (a login's, a grace replay's)
// by an update of the family's, run only when the read found any.
func (s *Store) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	retireOwnRows := !noOwnRowAccessTokens(ctx)
	return s.deferOrRun(ctx, func(ctx context.Context) error {
		return s.rotateRefreshToken(ctx, requestID, signature, retireOwnRows)
	})
}

func (s *Store) rotateRefreshToken(ctx context.Context, requestID, signature string, retireOwnRows bool) error {
	now := s.now().UTC()
	hot, err := s.statements(ctx)
	if err != nil {
		return err
	}
	res, err := s.exec(ctx, hot.rotateRefresh, false, now, signature, requestID, true)
	if err != nil {
		return fmt.Errorf("rotate refresh token of %s: %w", requestID, mapErr(err))
	}
	st := stateFrom(ctx)
	if n, _ := res.RowsAffected(); n == 1 {
		if st != nil {
			st.rotatedParent = signature
		}
		if !retireOwnRows {
			return nil
		}
		if _, err := s.exec(ctx, hot.retireFamilyAccess, false, requestID, true); err != nil {
			return fmt.Errorf("retire access token of %s: %w", requestID, mapErr(err))
		}
		return nil
	}
	v, err := s.refreshView(ctx, signature)
	if err != nil {
		return err
	}
	ok, err := s.graceAllows(ctx, v)
	if err != nil {
		return err
	}
	if ok && st != nil {
		st.graceReplay = true
		return nil
	}
	return &ReuseError{FamilyID: requestID, FamilyEnded: v.familyEnded(s.now())}
}

// CreateRefreshTokenSession implements oauth2.RefreshTokenStorage. The
// first refresh token of a request opens its family; later ones link to
// the parent they replace (their own expiry is the family's idle window).
func (s *Store) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, req fosite.Requester) error {
	row, err := newTokenRow(ctx, signature, req, req.GetSession().GetExpiresAt(fosite.RefreshToken))
	if err != nil {
		return err
	}
	now := s.now().UTC()
	// A refresh token row's requested_at is when the token was issued, by
	// the store's clock: the family list reads the last refresh from it.
	row.RequestedAt = now
	family := familyRow{
		ID:              req.GetID(),
		ClientID:        row.ClientID,
		Subject:         row.Subject,
		CreatedAt:       now,
		LastRefreshedAt: now,
		ExpiresAt:       now.Add(s.opts.SessionMaxTTL),
		SessionID:       sessionID(req.GetSession()),
	}
	return s.deferOrRun(ctx, func(ctx context.Context) error {
		// What the rotation decided is known only now: with group commit
		// it ran in the same unit, just before.
		st := stateFrom(ctx)
		if st.graceReplay {
			return nil // the successor was stored by the request that rotated the parent
		}
		hot, err := s.statements(ctx)
		if err != nil {
			return err
		}
		// Only a login's first refresh token opens its family. A rotation
		// writes no family row (one random page less per rotation): the
		// family's last refresh is its newest token's issue time.
		if st.rotatedParent == "" {
			_, err = s.exec(ctx, hot.insertFamily, family.ID, family.ClientID, family.Subject,
				family.CreatedAt, family.LastRefreshedAt, family.ExpiresAt, family.SessionID)
		}
		if err == nil {
			_, err = s.exec(ctx, hot.insertRefresh, row.Signature, row.RequestID, row.ClientID, row.Subject,
				true, utc(row.RequestedAt), utc(row.ExpiresAt), row.Data, st.rotatedParent, accessSignature)
		}
		if err != nil {
			return fmt.Errorf("create refresh token in %s: %w", req.GetID(), mapErr(err))
		}
		return nil
	})
}

// noOwnRowAccessTokens reports whether the read of the refresh token that
// ctx's grant presents found no live access token with a row of its own in
// the family; unknown counts as no.
func noOwnRowAccessTokens(ctx context.Context) bool {
	ar, ok := ctx.Value(fosite.AccessRequestContextKey).(fosite.AccessRequester)
	if !ok {
		return false
	}
	c, ok := ar.GetSession().(presentedTokenCarrier)
	return ok && !c.PresentedToken().OwnRowAccessTokens
}

// DeleteRefreshTokenSession implements oauth2.RefreshTokenStorage. fosite
// calls it on reuse; the row is kept, inactive, as evidence until GC.
func (s *Store) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	err := s.writer(ctx).Model(&refreshTokenRow{}).Where("signature = ?", signature).Update("active", false).Error
	if err != nil {
		return fmt.Errorf("delete refresh token: %w", mapErr(err))
	}
	return nil
}

// RevokeRefreshToken implements oauth2.TokenRevocationStorage: the whole
// family (fosite's request ID) is revoked.
func (s *Store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		return s.revokeFamily(tx, requestID, revocationReason(ctx))
	})
}

func (s *Store) revokeFamily(tx *gorm.DB, id, reason string) error {
	err := tx.Model(&refreshTokenRow{}).Where("request_id = ? AND active = ?", id, true).Update("active", false).Error
	if err != nil {
		return fmt.Errorf("revoke refresh tokens of %s: %w", id, mapErr(err))
	}
	res := tx.Model(&familyRow{}).Where("id = ? AND revoked_at IS NULL", id).
		Updates(map[string]any{"revoked_at": s.now().UTC(), "revoked_reason": reason})
	if res.Error != nil {
		return fmt.Errorf("revoke family %s: %w", id, mapErr(res.Error))
	}
	if res.RowsAffected == 0 {
		return nil // already revoked, or no family (a client's own token)
	}
	var fam familyRow
	if err := tx.Where("id = ?", id).Take(&fam).Error; err != nil {
		return fmt.Errorf("revoke family %s: %w", id, mapErr(err))
	}
	ctx := tx.Statement.Context
	// Reuse in a family past its lifetime is no theft signal (see
	// ReuseError.FamilyEnded): the family is closed without one.
	if reason == ReasonReuse && s.now().Before(fam.ExpiresAt) {
		e := AuditEvent{Type: "refresh_reuse_detected", Subject: fam.Subject, ClientID: fam.ClientID, FamilyID: id}
		if err := s.recordAudit(tx, ctx, e); err != nil {
			return err
		}
	}
	return s.recordAudit(tx, ctx, AuditEvent{Type: "family_revoked", Subject: fam.Subject, ClientID: fam.ClientID, FamilyID: id, Detail: reason})
}

// ReasonReuse marks a family revoked because a spent refresh token came back.
const ReasonReuse = "refresh_token_reuse"

type reasonKey struct{}

// WithRevocationReason records why revocations made under ctx happen
// (reuse, sign-out, the revocation endpoint) for the family's record.
func WithRevocationReason(ctx context.Context, reason string) context.Context {
	return context.WithValue(ctx, reasonKey{}, reason)
}

func revocationReason(ctx context.Context) string {
	if r, ok := ctx.Value(reasonKey{}).(string); ok {
		return r
	}
	return "revoked"
}

// sessionID returns the OIDC "sid" of the browser session behind a login,
// or "" for logins without one (the password grant).
func sessionID(sess fosite.Session) string {
	if d, ok := sess.(interface{ Default() *openid.DefaultSession }); ok {
		sess = d.Default() // a session type built on fosite's
	}
	ds, ok := sess.(*openid.DefaultSession)
	if !ok || ds.Claims == nil {
		return ""
	}
	sid, _ := ds.Claims.Extra["sid"].(string)
	return sid
}
