package storage

import (
	"context"
	"fmt"
	"time"
)

// bffSessionRow is a signed-in single-page app. The browser's cookie holds
// a random value; only its SHA-256 is stored, and the tokens are sealed by
// the BFF (AES-GCM) before they get here, so a stolen row alone yields no
// usable token.
type bffSessionRow struct {
	IDHash          string    `gorm:"column:id_hash;primaryKey;size:64"`
	Subject         string    `gorm:"size:64;not null;index"`
	Email           string    `gorm:"size:320;not null;default:''"`
	SealedTokens    []byte    `gorm:"not null"`
	AccessExpiresAt time.Time `gorm:"not null"`
	AccessIssuedAt  time.Time `gorm:"not null"`
	ExpiresAt       time.Time `gorm:"not null;index"`
	CreatedAt       time.Time `gorm:"not null"`
}

func (bffSessionRow) TableName() string { return "bff_sessions" }

// BFFSession is a BFF session as stored: tokens still sealed.
type BFFSession struct {
	IDHash          string
	Subject         string
	Email           string
	SealedTokens    []byte
	AccessIssuedAt  time.Time
	AccessExpiresAt time.Time
	ExpiresAt       time.Time
}

// BFFSessionKey is the stored key for a session cookie value; the BFF
// binds its sealed tokens to it.
func BFFSessionKey(cookie string) string { return hashCookie(cookie) }

// CreateBFFSession stores a new session under the hash of cookie.
func (s *Store) CreateBFFSession(ctx context.Context, cookie string, bs BFFSession) error {
	row := bffSessionRow{
		IDHash: hashCookie(cookie), Subject: bs.Subject, Email: bs.Email, SealedTokens: bs.SealedTokens,
		AccessIssuedAt: bs.AccessIssuedAt.UTC(), AccessExpiresAt: bs.AccessExpiresAt.UTC(),
		ExpiresAt: bs.ExpiresAt.UTC(), CreatedAt: s.now().UTC(),
	}
	if err := s.writer(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("create bff session: %w", mapErr(err))
	}
	return nil
}

// BFFSessionByCookie returns the unexpired session for a cookie value.
func (s *Store) BFFSessionByCookie(ctx context.Context, cookie string) (BFFSession, error) {
	var row bffSessionRow
	err := s.reader(ctx).Where("id_hash = ? AND expires_at > ?", hashCookie(cookie), s.now().UTC()).Take(&row).Error
	if err != nil {
		return BFFSession{}, fmt.Errorf("get bff session: %w", mapErr(err))
	}
	return BFFSession{
		IDHash: row.IDHash, Subject: row.Subject, Email: row.Email, SealedTokens: row.SealedTokens,
		AccessIssuedAt: row.AccessIssuedAt, AccessExpiresAt: row.AccessExpiresAt, ExpiresAt: row.ExpiresAt,
	}, nil
}

// UpdateBFFTokens stores refreshed tokens for the session idHash.
func (s *Store) UpdateBFFTokens(ctx context.Context, idHash string, sealed []byte, issuedAt, expiresAt time.Time) error {
	err := s.writer(ctx).Model(&bffSessionRow{}).Where("id_hash = ?", idHash).Updates(map[string]any{
		"sealed_tokens": sealed, "access_issued_at": issuedAt.UTC(), "access_expires_at": expiresAt.UTC(),
	}).Error
	if err != nil {
		return fmt.Errorf("update bff session: %w", mapErr(err))
	}
	return nil
}

// DeleteBFFSession removes the session idHash.
func (s *Store) DeleteBFFSession(ctx context.Context, idHash string) error {
	if err := s.writer(ctx).Where("id_hash = ?", idHash).Delete(&bffSessionRow{}).Error; err != nil {
		return fmt.Errorf("delete bff session: %w", mapErr(err))
	}
	return nil
}
