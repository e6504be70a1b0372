package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rotorauth/rotor/server"
)

// serveReal runs the harness's handler under server.Serve, the way
// `rotor serve` does, on a fresh loopback listener with timeouts t.
func (a *abuseHarness) serveReal(tb *testing.T, t server.Timeouts) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- server.Serve(ctx, ln, a.handler, t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				tb.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second): // hang guard
			tb.Error("Serve did not return after cancel")
		}
	})
	return ln.Addr().String()
}

// TestSlowClientsAreCut: a client that dribbles its request headers (or
// its body, or nothing at all) loses the connection long before it is
// done; a normal client on the same server is answered.
func TestSlowClientsAreCut(t *testing.T) {
	a := newAbuseHarness(t, abuseConfig{})
	addr := a.serveReal(t, server.Timeouts{
		ReadHeader: time.Second, Read: 2 * time.Second, Write: 5 * time.Second,
		Idle: 5 * time.Second, Shutdown: 2 * time.Second,
	})
	const (
		interval = 300 * time.Millisecond
		maxBytes = 20 // 6 s of dribbling
	)
	tests := []struct {
		name string
		// head is sent at once; then slow is sent one byte per interval,
		// at most maxBytes of it.
		head, slow string
		// wantStatus is the status line's prefix if the server answers
		// before hanging up (net/http answers 400 to a request it gave up
		// reading); "" means it must hang up without answering.
		wantStatus string
	}{
		{
			name:       "headers one byte at a time",
			wantStatus: "HTTP/1.1 400 ",
			slow:       "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + strings.Repeat("a", 100),
		},
		{
			name:       "request line one byte at a time",
			wantStatus: "HTTP/1.1 400 ",
			slow:       "POST /oauth2/token?" + strings.Repeat("a", 100),
		},
		{
			name:       "complete headers never followed by the blank line",
			wantStatus: "HTTP/1.1 400 ",
			head:       "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n",
			slow:       strings.Repeat("X-Slow: 1\r\n", 10),
		},
		{
			name: "silent connection",
			slow: "", // says nothing, just holds the connection
		},
		{
			name:       "body one byte at a time",
			head:       "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
			slow:       "grant_type=password&username=" + strings.Repeat("a", 100),
			wantStatus: "HTTP/1.1 400 ",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			type readResult struct {
				got string
				err error
			}
			hungUp := make(chan readResult, 1)
			go func() {
				b, err := io.ReadAll(conn)
				hungUp <- readResult{string(b), err}
			}()
			if tc.head != "" {
				if _, err := io.WriteString(conn, tc.head); err != nil {
					t.Fatalf("write head: %v", err)
				}
			}
			sent := 0
			var res *readResult
		dribble:
			for sent < maxBytes {
				select {
				case r := <-hungUp:
					res = &r
					break dribble
				case <-time.After(interval):
				}
				if tc.slow == "" {
					sent++
					continue
				}
				if _, err := conn.Write([]byte{tc.slow[sent]}); err != nil {
					break // the server has closed its end
				}
				sent++
			}
			if res == nil {
				select {
				case r := <-hungUp:
					res = &r
				case <-time.After(interval):
					// A hang guard, not a measure of speed: 20 bytes took 6 s
					// against a 1 s header timeout and 2 s read timeout.
					t.Fatalf("the server still holds the connection after %d bytes over %s", sent, time.Duration(sent)*interval)
				}
			}
			if sent >= maxBytes {
				t.Fatalf("the client sent all %d bytes before the server hung up", sent)
			}
			if tc.wantStatus == "" && res.got != "" {
				t.Errorf("the server answered %q; want a silent hang-up", firstLine(res.got))
			}
			if tc.wantStatus != "" && res.got != "" && !strings.HasPrefix(res.got, tc.wantStatus) {
				t.Errorf("the server answered %q; want %q or a silent hang-up", firstLine(res.got), tc.wantStatus)
			}
			t.Logf("cut after %d slow bytes; answer %q", sent, firstLine(res.got))
		})
	}
	t.Run("normal client is answered", func(t *testing.T) {
		t.Parallel()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // hang guard
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(conn)
		if err != nil {
			t.Fatal(err)
		}
		if got := firstLine(string(b)); got != "HTTP/1.1 200 OK" {
			t.Errorf("status line %q, want HTTP/1.1 200 OK", got)
		}
	})
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}
