package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables of the PostgreSQL tests. They are deliberately not
// ROTOR_-prefixed: Rotor rejects unknown ROTOR_* variables.
const (
	// EnvPostgresDSN names a PostgreSQL superuser DSN; each test gets a
	// fresh database created through it.
	EnvPostgresDSN = "TEST_POSTGRES_DSN"
	// EnvRequirePostgres=1 turns a missing EnvPostgresDSN from a skip into
	// a failure (CI sets it).
	EnvRequirePostgres = "REQUIRE_POSTGRES"
)

// AdminDSN returns the DSN in TEST_POSTGRES_DSN. Without it the test is
// skipped, or fails when REQUIRE_POSTGRES=1.
func AdminDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgresDSN)
	if dsn != "" {
		return dsn
	}
	if os.Getenv(EnvRequirePostgres) == "1" {
		t.Fatalf("%s=1 but %s is unset: PostgreSQL tests cannot run", EnvRequirePostgres, EnvPostgresDSN)
	}
	t.Skipf("%s is unset: skipping PostgreSQL test (set it to a superuser DSN such as postgres://rotor@127.0.0.1:5432/rotor?sslmode=disable)", EnvPostgresDSN)
	return ""
}

// AdminExec runs one statement through the admin DSN (its own connection).
func AdminExec(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, AdminDSN(t))
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvPostgresDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// PostgresDatabase creates a fresh, empty database for t and drops it when
// t ends. It returns the database's name and DSN. The skip/fail rule of
// AdminDSN applies.
func PostgresDatabase(t testing.TB) (name, dsn string) {
	t.Helper()
	admin := AdminDSN(t)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgresDSN, err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name = "rotor_test_" + hex.EncodeToString(b)
	AdminExec(t, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		// A test may have locked the database out; FORCE ends any
		// connection a killed process left behind.
		AdminExec(t, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
		AdminExec(t, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u.Path = "/" + name
	return name, u.String()
}

// PostgresDSN is PostgresDatabase's DSN.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	_, dsn := PostgresDatabase(t)
	return dsn
}
