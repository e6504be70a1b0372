package main

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

// TestClientsDelete: `rotor clients delete ID` removes the client and
// revokes every token it holds, so neither its refresh tokens nor its
// credentials work afterwards; an unknown ID is an error.
func TestClientsDelete(t *testing.T) {
	in := newInstance(t)
	in.cli(testPassword+"\n", "users", "create", "--email", testEmail, "--password-stdin")
	in.cli("", "clients", "create", "--id", "doomed", "--public", "--first-party", "--grant-types", "password,refresh_token", "--scopes", "offline_access")
	in.cli("", "clients", "create", "--id", "keeper", "--public", "--first-party", "--grant-types", "password,refresh_token", "--scopes", "offline_access")
	in.start()

	form := passwordForm("doomed", testEmail, testPassword)
	form.Set("scope", "offline_access")
	doomed := mustToken(t, in.baseURL(), form)
	form.Set("client_id", "keeper")
	keeper := mustToken(t, in.baseURL(), form)
	if doomed.RefreshToken == "" || keeper.RefreshToken == "" {
		t.Fatalf("no refresh tokens: %+v %+v", doomed, keeper)
	}

	if out := in.cli("", "clients", "delete", "doomed"); !strings.Contains(out, "deleted client doomed") {
		t.Errorf("clients delete printed %q", out)
	}
	if r := mustToken(t, in.baseURL(), refreshForm("doomed", doomed.RefreshToken)); r.status == http.StatusOK {
		t.Errorf("refresh with a deleted client's token: %d, want an error", r.status)
	}
	if r := mustToken(t, in.baseURL(), refreshForm("keeper", keeper.RefreshToken)); r.status != http.StatusOK {
		t.Errorf("another client's refresh: %d %s, want 200", r.status, r.Error)
	}

	db, err := sql.Open("sqlite3", "file:"+in.dbPath()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for q, want := range map[string]int{
		"SELECT COUNT(*) FROM clients WHERE id = 'doomed'":                                                     0,
		"SELECT COUNT(*) FROM token_families WHERE client_id = 'doomed' AND revoked_at IS NULL":                0,
		"SELECT COUNT(*) FROM access_tokens WHERE client_id = 'doomed' AND active":                             0,
		"SELECT COUNT(*) FROM token_families WHERE client_id = 'keeper' AND revoked_at IS NULL":                1,
		"SELECT COUNT(*) FROM token_families WHERE client_id = 'doomed' AND revoked_reason = 'client_deleted'": 1,
	} {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}

	r := runCLI(t, in.environ, "", "clients", "delete", "doomed")
	assertOneLineError(t, r.err, "no client with id doomed")
}
