package storage

import (
	"context"
	"fmt"
)

// SetPassword replaces the password of the user with email; it reports
// whether the user exists.
func (s *Store) SetPassword(ctx context.Context, email, password string) (bool, error) {
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return false, err
	}
	res := s.writer(ctx).Model(&userRow{}).Where("email = ?", NormalizeEmail(email)).Update("password_hash", hash)
	if res.Error != nil {
		return false, fmt.Errorf("set password: %w", mapErr(res.Error))
	}
	return res.RowsAffected > 0, nil
}
