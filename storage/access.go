package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ory/fosite"
)

// CreateAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *Store) CreateAccessTokenSession(ctx context.Context, signature string, req fosite.Requester) error {
	row, err := newTokenRow(ctx, signature, req, req.GetSession().GetExpiresAt(fosite.AccessToken))
	if err != nil {
		return err
	}
	return s.deferOrRun(ctx, func(ctx context.Context) error {
		hot, err := s.statements(ctx)
		if err == nil {
			_, err = s.exec(ctx, hot.insertAccess, row.Signature, row.RequestID, row.ClientID, row.Subject,
				true, utc(row.RequestedAt), utc(row.ExpiresAt), row.Data)
		}
		if err != nil {
			return fmt.Errorf("create access token: %w", mapErr(err))
		}
		return nil
	})
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage. A revoked or
// rotated-out access token is fosite.ErrInactiveToken, so introspection
// reports it inactive even though its signature still verifies.
func (s *Store) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var (
		active bool
		data   []byte
	)
	if stateFrom(ctx) == nil {
		hot, err := s.statements(ctx)
		if err != nil {
			return nil, err
		}
		err = hot.accessView.QueryRowContext(ctx, signature).Scan(&active, &data)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("get access token: %w", fosite.ErrNotFound)
		} else if err != nil {
			return nil, fmt.Errorf("get access token: %w", mapErr(err))
		}
	} else {
		var row accessTokenRow
		if err := s.reader(ctx).Where("signature = ?", signature).Take(&row).Error; err != nil {
			return nil, fmt.Errorf("get access token: %w", mapErr(err))
		}
		active, data = row.Row.Active, row.Row.Data
	}
	req, err := s.decodeRequest(ctx, data, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return req, fmt.Errorf("access token revoked: %w", fosite.ErrInactiveToken)
	}
	return req, nil
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage; the row is
// kept inactive for garbage collection.
func (s *Store) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	err := s.writer(ctx).Model(&accessTokenRow{}).Where("signature = ?", signature).Update("active", false).Error
	if err != nil {
		return fmt.Errorf("delete access token: %w", mapErr(err))
	}
	return nil
}

// RevokeAccessToken implements oauth2.TokenRevocationStorage: every access
// token of the family (fosite's request ID) becomes inactive.
func (s *Store) RevokeAccessToken(ctx context.Context, requestID string) error {
	err := s.writer(ctx).Model(&accessTokenRow{}).
		Where("request_id = ? AND active = ?", requestID, true).Update("active", false).Error
	if err != nil {
		return fmt.Errorf("revoke access tokens of %s: %w", requestID, mapErr(err))
	}
	return nil
}
