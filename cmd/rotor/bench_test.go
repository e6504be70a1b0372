package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBenchScenarios runs every scenario of `rotor bench` against a real
// server: each must complete requests without a single error, report
// ordered percentiles, and the refresh chains must never trip the reuse
// detector (a worker that refreshed with a stale token would; the grace
// for replays is off so that it can't hide one).
func TestBenchScenarios(t *testing.T) {
	in := newInstance(t, "ROTOR_TOKENS_REFRESH_REUSE_GRACE=0s")
	in.start()
	all := []string{"password", "refresh", "client_credentials", "introspect", "jwks", "authcode"}
	out := in.cli("", "bench", "--setup", "--url", in.baseURL(), "--scenarios", strings.Join(all, ","),
		"-c", "3", "-d", "700ms", "--warmup", "100ms", "--server-metrics", in.baseURL()+"/metrics")

	got := map[string]result{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "{") {
			var r result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("JSON line %q: %v", line, err)
			}
			got[r.Scenario] = r
		}
	}
	for _, name := range all {
		t.Run(name, func(t *testing.T) {
			r, ok := got[name]
			switch {
			case !ok:
				t.Fatalf("no JSON line for %s in:\n%s", name, out)
			case r.Requests == 0 || r.RPS <= 0:
				t.Errorf("%s: no requests measured: %+v", name, r)
			case r.Errors != 0:
				t.Errorf("%s: %d errors, first: %s", name, r.Errors, r.FirstError)
			case r.Concurrency != 3:
				t.Errorf("%s: concurrency %d, want 3", name, r.Concurrency)
			case !(r.P50ms <= r.P90ms && r.P90ms <= r.P99ms && r.P99ms <= r.MaxMs):
				t.Errorf("%s: percentiles out of order: %+v", name, r)
			case !(r.ServerCPUms > 0 && r.ServerCPUms < 1000):
				t.Errorf("%s: server CPU %v ms per request, want a positive figure from --server-metrics", name, r.ServerCPUms)
			}
		})
	}
	resp, err := http.Get(in.baseURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "\nrotor_refresh_reuse_detected_total 0\n") {
		t.Errorf("the refresh chains tripped the reuse detector:\n%s", grepLines(string(metrics), "reuse"))
	}
}

func grepLines(s, substr string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestBenchServerCPU: --server-metrics takes the server's CPU time from
// its process_cpu_seconds_total, and anything else is an error that stops
// the run rather than a figure.
func TestBenchServerCPU(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			_, _ = io.WriteString(w, "# TYPE go_goroutines gauge\ngo_goroutines 7\n"+
				"# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"+
				"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.34\n")
		case "/without":
			_, _ = io.WriteString(w, "# TYPE go_goroutines gauge\ngo_goroutines 7\n")
		case "/garbled":
			_, _ = io.WriteString(w, "process_cpu_seconds_total twelve\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tests := []struct {
		path    string
		want    float64
		wantErr string
	}{
		{path: "/metrics", want: 12.34},
		{path: "/without", wantErr: "no process_cpu_seconds_total"},
		{path: "/garbled", wantErr: "server metrics"},
		{path: "/missing", wantErr: "answered 404"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := serverCPU{url: srv.URL + tt.path, client: srv.Client()}.seconds(t.Context())
			requireError(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("seconds = %v, want %v", got, tt.want)
			}
		})
	}
}

// requireError stops t unless err is nil (want "") or contains want.
func requireError(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("error %v, want one containing %q", err, want)
	}
}

// TestBenchClient: what the load tool counts as an error. Anything but a
// 200 with a parseable body is one; a request whose context ends first
// reports the context's error.
func TestBenchClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = io.WriteString(w, `{"access_token":"a","refresh_token":"r","active":true}`)
		case "/basic":
			if id, secret, ok := r.BasicAuth(); !ok || id != "svc%3Aone" || secret != "s%26cret" {
				http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
				return
			}
			_, _ = io.WriteString(w, `{}`)
		case "/rejected":
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		case "/garbled":
			_, _ = io.WriteString(w, `{"access_token":`)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		}
	}))
	defer srv.Close()
	c, err := newFastClient(benchFlags{url: srv.URL + "/", concurrency: 2, confID: "svc:one", confSecret: "s&cret"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		basic      bool
		timeout    time.Duration
		wantErr    string // "" means success
		want       tokenAnswer
	}{
		{name: "200 with tokens", path: "/ok", want: tokenAnswer{AccessToken: "a", RefreshToken: "r", Active: true}},
		{name: "basic credentials form-encoded", path: "/basic", basic: true},
		{name: "rejection", path: "/rejected", wantErr: "status 400"},
		{name: "unparseable body", path: "/garbled", wantErr: "unexpected end of JSON"},
		{name: "cut off by a context deadline", path: "/slow", timeout: 50 * time.Millisecond, wantErr: context.DeadlineExceeded.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			var got tokenAnswer
			err := c.do(ctx, "POST", tt.path, "grant_type=x", tt.basic, &got)
			requireError(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("answer %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestBenchPhase: failures are counted (with the first kept), successes
// give latencies, and a request that finishes after the end is neither.
func TestBenchPhase(t *testing.T) {
	var calls atomic.Int64
	flaky := func(ctx context.Context) error {
		if calls.Add(1)%2 == 0 {
			return errors.New("rejected")
		}
		return nil
	}
	late := func(context.Context) error {
		time.Sleep(300 * time.Millisecond)
		return nil
	}
	b := &bencher{}
	p := b.phase(t.Context(), []func(context.Context) error{flaky, late}, 100*time.Millisecond)
	total := int(calls.Load())
	if p.errs == 0 || len(p.lat) == 0 {
		t.Fatalf("flaky worker: %d errors, %d successes; want both", p.errs, len(p.lat))
	}
	if p.errs+len(p.lat) > total || total-(p.errs+len(p.lat)) > 1 {
		t.Errorf("%d flaky calls but %d errors + %d successes (only one may finish late)", total, p.errs, len(p.lat))
	}
	if p.firstErr == nil || p.firstErr.Error() != "rejected" {
		t.Errorf("first error %v, want the worker's", p.firstErr)
	}
}
