package server

import (
	"context"
	"sync"
	"time"

	"github.com/rotorauth/rotor/storage"
)

// aggregatedEvents are the audit events of requests nobody authenticated:
// anyone can cause them at the request rate, so they must not take the
// database writer (on SQLite the one that rotations use) once each.
var aggregatedEvents = map[string]bool{
	"client_auth_failed": true,
	"throttled":          true,
}

// maxAuditSources bounds how many (event, client or account, IP) sources
// are tracked per minute; beyond it, occurrences are counted into one
// overflow row per event type.
const maxAuditSources = 1000

// maxAuditImmediate bounds how many new sources a minute have their first
// occurrence written at once; those of the others are counted and written
// with the minute's rows, in one transaction, so that varying the client
// id or account does not buy one write each.
const maxAuditImmediate = 20

// auditSource is what an aggregated event is counted per.
type auditSource struct {
	typ, clientID, email, ip string
}

type auditAggregate struct {
	first   storage.AuditEvent
	last    time.Time
	more    int64 // occurrences after the first, not yet written
	written bool  // the first occurrence has been written
}

// auditAggregator writes the first occurrence of a source's event in a
// minute at once (so an operator sees the attack begin), for at most
// maxAuditImmediate sources a minute, and counts the others, which
// FlushAudit or the next minute's first event writes as one row per source
// with their count. A crash loses at most a minute of counts.
type auditAggregator struct {
	mu        sync.Mutex
	minute    time.Time
	immediate int // first occurrences written at once this minute
	sources   map[auditSource]*auditAggregate
	overflow  map[string]*auditAggregate
}

func newAuditAggregator() *auditAggregator {
	return &auditAggregator{sources: map[auditSource]*auditAggregate{}, overflow: map[string]*auditAggregate{}}
}

// add counts e at now. It reports whether e must be written now (the first
// of its source this minute) and returns the rows of an ended minute.
func (a *auditAggregator) add(now time.Time, e storage.AuditEvent) (writeNow bool, due []storage.AuditEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if m := now.UTC().Truncate(time.Minute); !m.Equal(a.minute) {
		due = a.drainLocked()
		a.minute = m
	}
	// Cut to the columns' sizes first: the sources held until the minute
	// ends are then bounded in memory, and values the rows can't tell
	// apart count as one source.
	e = e.Bounded()
	k := auditSource{typ: e.Type, clientID: e.ClientID, email: e.Email, ip: e.IP}
	if ag, ok := a.sources[k]; ok {
		ag.more++
		ag.last = now
		return false, due
	}
	if len(a.sources) >= maxAuditSources {
		ag, ok := a.overflow[e.Type]
		if !ok {
			// The overflow row counts occurrences only (more); it has
			// no first occurrence of its own.
			ag = &auditAggregate{first: storage.AuditEvent{Type: e.Type, Detail: "aggregated: more sources than tracked in a minute"}, written: true}
			a.overflow[e.Type] = ag
		}
		ag.more++
		ag.last = now
		return false, due
	}
	ag := &auditAggregate{first: e, last: now}
	a.sources[k] = ag
	if a.immediate >= maxAuditImmediate {
		return false, due
	}
	a.immediate++
	ag.written = true
	return true, due
}

// drainLocked returns a row per source with uncounted occurrences and
// forgets every source.
func (a *auditAggregator) drainLocked() []storage.AuditEvent {
	var out []storage.AuditEvent
	for _, ag := range a.sources {
		if ag.more > 0 || !ag.written {
			out = append(out, ag.row())
		}
	}
	for _, ag := range a.overflow {
		out = append(out, ag.row())
	}
	clear(a.sources)
	clear(a.overflow)
	a.immediate = 0
	return out
}

// row is the source's occurrences not yet written, the first included
// when it was not written at once.
func (ag *auditAggregate) row() storage.AuditEvent {
	e := ag.first
	e.Time, e.Count = ag.last.UTC(), ag.more
	if !ag.written {
		e.Count++
	}
	return e
}

func (a *auditAggregator) drain() []storage.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.drainLocked()
}

// FlushAudit writes the counted occurrences of aggregated audit events.
// serve calls it every minute and once on shutdown.
func (s *Server) FlushAudit(ctx context.Context) {
	s.recordAll(ctx, s.auditAgg.drain())
}
