package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorauth/rotor/storage/storagetest"
)

// replicaSecret is the system secret every replica of a test shares.
const replicaSecret = "replica-test-system-secret-0123456789abcdef"

// setEnv sets key=value in the instance's environment, replacing every
// earlier setting of key, so that the child sees it exactly once.
func (in *instance) setEnv(key, value string) {
	env := in.environ[:0:0]
	for _, kv := range in.environ {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			env = append(env, kv)
		}
	}
	in.environ = append(env, key+"="+value)
}

// onPostgres points an instance at a PostgreSQL database with the settings
// replicas share; extra are further KEY=VALUE settings.
func (in *instance) onPostgres(dsn, issuer string, extra ...string) {
	settings := append([]string{
		"ROTOR_DATABASE_DSN=" + dsn,
		"ROTOR_ISSUER=" + issuer,
		"ROTOR_SECRETS_SYSTEM=" + replicaSecret,
		"ROTOR_BFF_ENABLED=false",
		"ROTOR_DEMO_ENABLED=false",
	}, extra...)
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		in.setEnv(k, v)
	}
}

// replicas makes n instances sharing one fresh PostgreSQL database and
// the first one's URL as issuer. The skip/fail rule of TEST_POSTGRES_DSN
// applies.
func replicas(t *testing.T, n int, extra ...string) (dbName string, ins []*instance) {
	t.Helper()
	dbName, dsn := storagetest.PostgresDatabase(t)
	for range n {
		ins = append(ins, newInstance(t))
	}
	for _, in := range ins {
		in.onPostgres(dsn, ins[0].baseURL(), extra...)
		var issuers int
		for _, kv := range in.processEnv() {
			if strings.HasPrefix(kv, "ROTOR_ISSUER=") {
				issuers++
			}
		}
		if issuers != 1 {
			t.Fatalf("child environment sets ROTOR_ISSUER %d times", issuers)
		}
	}
	return dbName, ins
}

// confidentialClient registers a client_credentials client (for
// introspection) and returns its generated secret.
func confidentialClient(t *testing.T, in *instance, id string) string {
	t.Helper()
	out := in.cli("", "clients", "create", "--id", id, "--grant-types", "client_credentials", "--introspector")
	m := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no generated secret in %q", out)
	}
	return m[1]
}

// postForm posts form to baseURL+path with client credentials basic (if
// any) and returns the status and body.
func postForm(t *testing.T, client *http.Client, baseURL, path string, form url.Values, basic ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, baseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s%s: %v", baseURL, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// introspectActive asks in whether token is active.
func introspectActive(t *testing.T, in *instance, token, clientID, secret string) bool {
	t.Helper()
	status, body := postForm(t, http.DefaultClient, in.baseURL(), "/oauth2/introspect", url.Values{"token": {token}}, clientID, secret)
	if status != http.StatusOK {
		t.Fatalf("introspect at %s: status %d: %s", in.addr, status, body)
	}
	var ir struct {
		Active bool `json:"active"`
	}
	if err := json.Unmarshal(body, &ir); err != nil {
		t.Fatalf("introspection response %s: %v", body, err)
	}
	return ir.Active
}

func getBody(t *testing.T, rawURL string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestReplicasShareState runs two `rotor serve` processes on one
// PostgreSQL database: they publish the same keys and see each other's
// tokens and revocations.
func TestReplicasShareState(t *testing.T) {
	_, ins := replicas(t, 2)
	a, b := ins[0], ins[1]
	setupUserAndClient(t, a)
	secret := confidentialClient(t, a, "introspector")
	a.start()
	b.start()

	t.Run("identical JWKS", func(t *testing.T) {
		sa, ja := getBody(t, a.baseURL()+"/.well-known/jwks.json")
		sb, jb := getBody(t, b.baseURL()+"/.well-known/jwks.json")
		if sa != http.StatusOK || sb != http.StatusOK {
			t.Fatalf("jwks status %d and %d", sa, sb)
		}
		if !bytes.Equal(ja, jb) {
			t.Errorf("replicas publish different JWKS:\n%s\n%s", ja, jb)
		}
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(ja, &set); err != nil || len(set.Keys) == 0 {
			t.Errorf("JWKS %s has no keys (%v)", ja, err)
		}
	})

	tr := mustToken(t, a.baseURL(), passwordForm(publicClient, testEmail, testPassword))
	if tr.status != http.StatusOK || tr.AccessToken == "" || tr.RefreshToken == "" {
		t.Fatalf("password grant at A: status %d error %q", tr.status, tr.Error)
	}
	steps := []struct {
		name       string
		at         *instance
		token      string
		wantActive bool
		before     func(t *testing.T)
	}{
		{name: "A's access token is active at B", at: b, token: tr.AccessToken, wantActive: true},
		{name: "A's refresh token is active at B", at: b, token: tr.RefreshToken, wantActive: true},
		{name: "after revocation at B the access token is inactive at A", at: a, token: tr.AccessToken, before: func(t *testing.T) {
			status, body := postForm(t, http.DefaultClient, b.baseURL(), "/oauth2/revoke",
				url.Values{"token": {tr.RefreshToken}, "client_id": {publicClient}})
			if status != http.StatusOK {
				t.Fatalf("revoke at B: status %d: %s", status, body)
			}
		}},
		{name: "and so is the refresh token", at: a, token: tr.RefreshToken},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before(t)
			}
			if got := introspectActive(t, st.at, st.token, "introspector", secret); got != st.wantActive {
				t.Errorf("active = %v, want %v", got, st.wantActive)
			}
		})
	}
	t.Run("refresh of the revoked token at A", func(t *testing.T) {
		r := mustToken(t, a.baseURL(), refreshForm(publicClient, tr.RefreshToken))
		if r.status != http.StatusBadRequest || r.Error != "invalid_grant" {
			t.Errorf("status %d error %q, want 400 invalid_grant", r.status, r.Error)
		}
	})
}

// TestReplicasRefreshRace sends 50 concurrent refreshes of one token,
// alternating between two replicas on one database.
func TestReplicasRefreshRace(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		grace bool
	}{
		{name: "grace on (default)", grace: true},
		{name: "grace off", extra: []string{"ROTOR_TOKENS_REFRESH_REUSE_GRACE=0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ins := replicas(t, 2, tt.extra...)
			setupUserAndClient(t, ins[0])
			for _, in := range ins {
				in.start()
			}
			tr := mustToken(t, ins[0].baseURL(), passwordForm(publicClient, testEmail, testPassword))
			if tr.status != http.StatusOK {
				t.Fatalf("password grant: status %d error %q", tr.status, tr.Error)
			}

			const n = 50
			results := make([]tokenResponse, n)
			errs := make([]error, n)
			client := &http.Client{Timeout: 30 * time.Second} // a hang guard
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i], errs[i] = postToken(t.Context(), client, ins[i%2].baseURL(), refreshForm(publicClient, tr.RefreshToken))
				}()
			}
			close(start)
			wg.Wait()

			ok, rejected := 0, 0
			successors := map[string]int{}
			for i, r := range results {
				switch {
				case errs[i] != nil:
					t.Errorf("request %d: %v", i, errs[i])
				case r.status >= 500:
					t.Errorf("request %d: status %d error %q", i, r.status, r.Error)
				case r.status == http.StatusOK:
					ok++
					successors[r.RefreshToken]++
				case r.status == http.StatusBadRequest && r.Error == "invalid_grant":
					rejected++
				default:
					t.Errorf("request %d: status %d error %q", i, r.status, r.Error)
				}
			}
			t.Logf("%d succeeded, %d invalid_grant", ok, rejected)
			if tt.grace {
				if ok != n || len(successors) != 1 {
					t.Errorf("%d of %d refreshes succeeded with %d distinct refresh tokens; want all, with one", ok, n, len(successors))
				}
				return
			}
			if ok != 1 || rejected != n-1 {
				t.Fatalf("%d succeeded and %d got invalid_grant; want 1 and %d", ok, rejected, n-1)
			}
			for rt := range successors {
				r := mustToken(t, ins[1].baseURL(), refreshForm(publicClient, rt))
				if r.status != http.StatusBadRequest || r.Error != "invalid_grant" {
					t.Errorf("the winner's successor after reuse: status %d error %q, want 400 invalid_grant (family revoked)", r.status, r.Error)
				}
			}
		})
	}
}
