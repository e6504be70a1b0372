package main

import (
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemSecretRotation: with the old secret listed in
// secrets.previous, a server started on a new secrets.system still opens
// its signing keys, accepts refresh tokens and client secrets made under
// the old one, and keeps publishing the same keys. Without the old secret
// it refuses to start.
func TestSystemSecretRotation(t *testing.T) {
	const (
		oldSecret = "old-system-secret-0123456789abcdefghij"
		newSecret = "new-system-secret-0123456789abcdefghij"
		email     = "rotate@example.com"
		password  = "rotation-password-1"
		cs        = "rotation-client-secret-0123456789abcdef"
	)
	in := newInstance(t, "ROTOR_SECRETS_SYSTEM="+oldSecret, "ROTOR_BFF_ENABLED=false", "ROTOR_DEMO_ENABLED=false")
	in.cli(password+"\n", "users", "create", "--email", email, "--password-stdin")
	in.cli("", "clients", "create", "--id", "app", "--public", "--first-party", "--grant-types", "password,refresh_token")
	in.cli(cs+"\n", "clients", "create", "--id", "svc", "--secret-stdin", "--grant-types", "client_credentials")

	srv := in.start()
	jwks := get(t, in.baseURL()+"/.well-known/jwks.json")
	rt := mustToken(t, in.baseURL(), passwordForm("app", email, password)).RefreshToken
	stop(t, srv)

	in.setEnv("ROTOR_SECRETS_SYSTEM", newSecret)
	in.setEnv("ROTOR_SECRETS_PREVIOUS", oldSecret)
	srv = in.start()
	if got := get(t, in.baseURL()+"/.well-known/jwks.json"); got != jwks {
		t.Errorf("the JWKS changed across the secret rotation")
	}
	next := mustToken(t, in.baseURL(), refreshForm("app", rt))
	if next.status != http.StatusOK || next.RefreshToken == "" {
		t.Fatalf("refresh token from before the rotation: status %d, error %q", next.status, next.Error)
	}
	if tr := mustToken(t, in.baseURL(), url.Values{"grant_type": {"client_credentials"}}, "svc", cs); tr.status != http.StatusOK {
		t.Errorf("client secret hashed under the old secret: status %d, error %q", tr.status, tr.Error)
	}
	stop(t, srv)

	// Without the old secret the keys can't be opened: a clear failure.
	in.setEnv("ROTOR_SECRETS_PREVIOUS", "")
	cmd := exec.Command(rotorBin, "serve")
	cmd.Env = in.processEnv()
	cmd.Dir = in.dataDir
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("serve started although the signing keys were sealed under a secret it no longer knows")
	}
	last := strings.TrimSpace(string(out))
	last = last[strings.LastIndex(last, "\n")+1:]
	if !strings.HasPrefix(last, "rotor: ") || !strings.Contains(last, "signing key") {
		t.Errorf("failure message %q, want one line about the signing keys", last)
	}
	if strings.Contains(string(out), oldSecret) || strings.Contains(string(out), newSecret) {
		t.Error("a system secret appears in the output")
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func stop(t *testing.T, s *serverProc) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.wait(t, 30*time.Second); err != nil {
		t.Fatalf("serve exited with %v", err)
	}
}
