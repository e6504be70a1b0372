package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// AuditEvent is one security-relevant event: sign-ins, reuse detection,
// revocations, client authentication failures, throttling. It never holds
// a token or a secret.
type AuditEvent struct {
	ID        uint64    `gorm:"primaryKey;autoIncrement"`
	Time      time.Time `gorm:"not null;index"`
	Type      string    `gorm:"size:64;not null"`
	Subject   string    `gorm:"size:64;not null;default:'';index"`
	Email     string    `gorm:"size:320;not null;default:''"`
	ClientID  string    `gorm:"size:255;not null;default:''"`
	FamilyID  string    `gorm:"size:64;not null;default:''"`
	IP        string    `gorm:"size:64;not null;default:''"`
	UserAgent string    `gorm:"size:512;not null;default:''"`
	Detail    string    `gorm:"size:512;not null;default:''"`
	// Count is how many occurrences the row stands for: events of
	// unauthenticated requests are aggregated per source and minute.
	Count int64 `gorm:"not null;default:1"`
}

func (AuditEvent) TableName() string { return "audit_events" }

// RecordAudit stores an event (and hands it to Options.OnAudit).
func (s *Store) RecordAudit(ctx context.Context, e AuditEvent) error {
	return s.recordAudit(s.writer(ctx), ctx, e)
}

// recordAudit stores e through db; an event that names no client address
// takes the one of the request in ctx (WithAuditInfo).
func (s *Store) recordAudit(db *gorm.DB, ctx context.Context, e AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	if e.Count < 1 {
		e.Count = 1
	}
	if e.IP == "" && e.UserAgent == "" {
		if ai, ok := ctx.Value(auditKey{}).(auditInfo); ok {
			e.IP, e.UserAgent = ai.ip, ai.userAgent
		}
	}
	// Values come from requests: see Bounded.
	e = e.Bounded()
	if err := db.Create(&e).Error; err != nil {
		return fmt.Errorf("record audit event: %w", mapErr(err))
	}
	if s.opts.OnAudit != nil {
		s.opts.OnAudit(e)
	}
	return nil
}

// RecordAudits stores events in one transaction (and hands each to
// Options.OnAudit once it is committed), so that many rows take the
// database writer once.
func (s *Store) RecordAudits(ctx context.Context, events []AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]AuditEvent, len(events))
	for i, e := range events {
		if e.Time.IsZero() {
			e.Time = s.now().UTC()
		}
		rows[i] = e.Bounded()
		rows[i].Count = max(rows[i].Count, 1)
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		return tx.CreateInBatches(&rows, 200).Error
	})
	if err != nil {
		return fmt.Errorf("record %d audit events: %w", len(rows), mapErr(err))
	}
	if s.opts.OnAudit != nil {
		for _, e := range rows {
			s.opts.OnAudit(e)
		}
	}
	return nil
}

// Bounded returns e with its values, which come from requests, made text
// PostgreSQL accepts (valid UTF-8 without NUL) and cut to the columns'
// sizes, which it enforces: a value it refused would lose the row, and let
// a spelling sidestep the audit trail.
func (e AuditEvent) Bounded() AuditEvent {
	e.UserAgent = cut(e.UserAgent, 512)
	e.Email = cut(e.Email, 320)
	e.ClientID = cut(e.ClientID, 255)
	e.Detail = cut(e.Detail, 512)
	e.IP = cut(e.IP, 64)
	e.Type, e.Subject, e.FamilyID = cut(e.Type, 64), cut(e.Subject, 64), cut(e.FamilyID, 64)
	return e
}

type auditKey struct{}

type auditInfo struct{ ip, userAgent string }

// WithAuditInfo attaches the client's IP and user agent to ctx so that
// events recorded deep in storage (a family revoked for reuse) name them.
func WithAuditInfo(ctx context.Context, ip, userAgent string) context.Context {
	return context.WithValue(ctx, auditKey{}, auditInfo{ip: ip, userAgent: userAgent})
}

// AuditEvents returns the newest events (oldest first): all of them, or
// those of one user (by subject, or by email for failed sign-ins, which
// have no subject).
func (s *Store) AuditEvents(ctx context.Context, subject, email string, limit int) ([]AuditEvent, error) {
	q := s.read.WithContext(ctx).Order("id DESC").Limit(limit)
	if subject != "" {
		q = q.Where("subject = ? OR email = ?", subject, NormalizeEmail(email))
	}
	var out []AuditEvent
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list audit events: %w", mapErr(err))
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// cut makes s valid UTF-8 without NUL (each bad byte and NUL becomes
// U+FFFD) and cuts it to at most n bytes on a character boundary.
func cut(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
