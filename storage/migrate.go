package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// migration is one schema step. Steps are append-only: a released step is
// never edited, a change is a new step, so every database converges on the
// same schema whatever version it starts from.
type migration struct {
	version int
	name    string
	up      func(tx *gorm.DB) error
}

var migrations = []migration{
	{1, "initial schema", func(tx *gorm.DB) error {
		return tx.Migrator().CreateTable(&userRow{}, &clientRow{}, &familyRow{},
			&accessTokenRow{}, &refreshTokenRow{}, &authorizeCodeRow{}, &signingKeyRow{},
			&pkceRow{}, &oidcRow{}, &browserSessionRow{}, &consentRow{}, &bffSessionRow{},
			&throttleRow{}, &auditEventV1{})
	}},
	{2, "access tokens issued by a refresh live in the refresh token's row", func(tx *gorm.DB) error {
		return tx.Exec("CREATE INDEX IF NOT EXISTS idx_refresh_tokens_access_signature ON refresh_tokens (access_signature)").Error
	}},
	{3, "clients name the resources they serve and may be trusted introspectors", migrateClientIntrospection},
	{4, "audit events count the occurrences they aggregate", func(tx *gorm.DB) error {
		return tx.Exec(`ALTER TABLE audit_events ADD COLUMN "count" BIGINT NOT NULL DEFAULT 1`).Error
	}},
	// Until this step `rotor clients create` stored client_secret_basic for
	// every confidential client it was not told otherwise about; such a
	// client now accepts client_secret_post too (the stored "" of today's
	// default), since OAuth libraries retry a failed request with the other
	// method. A choice of client_secret_basic can't be told from the old
	// default, so it widens too; client_secret_post and none stay.
	{5, "confidential clients registered with the former default accept either secret method", func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE clients SET token_endpoint_auth_method = '' WHERE token_endpoint_auth_method = 'client_secret_basic'`).Error
	}},
}

// auditEventV1 is audit_events as migration 1 created it, frozen: today's
// AuditEvent has the count column migration 4 adds.
type auditEventV1 struct {
	ID        uint64    `gorm:"primaryKey;autoIncrement"`
	Time      time.Time `gorm:"not null;index"`
	Type      string    `gorm:"size:64;not null"`
	Subject   string    `gorm:"size:64;not null;default:'';index"`
	Email     string    `gorm:"size:320;not null;default:''"`
	ClientID  string    `gorm:"size:255;not null;default:''"`
	FamilyID  string    `gorm:"size:64;not null;default:''"`
	IP        string    `gorm:"size:64;not null;default:''"`
	UserAgent string    `gorm:"size:512;not null;default:''"`
	Detail    string    `gorm:"size:512;not null;default:''"`
}

func (auditEventV1) TableName() string { return "audit_events" }

type schemaMigration struct {
	Version   int    `gorm:"primaryKey"`
	Name      string `gorm:"size:255;not null"`
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// Migrate applies every pending migration, each in its own transaction, and
// returns the versions it applied. It is idempotent.
//
// Replicas may run it at once: on PostgreSQL an advisory lock makes them
// take turns, and each later one finds nothing left to do.
func (s *Store) Migrate(ctx context.Context) (applied []int, err error) {
	err = s.Locked(ctx, "migrate", func(ctx context.Context) error {
		applied, err = s.migrate(ctx)
		return err
	})
	if err != nil {
		return applied, err
	}
	return applied, s.prepare(ctx)
}

func (s *Store) migrate(ctx context.Context) ([]int, error) {
	db := s.write.WithContext(ctx)
	// In a transaction so that, on SQLite, processes creating the table at
	// once take turns (BEGIN IMMEDIATE) instead of the later one failing
	// with "table already exists".
	err := db.Transaction(func(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&schemaMigration{}) })
	if err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", mapErr(err))
	}
	var applied []int
	for _, m := range migrations {
		err := db.Transaction(func(tx *gorm.DB) error {
			var n int64
			if err := tx.Model(&schemaMigration{}).Where("version = ?", m.version).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if err := m.up(tx); err != nil {
				return err
			}
			applied = append(applied, m.version)
			return tx.Create(&schemaMigration{Version: m.version, Name: m.name, AppliedAt: s.now().UTC()}).Error
		})
		if err != nil {
			return applied, fmt.Errorf("migration %d (%s): %w", m.version, m.name, mapErr(err))
		}
	}
	return applied, nil
}

// LatestSchemaVersion is the version Migrate brings a database to.
func LatestSchemaVersion() int { return migrations[len(migrations)-1].version }

// SchemaVersion returns the newest applied migration, 0 for an empty database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	db := s.read.WithContext(ctx)
	if !db.Migrator().HasTable(&schemaMigration{}) {
		return 0, nil
	}
	var v int
	err := db.Model(&schemaMigration{}).Select("COALESCE(MAX(version), 0)").Scan(&v).Error
	return v, mapErr(err)
}
