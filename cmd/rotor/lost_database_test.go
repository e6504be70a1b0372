package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/rotorauth/rotor/storage/storagetest"
)

// TestLostDatabase locks a replica out of its PostgreSQL database: it
// reports not ready and answers token requests 503 temporarily_unavailable,
// then recovers without a restart once the database is back.
func TestLostDatabase(t *testing.T) {
	dbName, ins := replicas(t, 1)
	in := ins[0]
	setupUserAndClient(t, in)
	in.start()
	client := &http.Client{Timeout: 15 * time.Second} // a hang guard, not a timing assertion

	tr := mustToken(t, in.baseURL(), passwordForm(publicClient, testEmail, testPassword))
	if tr.status != http.StatusOK {
		t.Fatalf("password grant: status %d error %q", tr.status, tr.Error)
	}
	refresh := tr.RefreshToken
	requests := []struct {
		name string
		do   func(t *testing.T) (int, []byte)
		// onSuccess keeps state from a 200 (the rotated refresh token).
		onSuccess func(body []byte)
	}{
		{name: "readyz", do: func(t *testing.T) (int, []byte) {
			resp, err := client.Get(in.baseURL() + "/readyz")
			if err != nil {
				t.Fatalf("readyz: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, body
		}},
		{name: "password grant", do: func(t *testing.T) (int, []byte) {
			return postForm(t, client, in.baseURL(), "/oauth2/token", passwordForm(publicClient, testEmail, testPassword))
		}},
		{name: "refresh grant", do: func(t *testing.T) (int, []byte) {
			return postForm(t, client, in.baseURL(), "/oauth2/token", refreshForm(publicClient, refresh))
		}, onSuccess: func(body []byte) {
			var r tokenResponse
			if json.Unmarshal(body, &r) == nil && r.RefreshToken != "" {
				refresh = r.RefreshToken
			}
		}},
	}
	phases := []struct {
		name       string
		sql        []string
		wantStatus int
		// tries sends each request several times: the first ones meet
		// pooled connections the server killed, later ones a refused
		// connection attempt; both must be 503.
		tries int
	}{
		{name: "database unreachable", wantStatus: http.StatusServiceUnavailable, tries: 3, sql: []string{
			"ALTER DATABASE " + dbName + " ALLOW_CONNECTIONS false",
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + dbName + "' AND pid <> pg_backend_pid()",
		}},
		{name: "database back", wantStatus: http.StatusOK, tries: 1, sql: []string{
			"ALTER DATABASE " + dbName + " ALLOW_CONNECTIONS true",
		}},
	}
	for _, ph := range phases {
		for _, q := range ph.sql {
			storagetest.AdminExec(t, q)
		}
		for _, rq := range requests {
			t.Run(ph.name+"/"+rq.name, func(t *testing.T) {
				for try := range ph.tries {
					status, body := rq.do(t)
					if status != ph.wantStatus {
						t.Fatalf("try %d: status %d, want %d: %s\nlogs: %s", try+1, status, ph.wantStatus, body, in.logs)
					}
					if status == http.StatusOK && rq.onSuccess != nil {
						rq.onSuccess(body)
					}
					if status == http.StatusServiceUnavailable && rq.name != "readyz" {
						var e struct {
							Error string `json:"error"`
						}
						if err := json.Unmarshal(body, &e); err != nil || e.Error != "temporarily_unavailable" {
							t.Errorf("try %d: body %s, want JSON error temporarily_unavailable", try+1, body)
						}
					}
				}
			})
		}
	}
}
