package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLogs checks what a first start logs and that nothing secret is ever
// logged, at debug level, across successful and failing requests.
func TestLogs(t *testing.T) {
	in := newInstance(t, "ROTOR_LOG_LEVEL=debug")
	srv := in.start()
	srv.awaitLog(t, `"msg":"rotor listening"`)

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
		// A client registered without a method takes either secret method.
		{name: "generated secret, post", form: func() url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {"backend"}, "client_secret": {generated}}
		}, wantStatus: 200},
		{name: "secret sent by the wrong method", form: func() url.Values { return url.Values{"grant_type": {"client_credentials"}} },
			basic: []string{"worker", testSecret}, wantStatus: 401},
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
			// Another client's token: introspection says inactive, and
			// revocation refuses it (RFC 7009 §2.1, unauthorized_client).
			if resp.StatusCode != http.StatusOK && (path != "/oauth2/revoke" || resp.StatusCode != http.StatusBadRequest) {
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
