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
//
// A code is also worth no more than the sign-in session it was issued
// through: once that session has ended (RP-initiated logout, sign out
// everywhere), the code gets invalid_grant, so no family is created for a
// session that is over (OpenID Connect Core 1.0 §3.1.3.2: the code's
// authorization is checked when it is exchanged).
type singleUseCodeGrant struct {
	*oauth2.AuthorizeExplicitGrantHandler
	families familyRevoker
	sessions browserSessionChecker
}

// browserSessionChecker reads whether a sign-in session is still live.
type browserSessionChecker interface {
	BrowserSessionLive(ctx context.Context, sid string) (bool, error)
}

func (h *singleUseCodeGrant) HandleTokenEndpointRequest(ctx context.Context, req fosite.AccessRequester) error {
	if err := h.AuthorizeExplicitGrantHandler.HandleTokenEndpointRequest(ctx, req); err != nil {
		return err
	}
	sid := signInSessionOf(req.GetSession())
	if sid == "" {
		return nil
	}
	live, err := h.sessions.BrowserSessionLive(ctx, sid)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	if !live {
		return fosite.ErrInvalidGrant.WithHint("The sign-in session this authorization code was issued through has ended.")
	}
	return nil
}

// signInSessionOf is the browser session (the ID token's sid) a code's
// session was issued through, or "".
func signInSessionOf(sess fosite.Session) string {
	s, ok := sess.(*session)
	if !ok || s.Claims == nil {
		return ""
	}
	sid, _ := s.Claims.Extra["sid"].(string)
	return sid
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
