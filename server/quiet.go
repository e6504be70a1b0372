package server

import (
	"context"

	"github.com/ory/fosite"
)

// quietHandler skips a token endpoint handler that doesn't handle the
// request's grant. fosite calls every handler for every request and each
// one that declines answers with a stack-traced ErrUnknownRequest; on the
// refresh hot path those stack captures cost more than the JSON.
type quietHandler struct {
	fosite.TokenEndpointHandler
}

func (q quietHandler) HandleTokenEndpointRequest(ctx context.Context, req fosite.AccessRequester) error {
	if !q.CanHandleTokenEndpointRequest(ctx, req) {
		return fosite.ErrUnknownRequest
	}
	return q.TokenEndpointHandler.HandleTokenEndpointRequest(ctx, req)
}

func (q quietHandler) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !q.CanHandleTokenEndpointRequest(ctx, req) {
		return fosite.ErrUnknownRequest
	}
	return q.TokenEndpointHandler.PopulateTokenEndpointResponse(ctx, req, resp)
}
