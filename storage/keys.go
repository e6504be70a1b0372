package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/ory/fosite"

	"github.com/rotorauth/rotor/keys"
)

var _ keys.Store = (*Store)(nil)

// SigningKeys implements keys.Store.
func (s *Store) SigningKeys(ctx context.Context) ([]keys.Record, error) {
	var rows []signingKeyRow
	if err := s.reader(ctx).Order("created_at").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list signing keys: %w", mapErr(err))
	}
	out := make([]keys.Record, 0, len(rows))
	for _, r := range rows {
		rec := keys.Record{KID: r.KID, Algorithm: r.Algorithm, State: r.State, Private: r.Private, CreatedAt: r.CreatedAt}
		if r.NotAfter != nil {
			rec.NotAfter = *r.NotAfter
		}
		out = append(out, rec)
	}
	return out, nil
}

// CreateSigningKey implements keys.Store.
func (s *Store) CreateSigningKey(ctx context.Context, r keys.Record) error {
	row := signingKeyRow{KID: r.KID, Algorithm: r.Algorithm, State: r.State, Private: r.Private, CreatedAt: r.CreatedAt}
	if !r.NotAfter.IsZero() {
		row.NotAfter = &r.NotAfter
	}
	if err := s.writer(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("create signing key %s: %w", r.KID, mapErr(err))
	}
	return nil
}

// UpdateSigningKey implements keys.Store.
func (s *Store) UpdateSigningKey(ctx context.Context, kid, state string, notAfter time.Time) error {
	var na *time.Time
	if !notAfter.IsZero() {
		t := notAfter.UTC()
		na = &t
	}
	res := s.writer(ctx).Model(&signingKeyRow{}).Where("kid = ?", kid).Updates(map[string]any{"state": state, "not_after": na})
	if res.Error != nil {
		return fmt.Errorf("update signing key %s: %w", kid, mapErr(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("update signing key %s: %w", kid, fosite.ErrNotFound)
	}
	return nil
}

// DeleteSigningKey implements keys.Store.
func (s *Store) DeleteSigningKey(ctx context.Context, kid string) error {
	if err := s.writer(ctx).Where("kid = ?", kid).Delete(&signingKeyRow{}).Error; err != nil {
		return fmt.Errorf("delete signing key %s: %w", kid, mapErr(err))
	}
	return nil
}
