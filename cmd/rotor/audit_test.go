package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// auditRow is one line of `rotor audit tail`.
type auditRow struct {
	Event, Count, User, Client, Family, IP, Detail string
}

// auditRows parses `rotor audit tail` output (header, then one event per
// line, "-" for empty fields).
func auditRows(t *testing.T, out string) []auditRow {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "TIME EVENT COUNT USER CLIENT FAMILY IP DETAIL" {
		t.Fatalf("header %q", lines[0])
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	var rows []auditRow
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 8 || !stamp.MatchString(f[0]) {
			t.Fatalf("malformed row %q", l)
		}
		rows = append(rows, auditRow{Event: f[1], Count: f[2], User: f[3], Client: f[4], Family: f[5], IP: f[6], Detail: f[7]})
	}
	return rows
}

// TestAuditTail runs the real binary: a failed sign-in, a success, a
// refresh token replayed after its rotation, another user's failure and a
// failed client authentication, then `rotor audit tail` against the same
// database prints them, all or one user's.
func TestAuditTail(t *testing.T) {
	in := newInstance(t, "ROTOR_TOKENS_REFRESH_REUSE_GRACE=0s")
	created := in.cli(testPassword+"\n", "users", "create", "--email", testEmail, "--password-stdin")
	m := regexp.MustCompile(`\(([0-9a-f-]{36})\)`).FindStringSubmatch(created)
	if m == nil {
		t.Fatalf("no user id in %q", created)
	}
	subject := m[1]
	in.cli(testPassword+"\n", "users", "create", "--email", "other@example.com", "--password-stdin")
	in.cli("", "clients", "create", "--id", publicClient, "--public", "--first-party", "--grant-types", "password,refresh_token")
	srv := in.start()
	base := in.baseURL()

	steps := []struct {
		name   string
		form   map[string][]string
		status int
		code   string
	}{
		{name: "wrong password", form: passwordForm(publicClient, testEmail, "wrong password"), status: http.StatusBadRequest, code: "invalid_grant"},
		{name: "right password", form: passwordForm(publicClient, testEmail, testPassword), status: http.StatusOK},
	}
	var refresh string
	for _, s := range steps {
		tr := mustToken(t, base, s.form)
		if tr.status != s.status || tr.Error != s.code {
			t.Fatalf("%s: status %d error %q, want %d %q", s.name, tr.status, tr.Error, s.status, s.code)
		}
		if tr.RefreshToken != "" {
			refresh = tr.RefreshToken
		}
	}
	if tr := mustToken(t, base, refreshForm(publicClient, refresh)); tr.status != http.StatusOK {
		t.Fatalf("refresh: %d %q", tr.status, tr.Error)
	}
	if tr := mustToken(t, base, refreshForm(publicClient, refresh)); tr.status != http.StatusBadRequest || tr.Error != "invalid_grant" {
		t.Fatalf("replayed refresh token: %d %q, want 400 invalid_grant", tr.status, tr.Error)
	}
	if tr := mustToken(t, base, passwordForm(publicClient, "other@example.com", "wrong password")); tr.Error != "invalid_grant" {
		t.Fatalf("other's wrong password: %d %q", tr.status, tr.Error)
	}
	if tr := mustToken(t, base, passwordForm("no-such-client", testEmail, testPassword)); tr.status != http.StatusUnauthorized || tr.Error != "invalid_client" {
		t.Fatalf("unknown client: %d %q", tr.status, tr.Error)
	}

	all := auditRows(t, in.cli("", "audit", "tail"))
	var family string
	for _, r := range all {
		if r.Event == "refresh_reuse_detected" {
			family = r.Family
		}
	}
	if len(family) < 8 {
		t.Fatalf("no family on the reuse event: %+v", all)
	}
	want := []auditRow{
		{Event: "login_failed", Count: "1", User: testEmail, Client: publicClient, Family: "-", IP: "127.0.0.1", Detail: "-"},
		{Event: "login_succeeded", Count: "1", User: testEmail, Client: publicClient, Family: "-", IP: "127.0.0.1", Detail: "-"},
		{Event: "refresh_reuse_detected", Count: "1", User: subject, Client: publicClient, Family: family, IP: "127.0.0.1", Detail: "-"},
		{Event: "family_revoked", Count: "1", User: subject, Client: publicClient, Family: family, IP: "127.0.0.1", Detail: "refresh_token_reuse"},
		{Event: "login_failed", Count: "1", User: "other@example.com", Client: publicClient, Family: "-", IP: "127.0.0.1", Detail: "-"},
		{Event: "client_auth_failed", Count: "1", User: "-", Client: "no-such-client", Family: "-", IP: "127.0.0.1", Detail: "-"},
	}
	tests := []struct {
		name string
		args []string
		want []auditRow
	}{
		{name: "all events", args: []string{"audit", "tail"}, want: want},
		{name: "one user's events", args: []string{"audit", "tail", "--user", testEmail}, want: want[:4]},
		{name: "user given in another case", args: []string{"audit", "tail", "--user", "  USER@Example.COM"}, want: want[:4]},
		{name: "the other user's events", args: []string{"audit", "tail", "--user", "other@example.com"}, want: want[4:5]},
		{name: "newest two", args: []string{"audit", "tail", "-n", "2"}, want: want[4:]},
		{name: "newest of one user", args: []string{"audit", "tail", "--user", testEmail, "-n", "1"}, want: want[3:4]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := auditRows(t, in.cli("", tc.args...))
			if len(got) != len(tc.want) {
				t.Fatalf("%d rows, want %d:\n%+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
		})
	}

	t.Run("unknown user", func(t *testing.T) {
		r := runCLI(t, in.environ, "", "audit", "tail", "--user", "nobody@example.com")
		assertOneLineError(t, r.err, "no user with email nobody@example.com")
	})
	t.Run("bad -n", func(t *testing.T) {
		r := runCLI(t, in.environ, "", "audit", "tail", "-n", "0")
		assertOneLineError(t, r.err, "-n must be between 1 and 10000")
	})

	// The server also logged each event as a JSON line, the reuse with
	// the user agent, and none with a secret.
	t.Run("audit log lines", func(t *testing.T) {
		srv.awaitLog(t, `"event":"refresh_reuse_detected"`)
		var reuse map[string]any
		for _, l := range logLines(t, srv.logs.String()) {
			if l["msg"] == "audit" && l["event"] == "refresh_reuse_detected" {
				reuse = l
			}
		}
		if reuse == nil {
			t.Fatalf("no audit log line for the reuse:\n%s", srv.logs)
		}
		for k, v := range map[string]string{"family_id": family, "client_id": publicClient, "ip": "127.0.0.1", "user_agent": "Go-http-client/1.1", "sub": subject} {
			if reuse[k] != v {
				t.Errorf("reuse log line %s = %v, want %q", k, reuse[k], v)
			}
		}
		if strings.Contains(srv.logs.String(), testPassword) || strings.Contains(srv.logs.String(), refresh) {
			t.Error("the server's log holds a password or refresh token")
		}
	})
}
