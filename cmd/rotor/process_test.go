package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	testEmail    = "user@example.com"
	publicClient = "app"
)

// setupUserAndClient creates testEmail and a public password/refresh client
// through the CLI binary.
func setupUserAndClient(t *testing.T, in *instance) {
	t.Helper()
	in.cli(testPassword+"\n", "users", "create", "--email", testEmail, "--password-stdin")
	in.cli("", "clients", "create", "--id", publicClient, "--public", "--grant-types", "password,refresh_token")
}

// logLines parses slog's JSON output, failing on any line that isn't JSON.
func logLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		out = append(out, m)
	}
	return out
}

// findLog returns the first log entry with msg.
func findLog(lines []map[string]any, msg string) (map[string]any, bool) {
	for _, l := range lines {
		if l["msg"] == msg {
			return l, true
		}
	}
	return nil, false
}

func TestServeProbes(t *testing.T) {
	in := newInstance(t)
	in.start()
	tests := []struct {
		name   string
		method string
		path   string
		want   int
	}{
		{name: "healthz", method: http.MethodGet, path: "/healthz", want: http.StatusOK},
		{name: "readyz", method: http.MethodGet, path: "/readyz", want: http.StatusOK},
		{name: "discovery", method: http.MethodGet, path: "/.well-known/openid-configuration", want: http.StatusOK},
		{name: "jwks", method: http.MethodGet, path: "/.well-known/jwks.json", want: http.StatusOK},
		{name: "unknown route", method: http.MethodGet, path: "/nope", want: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, in.baseURL()+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %s = %d, want %d; body %s", tt.method, tt.path, resp.StatusCode, tt.want, body)
			}
			if strings.HasSuffix(tt.path, "z") && !strings.Contains(string(body), `"status":"ok"`) {
				t.Errorf("body = %s, want status ok", body)
			}
		})
	}
}

// TestRefreshSurvivesKill rotates a refresh token many times, kills the
// server with SIGKILL right after a response and checks that the rotation
// the client saw was durable.
func TestRefreshSurvivesKill(t *testing.T) {
	in := newInstance(t)
	setupUserAndClient(t, in)
	srv := in.start()

	tr := mustToken(t, in.baseURL(), passwordForm(publicClient, testEmail, testPassword))
	if tr.status != http.StatusOK || tr.RefreshToken == "" {
		t.Fatalf("password grant: status %d error %q, refresh token %q", tr.status, tr.Error, tr.RefreshToken)
	}
	var previous string
	latest := tr.RefreshToken
	const rotations = 200
	for i := range rotations {
		tr := mustToken(t, in.baseURL(), refreshForm(publicClient, latest))
		if tr.status != http.StatusOK {
			t.Fatalf("refresh %d: status %d error %q", i, tr.status, tr.Error)
		}
		if tr.RefreshToken == "" || tr.RefreshToken == latest {
			t.Fatalf("refresh %d did not rotate the token", i)
		}
		previous, latest = latest, tr.RefreshToken
	}
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := srv.wait(t, 30*time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("server did not die of SIGKILL: %v", err)
	}

	restarted := in.start()
	tests := []struct {
		name       string
		token      *string
		wantStatus int
		wantError  string
	}{
		// Order matters: presenting the previous token first would be a
		// grace-window replay that leaves the family alive either way.
		{name: "latest token still works", token: &latest, wantStatus: http.StatusOK},
		{name: "previous token is rejected", token: &previous, wantStatus: http.StatusBadRequest, wantError: "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := mustToken(t, in.baseURL(), refreshForm(publicClient, *tt.token))
			if tr.status != tt.wantStatus || tr.Error != tt.wantError {
				t.Errorf("refresh: status %d error %q, want %d %q", tr.status, tr.Error, tt.wantStatus, tt.wantError)
			}
		})
	}
	t.Run("signing keys are reused after the restart", func(t *testing.T) {
		if _, ok := findLog(logLines(t, srv.logs.String()), "signing key created"); !ok {
			t.Errorf("first start logged no signing key creation:\n%s", srv.logs)
		}
		if l, ok := findLog(logLines(t, restarted.logs.String()), "signing key created"); ok {
			t.Errorf("restart created a signing key again: %v", l)
		}
	})
}

// outcome is what happened to one request of the SIGTERM burst.
type outcome struct {
	wrote      bool // the whole request was written to the connection
	status     int
	err        error
	afterTerm  bool // the response arrived after SIGTERM was sent
	startedAft bool // the request was started after SIGTERM was sent
}

// TestGracefulShutdown sends SIGTERM while password grants are in flight:
// every request the server accepted is answered, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	in := newInstance(t, "ROTOR_SECURITY_HASH_WAIT=60s") // this test is about shutdown, not the hashing pool
	setupUserAndClient(t, in)
	srv := in.start()

	// A connection per request: a keep-alive connection closed as idle by
	// Shutdown while the client reuses it would be a client-side race, not
	// the server dropping an accepted request.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var termSent atomic.Bool
	send := func(o *outcome, ready func()) {
		defer ready()
		o.startedAft = termSent.Load()
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
			o.wrote = true
			ready()
		}}
		ctx := httptrace.WithClientTrace(t.Context(), trace)
		tr, err := postToken(ctx, client, in.baseURL(), passwordForm(publicClient, testEmail, testPassword))
		o.status, o.err, o.afterTerm = tr.status, err, termSent.Load()
	}

	const burst = 20
	outcomes := make([]outcome, burst+5)
	var written, done sync.WaitGroup
	for i := range burst {
		written.Add(1)
		done.Add(1)
		once := sync.OnceFunc(written.Done)
		go func() {
			defer done.Done()
			send(&outcomes[i], once)
		}()
	}
	written.Wait()
	// The kernel hands connections to accept in arrival order, so once a
	// later connection has been served every connection of the burst has
	// been accepted by the server.
	resp, err := client.Get(in.baseURL() + "/healthz")
	if err != nil {
		t.Fatalf("healthz during the burst: %v", err)
	}
	resp.Body.Close()

	termSent.Store(true)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Requests started after the signal may be refused; if answered, they
	// must be answered properly.
	for i := burst; i < len(outcomes); i++ {
		done.Add(1)
		go func() {
			defer done.Done()
			send(&outcomes[i], func() {})
		}()
	}
	done.Wait()

	tests := []struct {
		name string
		from int
		to   int
		late bool
	}{
		{name: "accepted before SIGTERM", from: 0, to: burst},
		{name: "started after SIGTERM", from: burst, to: len(outcomes), late: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answeredAfter := 0
			for i, o := range outcomes[tt.from:tt.to] {
				switch {
				case o.err != nil && tt.late && o.status == 0:
					// Refused or reset before the server took it: allowed.
				case o.err != nil:
					t.Errorf("request %d (written %v) failed mid-flight: %v", i, o.wrote, o.err)
				case o.status != http.StatusOK:
					t.Errorf("request %d: status %d, want 200", i, o.status)
				case o.afterTerm:
					answeredAfter++
				}
			}
			t.Logf("%d of %d requests were answered after SIGTERM", answeredAfter, tt.to-tt.from)
			if t.Failed() {
				t.Logf("logs:\n%s", srv.logs)
			}
		})
	}

	t.Run("exits 0 after shutting down", func(t *testing.T) {
		if err := srv.wait(t, 30*time.Second); err != nil { // shutdown_timeout is 20s
			t.Errorf("rotor serve exited with %v, want status 0\nlogs: %s", err, srv.logs)
		}
		if _, ok := findLog(logLines(t, srv.logs.String()), "shutting down"); !ok {
			t.Errorf("no shutdown log line:\n%s", srv.logs)
		}
	})
}

// TestLogs checks what a first start logs and that nothing secret is ever
// logged, at debug level, across successful and failing requests.
func TestLogs(t *testing.T) {
	in := newInstance(t, "ROTOR_LOG_LEVEL=debug")
	srv := in.start()

	first := logLines(t, srv.logs.String())
	startTests := []struct {
		name  string
		msg   string
		attrs map[string]string // attribute → expected value ("" = any non-empty)
	}{
		{name: "database migrated", msg: "database migrated", attrs: map[string]string{"path": in.dbPath()}},
		{name: "system secret generated", msg: "secrets.system is not set: generated one for this local setup; set ROTOR_SECRETS_SYSTEM in production", attrs: map[string]string{"path": in.dataDir + "/" + secretFileName}},
		{name: "signing key created", msg: "signing key created", attrs: map[string]string{"kid": ""}},
		{name: "listening with database path", msg: "rotor listening", attrs: map[string]string{"addr": in.addr, "issuer": in.baseURL(), "database": in.dbPath()}},
	}
	for _, tt := range startTests {
		t.Run("first start/"+tt.name, func(t *testing.T) {
			l, ok := findLog(first, tt.msg)
			if !ok {
				t.Fatalf("no %q log line in:\n%s", tt.msg, srv.logs)
			}
			for k, want := range tt.attrs {
				got, _ := l[k].(string)
				if (want == "" && got == "") || (want != "" && got != want) {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}

	// Everything secret the test hands to or gets from Rotor.
	const wrongPassword = "not-the-password-but-close"
	const wrongSecret = "wrong-secret-0123456789-abcdefghijklmnop"
	secrets := map[string]string{"password": testPassword, "wrong password": wrongPassword, "stdin client secret": testSecret, "wrong client secret": wrongSecret}

	setupUserAndClient(t, in)
	out := in.cli("", "clients", "create", "--id", "backend", "--grant-types", "client_credentials")
	m := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no generated secret in %q", out)
	}
	generated := m[1]
	secrets["generated client secret"] = generated
	in.cli(testSecret+"\n", "clients", "create", "--id", "worker", "--secret-stdin", "--grant-types", "client_credentials",
		"--token-endpoint-auth-method", "client_secret_post")

	addTokens := func(label string, tr tokenResponse) {
		for kind, tok := range map[string]string{"access token": tr.AccessToken, "refresh token": tr.RefreshToken} {
			if tok == "" {
				continue
			}
			secrets[fmt.Sprintf("%s %s", label, kind)] = tok
			// The part a store keys on is as secret as the token.
			parts := strings.Split(tok, ".")
			secrets[fmt.Sprintf("%s %s signature", label, kind)] = parts[len(parts)-1]
		}
	}
	var lastRefresh, spentRefresh string
	requests := []struct {
		name       string
		form       func() url.Values
		basic      []string
		wantStatus int
		keep       bool // remember the refresh token
	}{
		{name: "password grant", form: func() url.Values { return passwordForm(publicClient, testEmail, testPassword) }, wantStatus: 200, keep: true},
		{name: "wrong password", form: func() url.Values { return passwordForm(publicClient, testEmail, wrongPassword) }, wantStatus: 400},
		{name: "refresh 1", form: func() url.Values { return refreshForm(publicClient, lastRefresh) }, wantStatus: 200, keep: true},
		{name: "refresh 2", form: func() url.Values { return refreshForm(publicClient, lastRefresh) }, wantStatus: 200, keep: true},
		{name: "refresh 3", form: func() url.Values { return refreshForm(publicClient, lastRefresh) }, wantStatus: 200, keep: true},
		{name: "bogus refresh token", form: func() url.Values { return refreshForm(publicClient, "bogus-token.bogus-signature") }, wantStatus: 400},
		{name: "generated secret, basic", form: func() url.Values { return url.Values{"grant_type": {"client_credentials"}} }, basic: []string{"backend", generated}, wantStatus: 200},
		{name: "stdin secret, post", form: func() url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {"worker"}, "client_secret": {testSecret}}
		}, wantStatus: 200},
		{name: "wrong client secret", form: func() url.Values { return url.Values{"grant_type": {"client_credentials"}} }, basic: []string{"backend", wrongSecret}, wantStatus: 401},
		{name: "secret sent by the wrong method", form: func() url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {"backend"}, "client_secret": {generated}}
		}, wantStatus: 401},
		// Replaying a spent token is reuse: the family is revoked.
		{name: "reused refresh token", form: func() url.Values { return refreshForm(publicClient, spentRefresh) }, wantStatus: 400},
		{name: "refresh after reuse", form: func() url.Values { return refreshForm(publicClient, lastRefresh) }, wantStatus: 400},
	}
	for _, tt := range requests {
		t.Run("request/"+tt.name, func(t *testing.T) {
			tr := mustToken(t, in.baseURL(), tt.form(), tt.basic...)
			if tr.status != tt.wantStatus {
				t.Fatalf("status %d (error %q), want %d", tr.status, tr.Error, tt.wantStatus)
			}
			addTokens(tt.name, tr)
			if tt.keep {
				if lastRefresh != "" && spentRefresh == "" {
					spentRefresh = lastRefresh
				}
				lastRefresh = tr.RefreshToken
			}
		})
	}

	t.Run("introspect and revoke", func(t *testing.T) {
		for _, path := range []string{"/oauth2/introspect", "/oauth2/revoke"} {
			form := url.Values{"token": {secrets["refresh 3 access token"]}}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, in.baseURL()+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("backend", generated)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: status %d", path, resp.StatusCode)
			}
		}
	})

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.wait(t, 30*time.Second); err != nil {
		t.Errorf("rotor serve exited with %v", err)
	}

	logs := in.logs.String()
	if !strings.Contains(logs, `"msg":"request"`) {
		t.Fatalf("no access log lines captured, so the leak check would prove nothing:\n%s", logs)
	}
	logLines(t, logs) // every line is JSON
	for name, secret := range secrets {
		t.Run("never logged/"+name, func(t *testing.T) {
			if len(secret) < 16 {
				t.Fatalf("%s is suspiciously short: %q", name, secret)
			}
			if strings.Contains(logs, secret) {
				t.Errorf("the %s appears in the logs", name)
			}
		})
	}
}

// familyIDs parses `rotor sessions list`: family ID → state.
func familyIDs(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "FAMILY") {
		t.Fatalf("no header in %q", out)
	}
	fams := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 6 || f[1] != publicClient {
			t.Fatalf("unexpected row %q", l)
		}
		fams[f[0]] = strings.Join(f[5:], " ")
	}
	return fams
}

// TestSessions lists and revokes families created by real password grants.
func TestSessions(t *testing.T) {
	in := newInstance(t)
	setupUserAndClient(t, in)
	in.start()
	environ := in.environ

	login := func() (refresh, family string) {
		t.Helper()
		before := familyIDs(t, mustCLI(t, environ, "", "sessions", "list", "--user", testEmail).stdout)
		tr := mustToken(t, in.baseURL(), passwordForm(publicClient, testEmail, testPassword))
		if tr.status != http.StatusOK {
			t.Fatalf("password grant: %d %q", tr.status, tr.Error)
		}
		after := familyIDs(t, mustCLI(t, environ, "", "sessions", "list", "--user", testEmail).stdout)
		for id := range after {
			if _, ok := before[id]; !ok {
				return tr.RefreshToken, id
			}
		}
		t.Fatal("the login created no family")
		return "", ""
	}
	refresh1, family1 := login()
	refresh2, family2 := login()

	// refreshAs checks a refresh of *token and keeps the rotated token.
	refreshAs := func(token *string, want int) func(t *testing.T) {
		return func(t *testing.T) {
			tr := mustToken(t, in.baseURL(), refreshForm(publicClient, *token))
			if tr.status != want {
				t.Fatalf("refresh: status %d (%q), want %d", tr.status, tr.Error, want)
			}
			if tr.status == http.StatusOK {
				*token = tr.RefreshToken
			}
		}
	}
	steps := []struct {
		name      string
		args      []string
		wantOut   []string // substrings of stdout
		wantState map[string]string
		wantErr   string
		then      func(t *testing.T)
	}{
		{name: "list shows both sessions active", args: []string{"sessions", "list", "--user", testEmail},
			wantState: map[string]string{family1: "active", family2: "active"}},
		{name: "list matches the email case-insensitively", args: []string{"sessions", "list", "--user", "USER@example.com"},
			wantState: map[string]string{family1: "active", family2: "active"}},
		{name: "revoke one family", args: []string{"sessions", "revoke", "--family", family1},
			wantOut: []string{"revoked family " + family1}, then: refreshAs(&refresh1, http.StatusBadRequest)},
		{name: "other family unaffected", args: []string{"sessions", "list", "--user", testEmail},
			wantState: map[string]string{family1: "revoked (admin_revoked)", family2: "active"}, then: refreshAs(&refresh2, http.StatusOK)},
		{name: "revoke all of the user's sessions", args: []string{"sessions", "revoke", "--user", testEmail},
			wantOut: []string{"revoked 1 session(s) of " + testEmail}, then: refreshAs(&refresh2, http.StatusBadRequest)},
		{name: "list shows both revoked", args: []string{"sessions", "list", "--user", testEmail},
			wantState: map[string]string{family1: "revoked (admin_revoked)", family2: "revoked (admin_revoked)"}},
		{name: "revoking again finds nothing live", args: []string{"sessions", "revoke", "--user", testEmail},
			wantOut: []string{"revoked 0 session(s) of " + testEmail}},
		{name: "unknown family", args: []string{"sessions", "revoke", "--family", "no-such-family"}, wantErr: "no session family no-such-family"},
		{name: "revoke unknown user", args: []string{"sessions", "revoke", "--user", "nobody@example.com"}, wantErr: "no user with email nobody@example.com"},
		{name: "list unknown user", args: []string{"sessions", "list", "--user", "Nobody@example.com"}, wantErr: "no user with email nobody@example.com"},
		{name: "list without --user", args: []string{"sessions", "list"}, wantErr: `required flag(s) "user" not set`},
		{name: "revoke with neither flag", args: []string{"sessions", "revoke"}, wantErr: "give exactly one of --user or --family"},
		{name: "revoke with both flags", args: []string{"sessions", "revoke", "--user", testEmail, "--family", family1}, wantErr: "give exactly one of --user or --family"},
		{name: "unknown sessions subcommand", args: []string{"sessions", "revok"}, wantErr: `unknown command "revok" for "rotor sessions"`},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := runCLI(t, environ, "", st.args...)
			if st.wantErr != "" {
				assertOneLineError(t, r.err, st.wantErr)
				return
			}
			if r.err != nil {
				t.Fatalf("unexpected error: %v", r.err)
			}
			for _, w := range st.wantOut {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout %q does not contain %q", r.stdout, w)
				}
			}
			if st.wantState != nil {
				got := familyIDs(t, r.stdout)
				if len(got) != len(st.wantState) {
					t.Errorf("listed %d families, want %d:\n%s", len(got), len(st.wantState), r.stdout)
				}
				for id, want := range st.wantState {
					if got[id] != want {
						t.Errorf("family %s is %q, want %q", id, got[id], want)
					}
				}
			}
			if st.then != nil {
				st.then(t)
			}
		})
	}
}
