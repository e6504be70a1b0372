package server

import (
	"errors"
	"io"
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
				dl.mu.Lock()
				n := len(dl.pending)
				dl.mu.Unlock()
				if n == 1 {
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
