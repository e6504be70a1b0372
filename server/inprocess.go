package server

import (
	"net/http"
	"net/http/httptest"
)

// inProcess is an http.RoundTripper that serves requests with Rotor's own
// handler instead of the network. The BFF and the demo API are clients of
// this very server; going through the handler keeps them working wherever
// the issuer's public URL does not resolve from inside (containers, tests).
type inProcess struct {
	handler http.Handler
}

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.handler.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}
