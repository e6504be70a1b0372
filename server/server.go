package server

import (
	"context"

	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/ory/fosite"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rotorauth/rotor/storage"
	"github.com/rotorauth/rotor/templates"
)

const (
	pathToken      = "/oauth2/token"
	pathRevoke     = "/oauth2/revoke"
	pathIntrospect = "/oauth2/introspect"
	pathJWKS       = "/.well-known/jwks.json"
)

// Options configure a Server.
type Options struct {
	Issuer         string
	AccessTokenTTL time.Duration
	// AccessTokenAlg signs access tokens (default ES256).
	AccessTokenAlg jose.SignatureAlgorithm
	RefreshIdleTTL time.Duration
	// HMACKey signs refresh tokens and codes (fosite's global secret, 32 bytes).
	HMACKey []byte
	// PreviousHMACKeys are HMAC keys of retired system secrets: tokens
	// they signed stay valid.
	PreviousHMACKeys [][]byte
	// SuccessorKey derives a refresh token's successor from it.
	SuccessorKey []byte
	SecretHasher fosite.Hasher
	// CSRFKey keys the login and consent forms' CSRF tokens; empty means
	// one derived from HMACKey.
	CSRFKey []byte
	// BrowserTTL is how long a login on the login page lasts (SSO).
	BrowserTTL time.Duration
	// BFF enables the backend-for-frontend at /bff/ (nil: off).
	BFF *BFFOptions
	// Demo enables the demo API and app (nil: off).
	Demo *DemoOptions
	// Throttle bounds password guessing.
	Throttle ThrottleOptions
	// JWKSMaxAge is the JWKS Cache-Control max-age (default 5 minutes).
	JWKSMaxAge time.Duration
	// SeparateMetrics leaves /metrics off the main handler; the caller
	// serves MetricsHandler on its own address.
	SeparateMetrics bool
	// TrustedProxies are the proxies whose X-Forwarded-For or Forwarded
	// names the client (see trustedProxies); empty trusts nobody.
	TrustedProxies []netip.Prefix
	// PublicListener says the server listens on more than loopback: its
	// cookies are then Secure even for an http issuer.
	PublicListener bool
	Logger         *slog.Logger
	Now            func() time.Time
}

// Server is Rotor's HTTP surface.
type Server struct {
	echo             *echo.Echo
	oauth            fosite.OAuth2Provider
	store            Store
	keys             KeySet
	issuer           string
	log              *slog.Logger
	discoveryDoc     discoveryDocument
	access           *accessTokenStrategy
	pages            map[string]*template.Template
	cookies          cookiePolicy
	csrfKey          []byte
	browserTTL       time.Duration
	now              func() time.Time
	metrics          *metrics
	throttle         ThrottleOptions
	signIns          *signInGate
	jwksCacheControl string
	jwksTag          atomic.Pointer[jwksTag]
	separateMetrics  bool
	proxies          trustedProxies
	auditAgg         *auditAggregator
}

// MetricsHandler serves the Prometheus metrics.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}

// New composes fosite over store and keySet and registers the routes.
func New(opts Options, store Store, keySet KeySet) (*Server, error) {
	if len(opts.HMACKey) != 32 {
		return nil, fmt.Errorf("hmac key must be 32 bytes, got %d", len(opts.HMACKey))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if len(opts.CSRFKey) == 0 {
		m := hmac.New(sha256.New, opts.HMACKey)
		m.Write([]byte("rotor csrf"))
		opts.CSRFKey = m.Sum(nil)
	}
	if opts.JWKSMaxAge <= 0 {
		opts.JWKSMaxAge = 5 * time.Minute
	}
	if opts.BrowserTTL <= 0 {
		opts.BrowserTTL = 12 * time.Hour
	}
	pages, err := templates.Pages()
	if err != nil {
		return nil, err
	}
	m := newMetrics()
	if gc, ok := store.(groupCommitStats); ok {
		m.observeGroupCommits(gc)
	}
	oauth, access := newProvider(providerSettings{
		Issuer:           opts.Issuer,
		AccessTokenTTL:   opts.AccessTokenTTL,
		AccessTokenAlg:   opts.AccessTokenAlg,
		RefreshIdleTTL:   opts.RefreshIdleTTL,
		HMACKey:          opts.HMACKey,
		PreviousHMACKeys: opts.PreviousHMACKeys,
		SuccessorKey:     opts.SuccessorKey,
		SecretHasher:     opts.SecretHasher,
		Now:              opts.Now,
	}, store, keySet, m)
	s := &Server{
		echo:             echo.New(),
		oauth:            oauth,
		store:            store,
		keys:             keySet,
		issuer:           opts.Issuer,
		log:              opts.Logger,
		access:           access,
		pages:            pages,
		cookies:          newCookiePolicy(opts.Issuer, opts.PublicListener),
		csrfKey:          opts.CSRFKey,
		browserTTL:       opts.BrowserTTL,
		now:              opts.Now,
		metrics:          m,
		throttle:         opts.Throttle,
		signIns:          newSignInGate(),
		jwksCacheControl: fmt.Sprintf("public, max-age=%d", int(opts.JWKSMaxAge.Seconds())),
		separateMetrics:  opts.SeparateMetrics,
		proxies:          trustedProxies(opts.TrustedProxies),
		auditAgg:         newAuditAggregator(),
	}
	s.discoveryDoc = s.discovery()
	s.routes()
	if opts.BFF != nil {
		b, err := newBFF(s, *opts.BFF)
		if err != nil {
			return nil, err
		}
		b.routes(s.echo)
	}
	if opts.Demo != nil {
		if err := s.demoRoutes(*opts.Demo); err != nil {
			return nil, err
		}
		s.appRoutes()
	}
	return s, nil
}

func (s *Server) routes() {
	e := s.echo
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.httpErrorHandler
	e.IPExtractor = s.proxies.clientAddr
	e.Use(middleware.RequestID())
	e.Use(s.clientAddress)
	e.Use(s.accessLog)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisablePrintStack: true}))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		ContentTypeNosniff: "nosniff",
		XFrameOptions:      "DENY",
		ReferrerPolicy:     "no-referrer",
	}))
	// The scheme as URLs read it: case-insensitive (RFC 3986 §3.1).
	if u, err := url.Parse(s.issuer); err == nil && u.Scheme == "https" {
		e.Use(strictTransportSecurity)
	}

	e.GET("/.well-known/openid-configuration", s.serveDiscovery)
	e.GET("/.well-known/oauth-authorization-server", s.serveDiscovery)
	e.GET(pathJWKS, s.jwks)
	// Any method, so that a GET gets invalid_request in §5.2 JSON rather
	// than Echo's 405.
	e.Any(pathToken, s.token, s.strictForm)
	e.Any(pathRevoke, s.revoke, s.strictForm)
	e.Any(pathIntrospect, s.introspect, s.strictForm)
	e.GET(pathAuthorize, s.authorize)
	forms := middleware.BodyLimit("64K")
	e.POST(pathLogin, s.postLogin, forms)
	e.POST(pathConsent, s.postConsent, forms)
	e.GET(pathUserinfo, s.userinfo)
	e.POST(pathUserinfo, s.userinfo, forms)
	e.GET(pathLogout, s.logout)
	e.POST(pathLogout, s.logout, forms)
	e.StaticFS("/static", templates.Static())
	if !s.separateMetrics {
		e.GET("/metrics", echo.WrapHandler(s.MetricsHandler()))
	}
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
}

// strictTransportSecurity tells browsers to reach an https issuer only over
// https (RFC 6797 §6.1) for two years, subdomains included. It is sent on
// every response, not only over TLS: TLS usually ends at a proxy in front
// of Rotor, and browsers ignore the header on plain http (RFC 6797 §8.1).
func strictTransportSecurity(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		return next(c)
	}
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// accessLog writes one structured line per request and records the
// request metrics. It logs the route pattern and the client id, never the
// query or the body, which may carry tokens.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		took := time.Since(start)
		r := c.Request()
		route, grant := c.Path(), ""
		if route == pathToken {
			grant = grantLabel(r.PostForm)
		}
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		s.metrics.requests.WithLabelValues(route, r.Method, grant, strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues(route, grant).Observe(took.Seconds())
		if ctx := r.Context(); s.log.Enabled(ctx, slog.LevelInfo) {
			// Typed attributes: one line per request, so no boxing.
			attrs := make([]slog.Attr, 0, 8)
			attrs = append(attrs,
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("client_ip", clientIP(r)),
				slog.String("method", r.Method), slog.String("route", route), slog.Int("status", status),
				slog.Float64("duration_ms", float64(took.Microseconds())/1000))
			if strings.HasPrefix(route, "/oauth2/") {
				attrs = append(attrs, slog.String("client_id", truncate(requestClientID(r), 255)))
			}
			if grant != "" {
				attrs = append(attrs, slog.String("grant_type", grant))
			}
			s.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
		}
		return nil
	}
}

// ObserveAudit counts audit events that have their own metric; the CLI
// hands every event the store records to it.
func (s *Server) ObserveAudit(e storage.AuditEvent) {
	if e.Type == "family_revoked" {
		s.metrics.familiesRevoked.WithLabelValues(e.Detail).Inc()
	}
}

// Timeouts bound how long a client may hold a connection.
type Timeouts struct {
	ReadHeader, Read, Write, Idle, Shutdown time.Duration
}

// Serve serves h on ln until ctx is cancelled, then shuts down gracefully:
// it stops accepting, lets every request already sent on an accepted
// connection reach the handler (see drainListener), and lets requests in
// flight finish within t.Shutdown.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts, log *slog.Logger) error {
	dl := newDrainListener(ln)
	srv := &http.Server{
		Handler:           dl.handler(h),
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(dl) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", t.Shutdown.String())
	sctx, cancel := context.WithTimeout(context.Background(), t.Shutdown)
	defer cancel()
	dl.drain(sctx, min(t.ReadHeader, t.Shutdown))
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
