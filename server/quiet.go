package server

import (
	"context"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// quietHandler skips a token endpoint handler that doesn't handle the
// request's grant. fosite calls every handler for every request and each
// one that declines answers with a stack-traced ErrUnknownRequest; on the
// refresh hot path those stack captures cost more than the JSON.
type quietHandler struct {
	fosite.TokenEndpointHandler
	// openIDOnly: the handler also declines requests without the openid
	// scope granted (fosite's OIDC refresh handler, on every refresh).
	openIDOnly bool
}

func newQuietHandler(h fosite.TokenEndpointHandler) quietHandler {
	_, oidcRefresh := h.(*openid.OpenIDConnectRefreshHandler)
	return quietHandler{TokenEndpointHandler: h, openIDOnly: oidcRefresh}
}

func (q quietHandler) declines(ctx context.Context, req fosite.AccessRequester) bool {
	return !q.CanHandleTokenEndpointRequest(ctx, req) || (q.openIDOnly && !req.GetGrantedScopes().Has("openid"))
}

func (q quietHandler) HandleTokenEndpointRequest(ctx context.Context, req fosite.AccessRequester) error {
	if q.declines(ctx, req) {
		return fosite.ErrUnknownRequest
	}
	return q.TokenEndpointHandler.HandleTokenEndpointRequest(ctx, req)
}

func (q quietHandler) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, resp fosite.AccessResponder) error {
	if q.declines(ctx, req) {
		return fosite.ErrUnknownRequest
	}
	return q.TokenEndpointHandler.PopulateTokenEndpointResponse(ctx, req, resp)
}
