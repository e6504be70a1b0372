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
		// A rotation's access token is stored in the successor refresh
		// token's row (one row and three index entries fewer per refresh);
		// a grace replay has no new refresh row, so it gets its own.
		if st := stateFrom(ctx); st.rotatedParent != "" && !st.graceReplay {
			return nil
		}
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
	if signature == "" {
		return nil, errNoSignature
	}
	hot, err := s.statements(ctx)
	if err != nil {
		return nil, err
	}
	var (
		active bool
		data   []byte
	)
	err = s.queryRow(ctx, hot.accessView, qAccessView, signature, signature).Scan(&active, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get access token: %w", fosite.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("get access token: %w", mapErr(err))
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
// token of the family (fosite's request ID) that has a row of its own
// becomes inactive. Those stored with the refresh token that came with
// them follow that token: fosite calls RevokeRefreshToken alongside
// (revocation endpoint, refresh and code reuse), which retires them all.
func (s *Store) RevokeAccessToken(ctx context.Context, requestID string) error {
	err := s.writer(ctx).Model(&accessTokenRow{}).
		Where("request_id = ? AND active = ?", requestID, true).Update("active", false).Error
	if err != nil {
		return fmt.Errorf("revoke access tokens of %s: %w", requestID, mapErr(err))
	}
	return nil
}
