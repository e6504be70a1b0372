package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDrainListener drives drainListener through an http.Server the way
// server.Serve does: drain, then Shutdown.
func TestDrainListener(t *testing.T) {
	tests := []struct {
		name string
		// send writes to a connection accepted before the drain; "" sends
		// nothing.
		send       string
		wantStatus string // first line of the response
	}{
		{name: "request sent before drain is answered", send: "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", wantStatus: "HTTP/1.1 200 OK"},
		{name: "silent connection does not block shutdown", send: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			dl := newDrainListener(ln)
			srv := &http.Server{Handler: dl.handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, "ok")
			}))}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(dl) }()

			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// Wait until the server has accepted the connection.
			for {
				if open, _ := dl.counts(); open == 1 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if tt.send != "" {
				if _, err := io.WriteString(conn, tt.send); err != nil {
					t.Fatal(err)
				}
			}
			dl.drain(t.Context(), 200*time.Millisecond)
			if tt.send == "" {
				// A client that never speaks: net/http itself waits up
				// to 5s for it, so hang up to keep the test short.
				conn.Close()
			}
			if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
				t.Error("a new connection was accepted after drain")
			}
			if err := srv.Shutdown(t.Context()); err != nil {
				t.Errorf("Shutdown after drain: %v", err)
			}
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
			}
			if tt.send == "" {
				return
			}
			b, _ := io.ReadAll(conn)
			first, _, _ := strings.Cut(string(b), "\r\n")
			if first != tt.wantStatus {
				t.Errorf("response status line %q, want %q", first, tt.wantStatus)
			}
		})
	}
}

// TestDrainConnHalfCloses: when net/http hangs up after an error response
// it half-closes first (FIN, then a pause before the full close) so that
// the client reads the response rather than a reset; the wrapper must let
// it, or the client waits out the pause and may lose the response.
func TestDrainConnHalfCloses(t *testing.T) {
	tests := []struct {
		name, request, wantStatus string
	}{
		{
			name:       "headers over the limit",
			request:    "GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", 40<<10) + "\r\n\r\n",
			wantStatus: "HTTP/1.1 431 Request Header Fields Too Large",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			served := make(chan error, 1)
			go func() {
				served <- Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					_, _ = io.WriteString(w, "ok")
				}), Timeouts{ReadHeader: time.Second, Shutdown: time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			}()
			defer func() {
				cancel()
				if err := <-served; err != nil {
					t.Errorf("Serve: %v", err)
				}
			}()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tt.request); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			start := time.Now()
			b, err := io.ReadAll(conn)
			if err != nil {
				t.Fatalf("read the response: %v (got %q)", err, b)
			}
			first, _, _ := strings.Cut(string(b), "\r\n")
			if first != tt.wantStatus {
				t.Errorf("status line %q, want %q", first, tt.wantStatus)
			}
			if took := time.Since(start); took > 250*time.Millisecond {
				t.Errorf("the connection ended %v after the request, want a FIN at once", took)
			}
		})
	}
}
