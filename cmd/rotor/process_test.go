package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"os/exec"
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
	in.cli("", "clients", "create", "--id", publicClient, "--public", "--first-party", "--grant-types", "password,refresh_token")
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
