package main

import (
	"net/http"
	"strings"
	"testing"
)

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
