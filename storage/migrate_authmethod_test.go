package storage_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/rotorauth/rotor/storage"
	"github.com/rotorauth/rotor/storage/storagetest"
)

// TestMigrationWidensDefaultAuthMethod: a confidential client stored with
// the former default method, client_secret_basic, accepts either secret
// method after migration 5 (an empty method); the other methods stay.
func TestMigrationWidensDefaultAuthMethod(t *testing.T) {
	ctx := context.Background()
	dsn := sqliteDSN(t)
	s := storagetest.OpenStore(t, dsn, storage.Options{})
	clients := map[string]string{ // id → stored method before the step
		"old-default": "client_secret_basic",
		"post-only":   "client_secret_post",
		"either":      "",
	}
	for id, method := range clients {
		err := s.CreateClient(ctx, storage.NewClient{ID: id, SecretHash: []byte("hash"), TokenEndpointAuthMethod: method,
			GrantTypes: []string{"client_credentials"}})
		if err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
	}
	if err := s.CreateClient(ctx, storage.NewClient{ID: "public", Public: true, TokenEndpointAuthMethod: "none",
		GrantTypes: []string{"refresh_token"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// The database as the release before the step left it.
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = 5`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = storagetest.OpenStore(t, dsn, storage.Options{})
	want := map[string]string{"old-default": "", "post-only": "client_secret_post", "either": "", "public": "none"}
	for id, method := range want {
		c, err := s.Client(ctx, id)
		if err != nil {
			t.Fatalf("client %s: %v", id, err)
		}
		if got := c.GetTokenEndpointAuthMethod(); got != method {
			t.Errorf("client %s: method %q after the migration, want %q", id, got, method)
		}
	}
}
