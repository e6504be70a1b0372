package storage

import (
	"context"
	"fmt"

	"github.com/ory/fosite"
)

// authorizeCodeRow is an issued authorization code (RFC 6749 §4.1.2).
type authorizeCodeRow struct {
	Row tokenRow `gorm:"embedded"`
}

func (authorizeCodeRow) TableName() string { return "authorize_codes" }

// CreateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *Store) CreateAuthorizeCodeSession(ctx context.Context, signature string, req fosite.Requester) error {
	row, err := newTokenRow(ctx, signature, req, req.GetSession().GetExpiresAt(fosite.AuthorizeCode))
	if err != nil {
		return err
	}
	if err := s.writer(ctx).Create(&authorizeCodeRow{row}).Error; err != nil {
		return fmt.Errorf("create authorize code: %w", mapErr(err))
	}
	return nil
}

// GetAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage. A used
// code returns its request with fosite.ErrInvalidatedAuthorizeCode, which
// fosite needs to revoke the tokens issued from it (RFC 6749 §4.1.2).
func (s *Store) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	if signature == "" {
		return nil, errNoSignature
	}
	var row authorizeCodeRow
	if err := s.reader(ctx).Where("signature = ?", signature).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("get authorize code: %w", mapErr(err))
	}
	req, err := s.decodeRequest(ctx, row.Row.Data, session)
	if err != nil {
		return nil, err
	}
	if !row.Row.Active {
		return req, fosite.ErrInvalidatedAuthorizeCode
	}
	return req, nil
}

// InvalidateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
// The conditional update makes a code single-use under concurrency.
func (s *Store) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	res := s.writer(ctx).Model(&authorizeCodeRow{}).Where("signature = ? AND active = ?", signature, true).Update("active", false)
	if res.Error != nil {
		return fmt.Errorf("invalidate authorize code: %w", mapErr(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("invalidate authorize code: %w", fosite.ErrInvalidatedAuthorizeCode)
	}
	return nil
}
