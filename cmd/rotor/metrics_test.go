package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsAddr: with metrics.addr set, /metrics (and, with
// metrics.profile, pprof) answer only on that address, never on the
// public one.
func TestMetricsAddr(t *testing.T) {
	metricsAddr := freeAddr(t)
	in := newInstance(t, "ROTOR_METRICS_ADDR="+metricsAddr, "ROTOR_METRICS_PROFILE=true")
	in.start()
	tests := []struct {
		name     string
		url      string
		want     int
		contains string
	}{
		{name: "metrics on metrics.addr", url: "http://" + metricsAddr + "/metrics", want: http.StatusOK, contains: "rotor_http_requests_total"},
		{name: "runtime metrics on metrics.addr", url: "http://" + metricsAddr + "/metrics", want: http.StatusOK, contains: "go_goroutines"},
		{name: "pprof on metrics.addr", url: "http://" + metricsAddr + "/debug/pprof/", want: http.StatusOK, contains: "goroutine"},
		{name: "no metrics on the public address", url: in.baseURL() + "/metrics", want: http.StatusNotFound},
		{name: "no pprof on the public address", url: in.baseURL() + "/debug/pprof/", want: http.StatusNotFound},
	}
	// One request first, so the request counter has a series.
	if resp, err := http.Get(in.baseURL() + "/healthz"); err == nil {
		resp.Body.Close()
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("GET %s = %d, want %d", tt.url, resp.StatusCode, tt.want)
			}
			if tt.contains != "" && !strings.Contains(string(body), tt.contains) {
				t.Errorf("GET %s: body lacks %q", tt.url, tt.contains)
			}
		})
	}
}
