package server

import (
	"context"
	"errors"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
)

// reasonCodeReuse is recorded on families revoked because their
// authorization code was presented twice.
const reasonCodeReuse = "authorization_code_reuse"

// singleUseCodeGrant is fosite's authorization code grant plus the race
// fosite leaves to storage: two exchanges of one code that both pass the
// first check. The loser's conditional invalidation fails; like a plain
// second use (RFC 6749 §4.1.2), it revokes what the code issued and gets
// invalid_grant rather than a server error.
type singleUseCodeGrant struct {
	*oauth2.AuthorizeExplicitGrantHandler
	families familyRevoker
}

func (h *singleUseCodeGrant) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, resp fosite.AccessResponder) error {
	err := h.AuthorizeExplicitGrantHandler.PopulateTokenEndpointResponse(ctx, req, resp)
	if err == nil || !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
		return err
	}
	if _, rerr := h.families.RevokeFamily(ctx, req.GetID(), reasonCodeReuse); rerr != nil {
		return fosite.ErrServerError.WithWrap(rerr)
	}
	return fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.").WithWrap(err)
}
