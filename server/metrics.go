package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are Rotor's Prometheus series, in a registry of the server's own
// so that two servers in one process (tests) don't collide.
type metrics struct {
	registry       *prometheus.Registry
	tokensIssued   *prometheus.CounterVec
	refreshes      prometheus.Counter
	bffRefreshes   prometheus.Counter
	reuseDetection prometheus.Counter
	throttled      prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotor_tokens_issued_total",
			Help: "Token responses issued by the token endpoint, by grant type.",
		}, []string{"grant_type"}),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rotor_token_refresh_total",
			Help: "Successful refresh_token grants (rotations and grace replays).",
		}),
		bffRefreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rotor_bff_refresh_total",
			Help: "Refreshes the BFF performed on behalf of browser sessions.",
		}),
		reuseDetection: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rotor_refresh_reuse_detected_total",
			Help: "Spent refresh tokens presented again; each revokes its family.",
		}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rotor_signin_throttled_total",
			Help: "Sign-ins refused because of too many recent failures.",
		}),
	}
	m.registry.MustRegister(m.tokensIssued, m.refreshes, m.bffRefreshes, m.reuseDetection, m.throttled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
