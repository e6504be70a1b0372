package server

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// keepAliveDrain bounds how long drain waits for keep-alive connections
// that have been answered at least once and now sit idle: a client that
// reuses one within it is answered (with Connection: close); one idle for
// longer meets the close every HTTP/1.1 client must expect of an idle
// connection (RFC 9112 §9.6).
const keepAliveDrain = time.Second

// drainListener closes the gaps that http.Server.Shutdown leaves open.
// Once Shutdown has begun, net/http hangs up on a request it reads
// (conn.serve checks shuttingDown after readRequest) and closes every idle
// keep-alive connection at once, so a request a client has already written
// to an accepted connection is lost (EOF or reset) both on a fresh
// connection whose request the server hasn't read yet and on a keep-alive
// connection between two requests. drain therefore runs before Shutdown,
// in this order:
//
//  1. it closes the listener, so that new connections are refused rather
//     than accepted and dropped;
//  2. every response from then on carries Connection: close (RFC 9112
//     §9.6), so that clients stop reusing their connections and the server
//     closes each after answering it;
//  3. it waits until every accepted connection has closed, at most
//     keepAliveDrain once all of them have reached the handler at least
//     once, and at most maxWait while one has not.
//
// http.Server.SetKeepAlivesEnabled(false) would do step 2 too, but it
// closes the idle connections at once, which is the loss this avoids.
type drainListener struct {
	net.Listener

	mu sync.Mutex
	// conns are the accepted connections not yet closed, by remote
	// address; the value is true once a request on it reached the handler.
	conns   map[string]bool
	stopped bool // drain closed the listener: Accept waits for Close

	// closing makes every response carry Connection: close; it is set only
	// after the listener is closed, so a client that redials is refused.
	closing atomic.Bool

	closeOnce sync.Once
	closed    chan struct{}
}

func newDrainListener(ln net.Listener) *drainListener {
	return &drainListener{Listener: ln, conns: map[string]bool{}, closed: make(chan struct{})}
}

// Accept hands out connections until drain; after it, it blocks until Close
// so that the server does not mistake the closed socket for a failure.
func (l *drainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		l.mu.Lock()
		stopped := l.stopped
		l.mu.Unlock()
		if stopped {
			<-l.closed
			return nil, net.ErrClosed
		}
		return nil, err
	}
	l.mu.Lock()
	l.conns[c.RemoteAddr().String()] = false
	l.mu.Unlock()
	return &drainConn{Conn: c, l: l}, nil
}

// Close is called by the server's Shutdown; closing a listener drain
// already closed is not an error.
func (l *drainListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closed)
		l.mu.Lock()
		stopped := l.stopped
		l.mu.Unlock()
		if !stopped {
			err = l.Listener.Close()
		}
	})
	return err
}

// handler marks a connection's request as reached and, while draining,
// tells the client not to reuse the connection.
func (l *drainListener) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		if _, ok := l.conns[r.RemoteAddr]; ok {
			l.conns[r.RemoteAddr] = true
		}
		l.mu.Unlock()
		if l.closing.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// counts returns how many accepted connections are open, and how many of
// them have not had a request reach the handler yet.
func (l *drainListener) counts() (open, fresh int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, reached := range l.conns {
		if !reached {
			fresh++
		}
	}
	return len(l.conns), fresh
}

// drain stops accepting new connections and answers what the accepted ones
// send until they close, at most maxWait or until ctx ends (see
// drainListener).
func (l *drainListener) drain(ctx context.Context, maxWait time.Duration) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.stopped = true
	l.mu.Unlock()
	_ = l.Listener.Close() // the kernel now refuses new connections
	l.closing.Store(true)

	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		open, fresh := l.counts()
		if open == 0 || (fresh == 0 && time.Since(start) >= keepAliveDrain) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// drainConn leaves the open set when the server (or a hijacker) closes it.
type drainConn struct {
	net.Conn
	l    *drainListener
	once sync.Once
}

func (c *drainConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c.Conn.RemoteAddr().String())
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// CloseWrite lets net/http half-close before hanging up after an error
// response (its closeWriteAndWait looks for this method), so the client
// reads the response and a FIN instead of a reset.
func (c *drainConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
