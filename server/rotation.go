package server

import (
	"context"
	"errors"
	"slices"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/rotorauth/rotor/storage"
)

// familyRevoker revokes a whole token family.
type familyRevoker interface {
	RevokeFamily(ctx context.Context, id, reason string) (bool, error)
}

// reasonReuse is recorded on families revoked because a spent refresh
// token came back.
const reasonReuse = storage.ReasonReuse

// rotatingRefreshGrant is fosite's refresh grant plus the half of reuse
// detection fosite leaves out: when two requests race on one token and the
// loser finds it already rotated (outside the grace window), fosite rolls
// the loser back with invalid_request and revokes nothing. Here that case
// revokes the family and answers invalid_grant, like any other reuse.
type rotatingRefreshGrant struct {
	*oauth2.RefreshTokenGrantHandler
	families familyRevoker
	// reused counts detected reuse of a live family's spent token (a theft
	// signal worth alerting on).
	reused interface{ Inc() }
}

func (h *rotatingRefreshGrant) HandleTokenEndpointRequest(ctx context.Context, req fosite.AccessRequester) error {
	// fosite's reading of the scope parameter, before its handler replaces
	// it with the family's.
	asked := slices.Clone([]string(req.GetRequestedScopes()))
	collect := &scopeCollector{AccessRequester: req}
	err := h.RefreshTokenGrantHandler.HandleTokenEndpointRequest(storage.WithRevocationReason(ctx, reasonReuse), collect)
	var reuse *storage.ReuseError
	if errors.As(err, &reuse) && !reuse.FamilyEnded {
		// fosite found the token spent and revoked its live family. A
		// token of a family already ended (a logout, its lifetime over) is
		// no theft signal.
		h.reused.Inc()
	}
	if err != nil {
		return err
	}
	if err := narrowRefreshScope(req, asked, collect.granted); err != nil {
		return err
	}
	// fosite has just set both expiries from their lifespans alone.
	if s, ok := req.GetSession().(*session); ok {
		s.endWithFamily()
	}
	return nil
}

func (h *rotatingRefreshGrant) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, resp fosite.AccessResponder) error {
	// The rotation's writes (spend the parent, store the new pair) are
	// committed together with concurrent refreshes': one commit per batch.
	err := h.RefreshTokenGrantHandler.PopulateTokenEndpointResponse(storage.WithGroupCommit(ctx), req, resp)
	var reuse *storage.ReuseError
	if !errors.As(err, &reuse) {
		return err
	}
	if _, rerr := h.families.RevokeFamily(ctx, reuse.FamilyID, reasonReuse); rerr != nil {
		return fosite.ErrServerError.WithWrap(rerr)
	}
	if !reuse.FamilyEnded {
		h.reused.Inc()
	}
	return fosite.ErrInvalidGrant.WithHint("The refresh token was already used.").WithWrap(err)
}
