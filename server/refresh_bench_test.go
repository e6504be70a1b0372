package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rotorauth/rotor/storage"
)

// BenchmarkRefreshEndpoint is the load tool's refresh scenario without the
// network: each goroutine holds its own family and chains refreshes through
// the server's handler, on a real SQLite file. It isolates the server's
// CPU and allocations per rotation from the load tool that shares the
// cores in `rotor bench`.
//
//	go test ./server -run '^$' -bench RefreshEndpoint -benchmem -cpu 2
func BenchmarkRefreshEndpoint(b *testing.B) {
	h := newBareHarness(b)
	h.openStore(b, storage.Options{RefreshReuseGrace: 10 * time.Second})
	srv := h.start(b, newTestKeys(b, h.store, nil), nil)
	h.registerClients(b, mobileClient)
	handler := srv.Handler()

	post := func(tb testing.TB, form url.Values) string {
		req := httptest.NewRequest(http.MethodPost, h.URL+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			tb.Fatalf("token request: status %d, body %s", rec.Code, rec.Body)
		}
		var body struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.RefreshToken == "" {
			tb.Fatalf("token response %s: %v", rec.Body, err)
		}
		return body.RefreshToken
	}

	b.SetParallelism(8) // 16 workers on the 2 cores, as the load tool runs
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rt := post(b, url.Values{"grant_type": {"password"}, "client_id": {mobileClient.ID},
			"username": {aliceEmail}, "password": {alicePassword}})
		for pb.Next() {
			rt = post(b, url.Values{"grant_type": {"refresh_token"}, "client_id": {mobileClient.ID}, "refresh_token": {rt}})
		}
	})
}
