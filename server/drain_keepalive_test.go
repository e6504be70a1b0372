package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rotorauth/rotor/server"
)

// drainTimeouts are rotor.yaml's HTTP timeouts, shortened.
var drainTimeouts = server.Timeouts{ReadHeader: 2 * time.Second, Read: 5 * time.Second, Write: 5 * time.Second,
	Idle: 30 * time.Second, Shutdown: 5 * time.Second}

// drainTally counts what keep-alive clients saw while the server drained.
type drainTally struct {
	mu          sync.Mutex
	answered    int // complete responses
	answeredEnd int // of which after the cancel, carrying Connection: close
	idleClosed  int // idle connections the server closed cleanly (FIN)
	refused     int // dials refused after the cancel
	failures    []string
}

func (d *drainTally) fail(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.failures) < 10 {
		d.failures = append(d.failures, fmt.Sprintf(format, args...))
	}
}

func (d *drainTally) count(f func(d *drainTally)) {
	d.mu.Lock()
	f(d)
	d.mu.Unlock()
}

// keepAliveClient sends requests on one connection while it stays open,
// the way an HTTP/1.1 client reuses a connection (RFC 9112 §9.3): it
// redials only after a response with Connection: close, or when the server
// closed the connection while it sat idle (a client checks for that before
// reusing one, as Go's Transport does). Before each request it calls pace,
// which reports whether it waited. It stops after max requests, at
// deadline, or when a dial after cancelled is refused, the one failure
// allowed: the request was never sent. A request written to an open
// connection must get a complete response.
func keepAliveClient(addr string, cancelled <-chan struct{}, pace func(i int) (waited bool), max int, deadline time.Time, tally *drainTally) {
	const req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	isCancelled := func() bool {
		select {
		case <-cancelled:
			return true
		default:
			return false
		}
	}
	for i := 0; i < max && time.Now().Before(deadline); i++ {
		if pace(i) && conn != nil {
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			_, err := br.Peek(1)
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF):
				tally.count(func(d *drainTally) { d.idleClosed++ })
				conn.Close()
				conn = nil
			case errors.As(err, &ne) && ne.Timeout():
			default:
				tally.fail("request %d: idle connection: %v", i, err)
				return
			}
		}
		if conn == nil {
			wasCancelled := isCancelled()
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				if wasCancelled {
					tally.count(func(d *drainTally) { d.refused++ })
				} else {
					tally.fail("dial before the cancel: %v", err)
				}
				return
			}
			conn, br = c, bufio.NewReader(c)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, req); err != nil {
			tally.fail("request %d: write on an open connection: %v", i, err)
			return
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			tally.fail("request %d: written to an open connection, no response: %v", i, err)
			return
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			tally.fail("request %d: status %d, body error %v", i, resp.StatusCode, err)
			return
		}
		after := isCancelled()
		tally.count(func(d *drainTally) {
			d.answered++
			if after && resp.Close {
				d.answeredEnd++
			}
		})
		if resp.Close {
			conn.Close()
			conn = nil
		}
	}
}

// pauseAfterFirst makes each client wait, before its second request, until
// the cancel and then for d.
func pauseAfterFirst(d time.Duration) func(after <-chan struct{}) func(i int) bool {
	return func(after <-chan struct{}) func(i int) bool {
		return func(i int) bool {
			if i != 1 {
				return false
			}
			<-after
			time.Sleep(d)
			return true
		}
	}
}

// TestDrainAnswersKeepAliveRequests cancels Serve while many keep-alive
// clients use it: every request written to a connection the server had
// accepted is answered; only dials after the cancel may be refused; and
// connections left idle are closed cleanly without holding up shutdown
// for long.
func TestDrainAnswersKeepAliveRequests(t *testing.T) {
	a := newAbuseHarness(t, abuseConfig{})
	tests := []struct {
		name    string
		clients int
		// pace runs before request i; after is closed at the cancel.
		pace func(after <-chan struct{}) func(i int) bool
		// wantAnsweredEnd: each client must be answered with Connection:
		// close after the cancel.
		wantAnsweredEnd bool
		// wantIdleClosed: each client must find its idle connection
		// closed cleanly before reusing it.
		wantIdleClosed bool
		maxServe       time.Duration // from the cancel to Serve's return
	}{
		{
			name:            "clients sending back to back",
			clients:         64,
			pace:            func(<-chan struct{}) func(int) bool { return func(int) bool { return false } },
			wantAnsweredEnd: true,
			maxServe:        3 * time.Second,
		},
		{
			name:            "idle connections reused just after the cancel",
			clients:         32,
			pace:            pauseAfterFirst(100 * time.Millisecond),
			wantAnsweredEnd: true,
			maxServe:        3 * time.Second,
		},
		{
			name:           "idle connections never reused during the drain",
			clients:        32,
			pace:           pauseAfterFirst(3 * time.Second), // past the drain: only the close is seen
			wantIdleClosed: true,
			maxServe:       3 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			served := make(chan error, 1)
			go func() {
				served <- server.Serve(ctx, ln, a.handler, drainTimeouts, slog.New(slog.NewTextHandler(io.Discard, nil)))
			}()

			var tally drainTally
			cancelled := make(chan struct{})
			var started, done sync.WaitGroup
			deadline := time.Now().Add(8 * time.Second)
			for range tt.clients {
				started.Add(1)
				done.Add(1)
				once := sync.OnceFunc(started.Done)
				pace := tt.pace(cancelled)
				go func() {
					defer done.Done()
					defer once()
					keepAliveClient(addr, cancelled, func(i int) bool {
						if i == 1 {
							once() // one answered request: the connection is accepted and in use
						}
						return pace(i)
					}, 200, deadline, &tally)
				}()
			}
			started.Wait()
			time.Sleep(20 * time.Millisecond) // let the load run
			close(cancelled)
			cancel()
			cancelledAt := time.Now()
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
				if took := time.Since(cancelledAt); took > tt.maxServe {
					t.Errorf("Serve returned %v after the cancel, want at most %v", took, tt.maxServe)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not return after the cancel")
			}
			done.Wait()

			t.Logf("answered %d (%d with Connection: close after the cancel), %d idle connections closed, %d dials refused",
				tally.answered, tally.answeredEnd, tally.idleClosed, tally.refused)
			for _, f := range tally.failures {
				t.Error(f)
			}
			if tt.wantAnsweredEnd && tally.answeredEnd < tt.clients {
				t.Errorf("%d responses after the cancel said Connection: close, want one per client (%d)", tally.answeredEnd, tt.clients)
			}
			if tt.wantIdleClosed && tally.idleClosed != tt.clients {
				t.Errorf("%d idle connections were closed cleanly, want %d", tally.idleClosed, tt.clients)
			}
		})
	}
}
