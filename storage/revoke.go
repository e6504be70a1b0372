package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// TokenKind says which kind of token a presented signature belongs to.
type TokenKind int

const (
	// RefreshTokenKind is a refresh token, live or spent.
	RefreshTokenKind TokenKind = iota
	// AccessTokenKind is an access token, live or retired.
	AccessTokenKind
)

// Revocation is what RevokeFamilyOfToken did.
type Revocation int

const (
	// TokenUnknown: no token of the kind has the signature; nothing changed.
	TokenUnknown Revocation = iota
	// TokenOfAnotherClient: the token was issued to another client;
	// nothing changed (RFC 7009 §2.1).
	TokenOfAnotherClient
	// FamilyRevoked: the token's family was live and is now revoked.
	FamilyRevoked
	// FamilyAlreadyRevoked: the family had been revoked before; nothing
	// changed.
	FamilyAlreadyRevoked
)

const (
	qRefreshOwner = `SELECT request_id, client_id FROM refresh_tokens WHERE signature = ?`
	// An access token has a row of its own, or lives in the row of the
	// refresh token issued with it (see qAccessView).
	qAccessOwner = `SELECT request_id, client_id FROM access_tokens WHERE signature = ?
		UNION ALL
		SELECT request_id, client_id FROM refresh_tokens WHERE access_signature = ?
		LIMIT 1`
)

// RevokeFamilyOfToken revokes the family of the token with signature if
// clientID was issued it, whether the token is live, spent (a rotated
// refresh token) or retired (an access token of an earlier rotation):
// RFC 7009 §2.1 and RFC 9700 §4.14.2. A client signing out with the token
// it still holds must end the family even if a thief has already rotated
// it. A token that never had a family (client_credentials) has its own
// access tokens revoked.
func (s *Store) RevokeFamilyOfToken(ctx context.Context, kind TokenKind, signature, clientID, reason string) (Revocation, error) {
	if signature == "" {
		return TokenUnknown, nil
	}
	q, args := qRefreshOwner, []any{signature}
	if kind == AccessTokenKind {
		q, args = qAccessOwner, []any{signature, signature}
	}
	out := TokenUnknown
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var familyID, owner string
		err := tx.Raw(q, args...).Row().Scan(&familyID, &owner)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return fmt.Errorf("find token: %w", err)
		}
		if owner != clientID {
			out = TokenOfAnotherClient
			return nil
		}
		var live int64
		if err := tx.Model(&familyRow{}).Where("id = ? AND revoked_at IS NULL", familyID).Count(&live).Error; err != nil {
			return fmt.Errorf("read family %s: %w", familyID, err)
		}
		res := tx.Model(&accessTokenRow{}).Where("request_id = ? AND active = ?", familyID, true).Update("active", false)
		if res.Error != nil {
			return fmt.Errorf("revoke access tokens of %s: %w", familyID, res.Error)
		}
		if err := s.revokeFamily(tx, familyID, reason); err != nil {
			return err
		}
		out = FamilyAlreadyRevoked
		if live > 0 || res.RowsAffected > 0 {
			out = FamilyRevoked
		}
		return nil
	})
	if err != nil {
		return TokenUnknown, fmt.Errorf("revoke family of token: %w", mapErr(err))
	}
	return out, nil
}
