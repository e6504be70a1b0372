package server_test

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
)

// refreshSignature is the stored signature of a refresh token: the part
// after the '.'.
func refreshSignature(rt string) string {
	return rt[strings.LastIndexByte(rt, '.')+1:]
}

// openDB opens the harness's SQLite file directly, as another process would.
func (h *harness) openDB() *sql.DB {
	h.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+h.dbPath+"?_busy_timeout=5000")
	if err != nil {
		h.t.Fatalf("open sqlite: %v", err)
	}
	h.t.Cleanup(func() { _ = db.Close() })
	return db
}

// queryInt runs a COUNT-style query on the database file.
func (h *harness) queryInt(db *sql.DB, q string, args ...any) int {
	h.t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("unmarshal payload: %v", err)
	}
	return c
}

// urlValues builds form values from key, value pairs.
func urlValues(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func rawURL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func encodeRawURL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
