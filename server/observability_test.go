package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorauth/rotor/server"
	"github.com/rotorauth/rotor/storage"
)

// lockedBuffer is a log destination shared by the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestObservability drives the token endpoint through its main outcomes
// (sign-in, refresh, reuse, client credentials, throttling) and checks the
// Prometheus series and request log lines issue #8 promises.
func TestObservability(t *testing.T) {
	logs := &lockedBuffer{}
	h := newBareHarness(t)
	var srv atomic.Pointer[server.Server]
	h.openStore(t, storage.Options{BusyTimeout: 5 * time.Second, OnAudit: func(e storage.AuditEvent) {
		if s := srv.Load(); s != nil {
			s.ObserveAudit(e)
		}
	}})
	srv.Store(h.start(t, newTestKeys(t, h.store, nil), func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
		o.Throttle = throttleOpts
	}))
	h.registerClients(t, allClients...)

	first := h.login(mobileClient, aliceEmail, alicePassword, "")
	second := h.mustRefresh(mobileClient, first.Refresh)
	h.mustRefresh(mobileClient, second.Refresh)
	if r := h.refresh(mobileClient, first.Refresh); r.Status != http.StatusBadRequest {
		t.Fatalf("reuse: status %d, want 400", r.Status)
	}
	cc := h.mustTokens(h.form("/oauth2/token", serviceClient, url.Values{"grant_type": {"client_credentials"}}))
	throttled := 0
	for range 7 {
		r := h.form("/oauth2/token", mobileClient, url.Values{"grant_type": {"password"}, "username": {bobEmail}, "password": {"wrong-password"}})
		if r.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("seven wrong passwords were never throttled")
	}

	metrics := scrape(t, h)
	series := []struct {
		name    string
		atLeast float64
	}{
		{`rotor_http_requests_total{code="200",grant_type="password",method="POST",route="/oauth2/token"}`, 1},
		{`rotor_http_requests_total{code="200",grant_type="refresh_token",method="POST",route="/oauth2/token"}`, 2},
		{`rotor_http_requests_total{code="400",grant_type="refresh_token",method="POST",route="/oauth2/token"}`, 1},
		{`rotor_http_requests_total{code="429",grant_type="password",method="POST",route="/oauth2/token"}`, 1},
		{`rotor_http_request_duration_seconds_count{grant_type="refresh_token",route="/oauth2/token"}`, 3},
		{`rotor_http_request_duration_seconds_count{grant_type="client_credentials",route="/oauth2/token"}`, 1},
		{`rotor_tokens_issued_total{grant_type="password"}`, 1},
		{`rotor_tokens_issued_total{grant_type="refresh_token"}`, 2},
		{`rotor_tokens_issued_total{grant_type="client_credentials"}`, 1},
		{`rotor_refresh_reuse_detected_total`, 1},
		{`rotor_token_families_revoked_total{reason="refresh_token_reuse"}`, 1},
		{`rotor_signin_throttled_total`, 1},
		{`rotor_database_errors_total`, 0},
		{`rotor_db_group_commits_total`, 1},
		{`rotor_db_group_commit_units_total`, 3},
		{`go_goroutines`, 1},
		{`process_resident_memory_bytes`, 1},
	}
	for _, s := range series {
		t.Run(s.name, func(t *testing.T) {
			v, ok := metrics[s.name]
			if !ok {
				t.Fatalf("not in /metrics")
			}
			if v < s.atLeast {
				t.Errorf("= %v, want ≥ %v", v, s.atLeast)
			}
		})
	}
	if v := metrics[`rotor_database_errors_total`]; v != 0 {
		t.Errorf("rotor_database_errors_total = %v, want 0", v)
	}

	t.Run("request log", func(t *testing.T) {
		// One more request whose id we know.
		r := h.form("/oauth2/token", serviceClient, url.Values{"grant_type": {"client_credentials"}})
		id := r.Header.Get("X-Request-Id")
		if id == "" {
			t.Fatal("no X-Request-Id response header")
		}
		var line map[string]any
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, id) {
				if err := json.Unmarshal([]byte(l), &line); err != nil {
					t.Fatalf("log line %q: %v", l, err)
				}
			}
		}
		if line == nil {
			t.Fatalf("no log line with request id %s", id)
		}
		want := map[string]any{"msg": "request", "request_id": id, "method": "POST", "route": "/oauth2/token",
			"status": float64(200), "client_id": serviceClient.ID, "grant_type": "client_credentials"}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("log %s = %v, want %v", k, line[k], v)
			}
		}
		if _, ok := line["duration_ms"].(float64); !ok {
			t.Errorf("log duration_ms = %v, want a number", line["duration_ms"])
		}
		all := logs.String()
		for name, secret := range map[string]string{"access token": first.Access, "refresh token": first.Refresh,
			"rotated refresh token": second.Refresh, "client credentials token": cc.Access, "password": alicePassword,
			"client secret": serviceClient.Secret} {
			if strings.Contains(all, secret) {
				t.Errorf("the log contains the %s", name)
			}
		}
	})
}

// scrape reads /metrics into series → value.
func scrape(t *testing.T, h *harness) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := h.do(req)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", r.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(r.Raw))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}
