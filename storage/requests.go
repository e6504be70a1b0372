package storage

import (
	"context"
	"fmt"

	"github.com/ory/fosite"
	"gorm.io/gorm"
)

// pkceRow holds a code's PKCE challenge (RFC 7636), keyed by the code's signature.
type pkceRow struct {
	Row tokenRow `gorm:"embedded"`
}

func (pkceRow) TableName() string { return "pkce_requests" }

// oidcRow holds the OpenID Connect request of a code (nonce, auth_time).
type oidcRow struct {
	Row tokenRow `gorm:"embedded"`
}

func (oidcRow) TableName() string { return "oidc_requests" }

func (s *Store) createRequest(ctx context.Context, model any, signature string, req fosite.Requester, wrap func(tokenRow) any) error {
	row, err := newTokenRow(ctx, signature, req, req.GetSession().GetExpiresAt(fosite.AuthorizeCode))
	if err != nil {
		return err
	}
	if err := s.writer(ctx).Create(wrap(row)).Error; err != nil {
		return fmt.Errorf("create %T: %w", model, mapErr(err))
	}
	return nil
}

func (s *Store) getRequest(ctx context.Context, db *gorm.DB, signature string, session fosite.Session) (fosite.Requester, error) {
	var row tokenRow
	if err := db.Where("signature = ? AND active = ?", signature, true).Take(&row).Error; err != nil {
		return nil, mapErr(err)
	}
	return s.decodeRequest(ctx, row.Data, session)
}

// CreatePKCERequestSession implements pkce.PKCERequestStorage.
func (s *Store) CreatePKCERequestSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.createRequest(ctx, pkceRow{}, signature, req, func(r tokenRow) any { return &pkceRow{Row: r} })
}

// GetPKCERequestSession implements pkce.PKCERequestStorage.
func (s *Store) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, err := s.getRequest(ctx, s.reader(ctx).Model(&pkceRow{}), signature, session)
	if err != nil {
		return nil, fmt.Errorf("get pkce request: %w", err)
	}
	return req, nil
}

// DeletePKCERequestSession implements pkce.PKCERequestStorage.
func (s *Store) DeletePKCERequestSession(ctx context.Context, signature string) error {
	if err := s.writer(ctx).Where("signature = ?", signature).Delete(&pkceRow{}).Error; err != nil {
		return fmt.Errorf("delete pkce request: %w", mapErr(err))
	}
	return nil
}

// CreateOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Store) CreateOpenIDConnectSession(ctx context.Context, code string, req fosite.Requester) error {
	return s.createRequest(ctx, oidcRow{}, code, req, func(r tokenRow) any { return &oidcRow{Row: r} })
}

// GetOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Store) GetOpenIDConnectSession(ctx context.Context, code string, req fosite.Requester) (fosite.Requester, error) {
	r, err := s.getRequest(ctx, s.reader(ctx).Model(&oidcRow{}), code, req.GetSession())
	if err != nil {
		return nil, fmt.Errorf("get openid connect request: %w", err)
	}
	return r, nil
}

// DeleteOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Store) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	if err := s.writer(ctx).Where("signature = ?", code).Delete(&oidcRow{}).Error; err != nil {
		return fmt.Errorf("delete openid connect request: %w", mapErr(err))
	}
	return nil
}
