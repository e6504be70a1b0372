package server

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// drainListener closes the gap that http.Server.Shutdown leaves open: a
// connection the kernel has handed over but whose request the server has
// not read yet is closed unanswered once Shutdown has begun (net/http checks
// shuttingDown after reading a request and hangs up), so a client that
// already sent its request sees EOF. Before Shutdown, drain stops accepting
// and waits until every accepted connection has either reached the handler
// or closed.
type drainListener struct {
	net.Listener

	mu       sync.Mutex
	pending  map[string]struct{} // remote addresses accepted whose request hasn't reached the handler
	draining bool

	closeOnce sync.Once
	closed    chan struct{}
}

func newDrainListener(ln net.Listener) *drainListener {
	return &drainListener{Listener: ln, pending: map[string]struct{}{}, closed: make(chan struct{})}
}

// Accept hands out connections until drain; after it, it blocks until Close
// so that the server does not mistake the closed socket for a failure.
func (l *drainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		l.mu.Lock()
		draining := l.draining
		l.mu.Unlock()
		if draining {
			<-l.closed
			return nil, net.ErrClosed
		}
		return nil, err
	}
	l.mu.Lock()
	l.pending[c.RemoteAddr().String()] = struct{}{}
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
		draining := l.draining
		l.mu.Unlock()
		if !draining {
			err = l.Listener.Close()
		}
	})
	return err
}

func (l *drainListener) done(remoteAddr string) {
	l.mu.Lock()
	delete(l.pending, remoteAddr)
	l.mu.Unlock()
}

// handler marks a connection's request as reached.
func (l *drainListener) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.done(r.RemoteAddr)
		next.ServeHTTP(w, r)
	})
}

// drain stops accepting new connections and waits, at most maxWait or
// until ctx ends, for the accepted ones to reach the handler or close.
func (l *drainListener) drain(ctx context.Context, maxWait time.Duration) {
	l.mu.Lock()
	if l.draining {
		l.mu.Unlock()
		return
	}
	l.draining = true
	l.mu.Unlock()
	_ = l.Listener.Close() // the kernel now refuses new connections

	ctx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		l.mu.Lock()
		n := len(l.pending)
		l.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// drainConn leaves the pending set when the server closes it.
type drainConn struct {
	net.Conn
	l    *drainListener
	once sync.Once
}

func (c *drainConn) Close() error {
	c.once.Do(func() { c.l.done(c.Conn.RemoteAddr().String()) })
	return c.Conn.Close()
}
