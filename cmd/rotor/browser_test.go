package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browserPath finds Chromium. Developers without it skip the browser test;
// CI sets REQUIRE_BROWSER=1, so there a missing browser fails.
func browserPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("REQUIRE_BROWSER") != "" {
		t.Fatal("no Chromium found, and REQUIRE_BROWSER is set (apt-get install chromium)")
	}
	t.Skip("no Chromium found: install Debian's chromium to run the browser test")
	return ""
}

// TestDemoAppInBrowser drives the demo SPA in headless Chromium through
// the BFF: sign in on the real login page, call the API, let the access
// token expire and fire 20 calls at once (one refresh, all succeed), sign
// out, see the API refuse and the next sign-in ask for the password.
func TestDemoAppInBrowser(t *testing.T) {
	exe := browserPath(t)
	const email, password = "spa@example.com", "browser-password-123"
	in := newInstance(t, "ROTOR_TOKENS_ACCESS_TOKEN_TTL=4s")
	in.cli(password+"\n", "users", "create", "--email", email, "--password-stdin")
	in.start()
	base := in.baseURL()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(420, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second) // hang guard
	defer cancelTimeout()

	var shown string
	browse(t, ctx, "sign in",
		chromedp.Navigate(base+"/app/"),
		chromedp.WaitVisible("#signin", chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
		chromedp.WaitVisible("#username", chromedp.ByQuery),
		chromedp.SendKeys("#username", email, chromedp.ByQuery),
		chromedp.SendKeys("#password", password, chromedp.ByQuery),
		chromedp.Click(`button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#signout", chromedp.ByQuery),
		chromedp.Text("#email", &shown, chromedp.ByQuery),
	)
	if shown != email {
		t.Fatalf("the app shows %q, want %q", shown, email)
	}
	var loc string
	browse(t, ctx, "location", chromedp.Location(&loc))
	if loc != base+"/app/" {
		t.Errorf("landed on %q, want %q (no code or state in the URL)", loc, base+"/app/")
	}

	var result string
	browse(t, ctx, "call the API",
		chromedp.Click("#callapi", chromedp.ByQuery),
		chromedp.WaitVisible(`//pre[@id="result"][contains(., "Hello from the demo API")]`),
		chromedp.Text("#result", &result, chromedp.ByQuery),
	)
	if !strings.Contains(result, `"sub"`) {
		t.Errorf("API answer %q has no subject", result)
	}

	var shot []byte
	browse(t, ctx, "screenshot", chromedp.FullScreenshot(&shot, 100))
	saveArtifact(t, "demo-app-signed-in.png", shot)

	before := metric(t, base, "rotor_bff_refresh_total")
	time.Sleep(5 * time.Second) // past the 4 s access token lifetime
	var statuses []int
	browse(t, ctx, "20 parallel calls", chromedp.Evaluate(
		`Promise.all(Array.from({length: 20}, () => window.rotorCallAPI())).then(rs => rs.map(r => r.status))`,
		&statuses, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if len(statuses) != 20 {
		t.Fatalf("got %d answers, want 20", len(statuses))
	}
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("call %d: status %d, want 200", i, s)
		}
	}
	if got := metric(t, base, "rotor_bff_refresh_total") - before; got != 1 {
		t.Errorf("the burst caused %v refreshes, want exactly 1", got)
	}
	if reuse := metric(t, base, "rotor_refresh_reuse_detected_total"); reuse != 0 {
		t.Errorf("reuse detection fired %v times", reuse)
	}

	browse(t, ctx, "sign out and call the API",
		chromedp.Click("#signout", chromedp.ByQuery),
		chromedp.WaitVisible("#signin", chromedp.ByQuery),
		chromedp.Click("#callapi", chromedp.ByQuery),
		chromedp.WaitVisible(`//pre[@id="result"][contains(., "401")]`),
		chromedp.Text("#result", &result, chromedp.ByQuery),
	)
	if !strings.Contains(result, "API call failed: 401") {
		t.Errorf("after sign-out the API button shows %q, want a 401", result)
	}
	// Sign out ended Rotor's sign-in session too: signing in asks again.
	browse(t, ctx, "sign in again",
		chromedp.Click("#signin", chromedp.ByQuery),
		chromedp.WaitVisible("#password", chromedp.ByQuery),
	)
}

func browse(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// metric reads one unlabelled series from /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("metric %s not found", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// saveArtifact keeps a file for people to look at: in ARTIFACTS_DIR,
// or artifacts/ at the repository root.
func saveArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", path)
}
