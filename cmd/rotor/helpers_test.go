package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// rotorBin is the rotor binary built once by TestMain for the process tests.
var rotorBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "rotor-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	rotorBin = filepath.Join(dir, "rotor")
	build := exec.Command("go", "build", "-o", rotorBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build:", err)
		return 1
	}
	return m.Run()
}

// cliResult is what one run of the CLI produced.
type cliResult struct {
	stdout, stderr string
	err            error
}

// all is everything the command showed the operator.
func (r cliResult) all() string {
	s := r.stdout + r.stderr
	if r.err != nil {
		s += r.err.Error()
	}
	return s
}

// runCLI calls run in-process with environ and stdin.
func runCLI(t *testing.T, environ []string, stdin string, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, environ, strings.NewReader(stdin), &stdout, &stderr)
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// mustCLI is runCLI that fails the test on an error.
func mustCLI(t *testing.T, environ []string, stdin string, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, environ, stdin, args...)
	if r.err != nil {
		t.Fatalf("rotor %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r
}

// testEnv is an environment whose database lives in a fresh temp dir.
func testEnv(t *testing.T, extra ...string) (environ []string, dataDir string) {
	t.Helper()
	dataDir = t.TempDir()
	return append([]string{"ROTOR_DATABASE_DSN=" + filepath.Join(dataDir, "rotor.db")}, extra...), dataDir
}

// assertOneLineError checks that err is set, is one line and contains want.
func assertOneLineError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error spans several lines: %q", msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not contain %q", msg, want)
	}
}

// syncBuffer is a bytes.Buffer safe for a child process's copier goroutine
// and the test reading it concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// instance is one rotor deployment: a data directory and an address, on
// which the server can be started and restarted and the CLI binary run.
type instance struct {
	t       *testing.T
	dataDir string
	addr    string
	environ []string
	// logs collects the stderr of every process of the instance.
	logs *syncBuffer
}

func newInstance(t *testing.T, extra ...string) *instance {
	t.Helper()
	dataDir := t.TempDir()
	addr := freeAddr(t)
	environ := append([]string{
		"ROTOR_HTTP_ADDR=" + addr,
		"ROTOR_ISSUER=http://" + addr,
		"ROTOR_DATABASE_DSN=" + filepath.Join(dataDir, "rotor.db"),
	}, extra...)
	return &instance{t: t, dataDir: dataDir, addr: addr, environ: environ, logs: &syncBuffer{}}
}

func (in *instance) dbPath() string { return filepath.Join(in.dataDir, "rotor.db") }

func (in *instance) baseURL() string { return "http://" + in.addr }

// processEnv is the child's environment: PATH and HOME for the runtime, the
// instance's settings, and no ROTOR_ variable inherited from the caller.
func (in *instance) processEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + in.dataDir}
	return append(env, in.environ...)
}

// cli runs the rotor binary with stdin and returns its stdout; stderr goes
// to the instance's logs.
func (in *instance) cli(stdin string, args ...string) string {
	in.t.Helper()
	cmd := exec.Command(rotorBin, args...)
	cmd.Env = in.processEnv()
	cmd.Dir = in.dataDir
	cmd.Stdin = strings.NewReader(stdin)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = in.logs
	if err := cmd.Run(); err != nil {
		in.t.Fatalf("rotor %s: %v\nlogs: %s", strings.Join(args, " "), err, in.logs)
	}
	return stdout.String()
}

// server is a running `rotor serve`.
type serverProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // Wait's result, set before exited closes
	logs   *syncBuffer
}

// start runs `rotor serve` and waits until /healthz answers.
func (in *instance) start() *serverProc {
	in.t.Helper()
	cmd := exec.Command(rotorBin, "serve")
	cmd.Env = in.processEnv()
	cmd.Dir = in.dataDir
	logs := &syncBuffer{}
	cmd.Stderr = io.MultiWriter(in.logs, logs)
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	s := &serverProc{cmd: cmd, exited: make(chan struct{}), logs: logs}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	in.t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = cmd.Process.Kill()
			<-s.exited
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second) // a hang guard, not an assertion on speed
	for {
		select {
		case <-s.exited:
			in.t.Fatalf("rotor serve exited before becoming healthy: %v\nlogs: %s", s.err, logs)
		default:
		}
		resp, err := client.Get(in.baseURL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("rotor serve never became healthy\nlogs: %s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitLog waits until a log line containing fragment has come through
// the pipe from the process: a request the server has answered may have
// been logged a moment before its stderr copy catches up.
func (s *serverProc) awaitLog(t *testing.T, fragment string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a hang guard; the assertion that follows reports a miss
	for !strings.Contains(s.logs.String(), fragment) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns Wait's error.
func (s *serverProc) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case <-s.exited:
		return s.err
	case <-time.After(limit):
		t.Fatalf("rotor serve still running after %s\nlogs: %s", limit, s.logs)
		return nil
	}
}

// tokenResponse is the token endpoint's answer, success or error.
type tokenResponse struct {
	status       int
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// postToken posts form to the token endpoint; basic sets client credentials.
func postToken(ctx context.Context, client *http.Client, baseURL string, form url.Values, basic ...string) (tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := client.Do(req)
	if err != nil {
		return tokenResponse{}, err
	}
	defer resp.Body.Close()
	tr := tokenResponse{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		return tr, fmt.Errorf("decode token response (status %d): %w", resp.StatusCode, err)
	}
	return tr, nil
}

// mustToken is postToken that fails the test on a transport error.
func mustToken(t *testing.T, baseURL string, form url.Values, basic ...string) tokenResponse {
	t.Helper()
	tr, err := postToken(t.Context(), http.DefaultClient, baseURL, form, basic...)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func passwordForm(clientID, email, password string) url.Values {
	return url.Values{"grant_type": {"password"}, "client_id": {clientID}, "username": {email}, "password": {password}}
}

func refreshForm(clientID, refreshToken string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {refreshToken}}
}
