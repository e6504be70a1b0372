package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/ory/fosite"
)

// User is a resource owner.
type User struct {
	ID    string
	Email string
}

// NormalizeEmail is the form emails are stored and looked up in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateUser stores a user with an argon2id hash of password; an existing
// email gives ErrConflict.
func (s *Store) CreateUser(ctx context.Context, email, password string) (User, error) {
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return User{}, err
	}
	row := userRow{ID: uuid.NewString(), Email: NormalizeEmail(email), PasswordHash: hash, CreatedAt: s.now().UTC()}
	if err := s.writer(ctx).Create(&row).Error; err != nil {
		return User{}, fmt.Errorf("create user: %w", mapErr(err))
	}
	return User{ID: row.ID, Email: row.Email}, nil
}

// UserByEmail looks a user up by email.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	var row userRow
	if err := s.reader(ctx).Where("email = ?", NormalizeEmail(email)).Take(&row).Error; err != nil {
		return User{}, fmt.Errorf("get user: %w", mapErr(err))
	}
	return User{ID: row.ID, Email: row.Email}, nil
}

// UserByID looks a user up by subject.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	var row userRow
	if err := s.reader(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return User{}, fmt.Errorf("get user: %w", mapErr(err))
	}
	return User{ID: row.ID, Email: row.Email}, nil
}

// Authenticate implements fosite's password-grant storage: it returns the
// subject for valid credentials and fosite.ErrNotFound otherwise, taking
// the same time whether or not the account exists.
func (s *Store) Authenticate(ctx context.Context, email, password string) (string, error) {
	var row userRow
	err := s.read.WithContext(ctx).Where("email = ?", NormalizeEmail(email)).Take(&row).Error
	if err != nil {
		err = mapErr(err)
		if errors.Is(err, fosite.ErrNotFound) {
			// Unknown users cost the same as known ones.
			if _, herr := s.hasher.verifyBounded(ctx, s.hasher.dummy, password); herr != nil {
				return "", fmt.Errorf("authenticate: %w", herr)
			}
		}
		return "", fmt.Errorf("authenticate: %w", err)
	}
	ok, err := s.hasher.verifyBounded(ctx, row.PasswordHash, password)
	if err != nil {
		return "", fmt.Errorf("authenticate %s: %w", row.ID, err)
	}
	if !ok {
		return "", fmt.Errorf("authenticate: wrong password: %w", fosite.ErrNotFound)
	}
	return row.ID, nil
}
