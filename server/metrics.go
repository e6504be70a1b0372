package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are Rotor's Prometheus series, in a registry of the server's own
// so that two servers in one process (tests) don't collide.
type metrics struct {
	registry        *prometheus.Registry
	tokensIssued    *prometheus.CounterVec
	refreshes       prometheus.Counter
	bffRefreshes    prometheus.Counter
	reuseDetection  prometheus.Counter
	throttled       prometheus.Counter
	requests        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	familiesRevoked *prometheus.CounterVec
	dbErrors        prometheus.Counter
	signInsShed     prometheus.Counter
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
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotor_http_requests_total",
			Help: "HTTP requests by route, method, grant type (token endpoint) and status code.",
		}, []string{"route", "method", "grant_type", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rotor_http_request_duration_seconds",
			Help:    "HTTP request latency by route and grant type (token endpoint).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "grant_type"}),
		familiesRevoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotor_token_families_revoked_total",
			Help: "Token families revoked, by reason (refresh_token_reuse, revocation_endpoint, logout, admin_revoked, ...).",
		}, []string{"reason"}),
		dbErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rotor_database_errors_total",
			Help: "Requests answered 503 because the database was busy, locked or unreachable.",
		}),
		signInsShed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rotor_signin_shed_total",
			Help: "Sign-ins answered 503 because the hashing pool, or the account's or address's turn, stayed busy for security.hash_wait.",
		}),
	}
	m.registry.MustRegister(m.tokensIssued, m.refreshes, m.bffRefreshes, m.reuseDetection, m.throttled,
		m.requests, m.latency, m.familiesRevoked, m.dbErrors, m.signInsShed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// groupCommitStats is the storage's count of group commits.
type groupCommitStats interface {
	GroupCommitStats() (batches, units uint64)
}

// observeGroupCommits exports the group-commit counters; units ÷ commits
// is the mean batch size, i.e. how many token writes share one commit.
func (m *metrics) observeGroupCommits(gc groupCommitStats) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rotor_db_group_commits_total",
			Help: "Database transactions that committed queued token writes together.",
		}, func() float64 { b, _ := gc.GroupCommitStats(); return float64(b) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rotor_db_group_commit_units_total",
			Help: "Token writes (a refresh rotation, an access-token insert) committed by group commits.",
		}, func() float64 { _, u := gc.GroupCommitStats(); return float64(u) }),
	)
}
