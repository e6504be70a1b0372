package server

import (
	"context"

	"github.com/rotorauth/rotor/storage"
)

// audit records a security event; the storage hook logs it. Events of
// unauthenticated requests are aggregated per source and minute (see
// auditAggregator), so a flood of them writes a handful of rows.
func (s *Server) audit(ctx context.Context, e storage.AuditEvent) {
	if aggregatedEvents[e.Type] {
		if e.IP == "" && e.UserAgent == "" {
			src := sourceOf(ctx)
			e.IP, e.UserAgent = src.ip, src.userAgent
		}
		writeNow, due := s.auditAgg.add(s.now(), e)
		s.recordAll(ctx, due)
		if !writeNow {
			return
		}
	}
	s.record(ctx, e)
}

// record stores one audit row. A failure to record is logged, not
// returned: the request itself went through.
func (s *Server) record(ctx context.Context, e storage.AuditEvent) {
	if err := s.store.RecordAudit(ctx, e); err != nil {
		s.log.Warn("audit event not recorded", "event", e.Type, "cause", err.Error())
	}
}

// recordAll stores aggregated rows in one write; a failure is logged.
func (s *Server) recordAll(ctx context.Context, events []storage.AuditEvent) {
	if err := s.store.RecordAudits(ctx, events); err != nil {
		s.log.Warn("audit events not recorded", "events", len(events), "cause", err.Error())
	}
}
