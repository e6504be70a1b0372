package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// keyRow is one data row of `rotor keys list`.
type keyRow struct {
	kid, alg, state, created, removal string
}

// parseKeyList parses `rotor keys list` output: a header naming the five
// columns, then one row per key.
func parseKeyList(t *testing.T, out string) []keyRow {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 {
		t.Fatalf("empty key list")
	}
	header := strings.Fields(lines[0])
	wantHeader := []string{"KID", "ALG", "STATE", "CREATED", "REMOVED", "AFTER"}
	if strings.Join(header, " ") != strings.Join(wantHeader, " ") {
		t.Fatalf("header = %q, want columns kid, alg, state, created, removal", lines[0])
	}
	var rows []keyRow
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 5 {
			t.Fatalf("row %q has %d columns, want 5", l, len(f))
		}
		rows = append(rows, keyRow{kid: f[0], alg: f[1], state: f[2], created: f[3], removal: f[4]})
	}
	return rows
}

// keyListOutput returns the `keys list` table inside out (rotate prints a
// line before it).
func keyListOutput(out string) string {
	if i := strings.Index(out, "KID"); i >= 0 {
		return out[i:]
	}
	return out
}

// TestKeysRotateAndList drives `rotor keys list` and `rotor keys rotate`
// on a fresh database, in order.
func TestKeysRotateAndList(t *testing.T) {
	environ, _ := testEnv(t)
	mustCLI(t, environ, "", "migrate")
	tests := []struct {
		name       string
		args       []string
		wantErr    string         // substring of the one-line error
		wantStates map[string]int // state -> count in the list printed afterwards
		unchanged  bool           // the same keys as the previous step
	}{
		{name: "list on a fresh database", args: []string{"keys", "list"},
			wantStates: map[string]int{"current": 2, "next": 2}},
		{name: "list again creates nothing", args: []string{"keys", "list"},
			wantStates: map[string]int{"current": 2, "next": 2}, unchanged: true},
		{name: "rotate refuses a next key published too recently", args: []string{"keys", "rotate"},
			wantErr: "published", wantStates: map[string]int{"current": 2, "next": 2}, unchanged: true},
		{name: "rotate --force", args: []string{"keys", "rotate", "--force"},
			wantStates: map[string]int{"current": 2, "next": 2, "retired": 2}},
	}
	var previous []keyRow
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, environ, "", tt.args...)
			if tt.wantErr != "" {
				assertOneLineError(t, r.err, tt.wantErr)
				if r.stdout != "" {
					t.Errorf("stdout = %q, want nothing on failure", r.stdout)
				}
			} else if r.err != nil {
				t.Fatalf("rotor %s: %v\nstderr: %s", strings.Join(tt.args, " "), r.err, r.stderr)
			}
			// Whatever happened, `keys list` shows the resulting key set.
			out := r.stdout
			if tt.wantErr != "" || tt.args[1] != "list" {
				if tt.args[1] == "rotate" && tt.wantErr == "" && !strings.Contains(out, "signing keys rotated") {
					t.Errorf("rotate output %q lacks a confirmation", out)
				}
				out = mustCLI(t, environ, "", "keys", "list").stdout
			}
			rows := parseKeyList(t, keyListOutput(out))
			if tt.unchanged && !slices.Equal(rows, previous) {
				t.Errorf("key set changed:\nbefore %v\nafter  %v", previous, rows)
			}
			previous = rows
			total := 0
			for _, n := range tt.wantStates {
				total += n
			}
			if len(rows) != total {
				t.Fatalf("%d keys listed, want %d:\n%s", len(rows), total, out)
			}
			got := map[string]int{}
			algs := map[string]int{}
			kids := map[string]bool{}
			for _, row := range rows {
				got[row.state]++
				algs[row.alg]++
				if kids[row.kid] {
					t.Errorf("kid %s listed twice", row.kid)
				}
				kids[row.kid] = true
				created, err := time.Parse(time.RFC3339, row.created)
				if err != nil || created.IsZero() {
					t.Errorf("%s: created %q is not a timestamp", row.kid, row.created)
				}
				switch row.state {
				case "retired":
					removal, err := time.Parse(time.RFC3339, row.removal)
					if err != nil {
						t.Errorf("retired %s: removal %q is not a timestamp", row.kid, row.removal)
					} else if !removal.After(created) {
						t.Errorf("retired %s: removal %s not after creation %s", row.kid, row.removal, row.created)
					}
				default:
					if row.removal != "-" {
						t.Errorf("%s %s: removal = %q, want -", row.state, row.kid, row.removal)
					}
				}
			}
			for state, n := range tt.wantStates {
				if got[state] != n {
					t.Errorf("%d %s keys, want %d:\n%s", got[state], state, n, out)
				}
			}
			if algs["ES256"] != total/2 || algs["RS256"] != total/2 {
				t.Errorf("algorithms %v, want ES256 and RS256 equally", algs)
			}
		})
	}
}
