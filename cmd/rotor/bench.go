package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// benchFlags configure `rotor bench`.
type benchFlags struct {
	url, scenarios              string
	concurrency                 int
	duration, warmup            time.Duration
	setup                       bool
	user, password, clientID    string
	confID, confSecret          string
	codeClient, codeRedirectURI string
	cpuProfile                  string
	serverMetrics               string
}

// scenario runs one kind of request; each worker gets its own state.
type scenario struct {
	name string
	// newWorker prepares a worker (e.g. signs in for the refresh chain)
	// and returns its request function.
	newWorker func(ctx context.Context, b *bencher) (func(ctx context.Context) error, error)
}

func (a *app) benchCommand() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a running server over HTTP and report throughput and latency per scenario",
		Long: `Scenarios: password, refresh, client_credentials, introspect, jwks, authcode.
With --setup, bench first registers its user and clients in the configured
database (the one the server uses), so it needs the server's --config/env.
The user's password and the confidential client's secret are then generated
and printed; without --setup, pass them with --password and
--confidential-secret. rotor clients delete removes the clients.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.concurrency < 1 || f.duration <= 0 {
				return fmt.Errorf("--concurrency must be ≥ 1 and --duration > 0")
			}
			if f.setup {
				if err := a.benchSetup(cmd.Context(), &f); err != nil {
					return err
				}
			}
			if err := f.credentialsFor(splitList(f.scenarios)); err != nil {
				return err
			}
			if f.cpuProfile != "" {
				stop, err := startCPUProfile(f.cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			b, err := newBencher(f)
			if err != nil {
				return err
			}
			for _, name := range splitList(f.scenarios) {
				sc, ok := scenarios[name]
				if !ok {
					return fmt.Errorf("--scenarios: unknown scenario %q", name)
				}
				res, err := b.run(cmd.Context(), sc)
				if err != nil {
					return fmt.Errorf("scenario %s: %w", name, err)
				}
				res.print(a.stdout)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "http://127.0.0.1:8080", "the server's base URL")
	fl.StringVar(&f.scenarios, "scenarios", "refresh,client_credentials,introspect,jwks,password", "comma-separated scenarios to run, in order")
	fl.IntVarP(&f.concurrency, "concurrency", "c", 16, "concurrent workers (each with a keep-alive connection)")
	fl.DurationVarP(&f.duration, "duration", "d", 10*time.Second, "how long each scenario runs")
	fl.DurationVar(&f.warmup, "warmup", time.Second, "unmeasured run before each scenario")
	fl.BoolVar(&f.setup, "setup", false, "register the bench user and clients first")
	fl.StringVar(&f.user, "user", "bench@example.com", "user for the password, refresh and authcode scenarios")
	fl.StringVar(&f.password, "password", "", "that user's password (--setup generates one)")
	fl.StringVar(&f.clientID, "client", "bench-mobile", "public client with the password and refresh_token grants")
	fl.StringVar(&f.confID, "confidential-client", "bench-service", "confidential client with client_credentials (also introspects)")
	fl.StringVar(&f.confSecret, "confidential-secret", "", "its secret (--setup generates one)")
	fl.StringVar(&f.codeClient, "code-client", "bench-web", "public, first-party client with authorization_code")
	fl.StringVar(&f.codeRedirectURI, "code-redirect-uri", "http://127.0.0.1/bench/callback", "its redirect URI")
	fl.StringVar(&f.serverMetrics, "server-metrics", "", "the server's /metrics URL: report its CPU time per request over each timed phase (process_cpu_seconds_total)")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file (its share of the cores)")
	return cmd
}

// credentialsFor checks that the scenarios get the credentials they sign
// in with.
func (f benchFlags) credentialsFor(names []string) error {
	for _, n := range names {
		switch {
		case f.password == "" && (n == "password" || n == "refresh" || n == "authcode"):
			return fmt.Errorf("scenario %s needs --password (or --setup)", n)
		case f.confSecret == "" && (n == "client_credentials" || n == "introspect"):
			return fmt.Errorf("scenario %s needs --confidential-secret (or --setup)", n)
		}
	}
	return nil
}

// bencher holds what the scenarios share.
type bencher struct {
	f      benchFlags
	fast   *fastClient  // the scenarios' hot requests
	client *http.Client // the authcode browser round trip
	cpu    *serverCPU   // nil without --server-metrics
}

func newBencher(f benchFlags) (*bencher, error) {
	fast, err := newFastClient(f)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	b := &bencher{f: f, fast: fast, client: &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if f.serverMetrics != "" {
		b.cpu = &serverCPU{url: f.serverMetrics, client: http.DefaultClient} // seconds bounds each scrape
	}
	return b, nil
}

// result is one scenario's figures.
type result struct {
	Scenario    string  `json:"scenario"`
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"rps"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	FirstError  string  `json:"first_error,omitempty"`
	// ServerCPUms is the server's CPU time per request over the timed
	// phase (--server-metrics). Requests still in flight at its end are
	// served in it but not counted: up to one per worker, a slight
	// overestimate.
	ServerCPUms float64 `json:"server_cpu_ms_per_req,omitempty"`
}

func (r result) print(w interface{ Write([]byte) (int, error) }) {
	fmt.Fprintf(w, "%-18s c=%-3d %8.0f req/s  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %7.2f ms  errors %d/%d\n",
		r.Scenario, r.Concurrency, r.RPS, r.P50ms, r.P90ms, r.P99ms, r.MaxMs, r.Errors, r.Requests)
	if r.ServerCPUms > 0 {
		fmt.Fprintf(w, "%-18s server cpu %.3f ms/req over the timed phase\n", "", r.ServerCPUms)
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "%-18s first error: %s\n", "", r.FirstError)
	}
	line, _ := json.Marshal(r)
	fmt.Fprintf(w, "%s\n", line)
}

// run prepares the workers, warms up, then measures for the duration.
func (b *bencher) run(ctx context.Context, sc scenario) (result, error) {
	workers := make([]func(context.Context) error, b.f.concurrency)
	for i := range workers {
		w, err := sc.newWorker(ctx, b)
		if err != nil {
			return result{}, fmt.Errorf("prepare worker: %w", err)
		}
		workers[i] = w
	}
	if b.f.warmup > 0 {
		b.phase(ctx, workers, b.f.warmup)
	}
	var cpu0 float64
	if b.cpu != nil {
		var err error
		if cpu0, err = b.cpu.seconds(ctx); err != nil {
			return result{}, err
		}
	}
	p := b.phase(ctx, workers, b.f.duration)
	lat, errs, firstErr, took := p.lat, p.errs, p.firstErr, p.took
	res := result{Scenario: sc.name, Concurrency: b.f.concurrency, Requests: len(lat) + errs, Errors: errs, Seconds: took.Seconds()}
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	if b.cpu != nil && res.Requests > 0 {
		cpu1, err := b.cpu.seconds(ctx)
		if err != nil {
			return result{}, err
		}
		res.ServerCPUms = (cpu1 - cpu0) * 1000 / float64(res.Requests)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		res.P50ms, res.P90ms, res.P99ms, res.MaxMs = q(0.50), q(0.90), q(0.99), q(1)
		res.RPS = float64(len(lat)) / took.Seconds()
	}
	return res, nil
}

// phaseResult is what one timed phase of a scenario observed.
type phaseResult struct {
	lat      []time.Duration
	errs     int
	firstErr error
	took     time.Duration
}

func (b *bencher) phase(ctx context.Context, workers []func(context.Context) error, d time.Duration) phaseResult {
	var lat []time.Duration
	var errs int
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Requests are not cut off at the end: a refresh the server completed
	// but the worker never saw would leave it holding a spent token. The
	// phase counts only what finished in time.
	start := time.Now()
	end := start.Add(d)
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			myErrs := 0
			var myFirst error
			for ctx.Err() == nil && time.Now().Before(end) {
				t0 := time.Now()
				err := w(ctx)
				if ctx.Err() != nil || !time.Now().Before(end) {
					break // finished after the end: neither success nor error
				}
				if err != nil {
					myErrs++
					if myFirst == nil {
						myFirst = err
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += myErrs
			if firstErr == nil {
				firstErr = myFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return phaseResult{lat: lat, errs: errs, firstErr: firstErr, took: d}
}

// startCPUProfile profiles the load tool itself: on a shared machine its
// cost is CPU the server does not get.
func startCPUProfile(path string) (stop func(), err error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); out.Close() }, nil
}

func trimURL(u string) string { return strings.TrimRight(u, "/") }
