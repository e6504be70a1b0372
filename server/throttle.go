package server

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rotorauth/rotor/storage"
)

// ThrottleOptions bound password guessing. An account's wait is capped
// low (AccountMaxDelay) so that an attacker can't lock its owner out for
// long; a client IP's wait grows much further, since guessing from one
// address is the common attack and no real user needs many failures.
type ThrottleOptions struct {
	AccountMaxDelay time.Duration
	IPMaxDelay      time.Duration
	// TurnWait bounds how long a sign-in waits for its turn at a busy
	// account or address before it is answered 503 (0: no bound). serve
	// uses security.hash_wait, so no sign-in queues longer than that at
	// either gate, the per-account one or the hashing pool.
	TurnWait time.Duration
}

func (o ThrottleOptions) policies() (account, ip storage.ThrottlePolicy) {
	if o.AccountMaxDelay <= 0 {
		o.AccountMaxDelay = time.Minute
	}
	if o.IPMaxDelay <= 0 {
		o.IPMaxDelay = 15 * time.Minute
	}
	account = storage.ThrottlePolicy{Free: 5, Base: time.Second, Max: o.AccountMaxDelay, Forget: 15 * time.Minute}
	ip = storage.ThrottlePolicy{Free: 20, Base: time.Second, Max: o.IPMaxDelay, Forget: time.Hour}
	return account, ip
}

func accountKey(email string) string { return "acct:" + storage.NormalizeEmail(email) }

// ipKey is the throttle key of a client address. An IPv6 client is
// throttled by its /64: one host or home network is given a whole /64 and
// picks addresses in it at will (RFC 8981 temporary addresses), so per
// address it could guess without limit. Audit events and logs keep the
// full address.
func ipKey(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		return "ip:" + netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
	}
	return "ip:" + ip
}

// signInFailed counts a wrong password against the account and the IP.
func (s *Server) signInFailed(ctx context.Context, r *http.Request, email, clientID string) {
	acct, ip := s.throttle.policies()
	if _, err := s.store.ThrottleFail(ctx, accountKey(email), acct); err != nil {
		s.log.Warn("throttle record failed", "cause", err.Error())
	}
	if _, err := s.store.ThrottleFail(ctx, ipKey(clientIP(r)), ip); err != nil {
		s.log.Warn("throttle record failed", "cause", err.Error())
	}
	s.audit(ctx, storage.AuditEvent{Type: "login_failed", Email: storage.NormalizeEmail(email), ClientID: clientID})
}

// signInSucceeded resets the account's count.
func (s *Server) signInSucceeded(ctx context.Context, email, subject, clientID string) {
	if err := s.store.ThrottleReset(ctx, accountKey(email)); err != nil {
		s.log.Warn("throttle reset failed", "cause", err.Error())
	}
	s.audit(ctx, storage.AuditEvent{Type: "login_succeeded", Subject: subject, Email: storage.NormalizeEmail(email), ClientID: clientID})
}

// retryAfter sets Retry-After in whole seconds, rounded up.
func retryAfter(c echo.Context, wait time.Duration) {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
}
