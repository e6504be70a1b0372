package storagetest

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rotorauth/rotor/storage"
)

// testAuditText: an audit event is recorded whatever bytes its
// request-supplied fields hold (a User-Agent with an invalid byte, an
// email with a NUL, a value of multi-byte characters longer than its
// column): PostgreSQL refuses such text, and a lost row would let a
// spelling sidestep the audit trail. Stored values are valid UTF-8
// without NUL and fit their columns.
func testAuditText(t *testing.T, f *fixture) {
	ctx := context.Background()
	long := strings.Repeat("é", 300) + "x" // 601 bytes: a byte cut at 512 splits a character
	for _, tc := range []struct {
		name string
		e    storage.AuditEvent
	}{
		{name: "user agent with an invalid byte", e: storage.AuditEvent{Type: "login_failed", UserAgent: "curl\xff\xfe"}},
		{name: "user agent with NUL", e: storage.AuditEvent{Type: "login_failed", UserAgent: "curl\x00"}},
		{name: "user agent cut mid-character", e: storage.AuditEvent{Type: "login_failed", UserAgent: "x" + long + long}},
		{name: "email with NUL and a lone surrogate", e: storage.AuditEvent{Type: "login_failed", Email: "a\x00\xed\xa0\x80@example.com"}},
		{name: "email cut mid-character", e: storage.AuditEvent{Type: "login_failed", Email: "x" + long}},
		{name: "client id cut mid-character", e: storage.AuditEvent{Type: "client_auth_failed", ClientID: long}},
		{name: "detail with an invalid byte", e: storage.AuditEvent{Type: "throttled", Detail: "1s\xc0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.s.RecordAudit(ctx, tc.e); err != nil {
				t.Fatalf("record: %v", err)
			}
		})
	}
	events, err := f.s.AuditEvents(ctx, "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 7 {
		t.Errorf("%d events recorded, want 7", len(events))
	}
	for _, e := range events {
		for _, v := range []string{e.Type, e.Email, e.ClientID, e.UserAgent, e.Detail} {
			if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				t.Errorf("stored %q: not UTF-8 text", v)
			}
		}
		if len(e.UserAgent) > 512 || len(e.Email) > 320 || len(e.ClientID) > 255 {
			t.Errorf("stored values longer than their columns: %d, %d, %d bytes", len(e.UserAgent), len(e.Email), len(e.ClientID))
		}
	}
}
