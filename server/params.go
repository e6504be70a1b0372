package server

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ory/fosite"
)

// Every parameter whose value selects behaviour is read once, strictly,
// here: the value Rotor acts on (the sign-in gate, the throttle, the audit
// trail, the metrics) must be the value fosite acts on. fosite splits such
// values on spaces and trims each part (fosite.RemoveEmpty), so
// "password\t" or " password" would be the password grant to fosite and
// something else to a comparison of the raw value. A value is therefore
// accepted only as the exact name fosite's reading also yields.

// errUnsupportedTokenType is RFC 7009 §2.2.1's error for a revocation
// request about a token type the server does not know.
var errUnsupportedTokenType = &fosite.RFC6749Error{
	ErrorField:       "unsupported_token_type",
	DescriptionField: "The authorization server does not support the revocation of the presented token type.",
	CodeField:        http.StatusBadRequest,
}

// parseGrantType reads the token request's grant_type (RFC 6749 §4.1.3,
// §4.3.2, §4.4.2, §6): exactly one grant name Rotor serves. A missing or
// empty value, or one with whitespace or control characters (several
// grants, or a spelling fosite would trim to a name), is invalid_request;
// a well-formed name Rotor doesn't serve, in any case, is
// unsupported_grant_type (§5.2).
func parseGrantType(form url.Values) (string, error) {
	v := form.Get("grant_type")
	switch {
	case v == "":
		return "", fosite.ErrInvalidRequest.WithHint("The 'grant_type' parameter is missing.")
	case !isToken(v):
		return "", fosite.ErrInvalidRequest.WithHint("The 'grant_type' parameter must be exactly one grant type.")
	case !servesGrant(v):
		return "", fosite.ErrUnsupportedGrantType.WithHintf("The grant type '%s' is not supported.", truncate(v, 64))
	}
	return v, nil
}

// grantLabel is the grant_type metrics and logs name a token request by:
// the parsed grant, or "other" (bounded label values).
func grantLabel(form url.Values) string {
	if g, err := parseGrantType(form); err == nil {
		return g
	}
	return "other"
}

// isToken reports whether v is one printable ASCII word: no space, no
// control character, nothing fosite's reading would split or trim.
func isToken(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return false
		}
	}
	return v != ""
}

// isText reports whether v is UTF-8 text without NUL. RFC 6749 Appendix
// A's parameters are made of Unicode characters other than NUL (VSCHAR,
// NQSCHAR, UNICODECHARNOCRLF), and PostgreSQL can hold nothing else as
// text: a lookup, throttle key or audit row made from such a value would
// fail there, not answer.
func isText(v string) bool {
	return utf8.ValidString(v) && strings.IndexByte(v, 0) < 0
}

// parseResponseType reads the authorization request's response_type
// (RFC 6749 §3.1.1): Rotor serves only "code". A value fosite would split
// or trim is invalid_request; any other word is unsupported_response_type
// (§4.1.2.1).
func parseResponseType(form url.Values) error {
	v := form.Get("response_type")
	switch {
	case v == "code":
		return nil
	case v == "":
		return fosite.ErrInvalidRequest.WithHint("The 'response_type' parameter is missing.")
	case !isToken(v):
		return fosite.ErrInvalidRequest.WithHint("The 'response_type' parameter must be exactly 'code'.")
	}
	return fosite.ErrUnsupportedResponseType.WithHintf("The response type '%s' is not supported.", truncate(v, 64))
}

// promptNames are the prompt values of OIDC Core §3.1.2.1.
var promptNames = []string{"none", "login", "consent", "select_account"}

// parsePrompt reads OIDC Core §3.1.2.1's prompt: known values, each once,
// separated by single spaces, with none alone. Anything else is
// invalid_request, since fosite would read a tab-separated or padded list
// differently.
func parsePrompt(form url.Values) (map[string]bool, error) {
	out := map[string]bool{}
	v := form.Get("prompt")
	if v == "" {
		return out, nil
	}
	for _, p := range strings.Split(v, " ") {
		if !slices.Contains(promptNames, p) || out[p] {
			return nil, fosite.ErrInvalidRequest.WithHint("The 'prompt' parameter must be distinct values of none, login, consent and select_account, separated by single spaces.")
		}
		out[p] = true
	}
	if out["none"] && len(out) > 1 {
		return nil, fosite.ErrInvalidRequest.WithHint("The prompt value 'none' can't be combined with other values.")
	}
	return out, nil
}

// tokenTypeHints are the hints of RFC 7009 §2.1 and RFC 7662 §2.1.
var tokenTypeHints = []string{"access_token", "refresh_token"}

// checkRevocationHint reads a revocation request's token_type_hint
// (RFC 7009 §2.1): absent, empty (an omitted parameter, RFC 6749 §3.1) or
// exactly access_token or refresh_token. Anything else, including case and
// whitespace variants, is unsupported_token_type (RFC 7009 §2.2.1): the
// server names no such type, and fosite would compare the raw value.
func checkRevocationHint(form url.Values) error {
	if v := form.Get("token_type_hint"); v != "" && !slices.Contains(tokenTypeHints, v) {
		return errUnsupportedTokenType.WithHintf("The token type hint '%s' is not supported.", truncate(v, 64))
	}
	return nil
}

// dropUnknownIntrospectionHint removes an introspection request's
// token_type_hint unless it is exactly access_token or refresh_token. RFC
// 7662 §2.1 lets the server ignore a hint and requires it to search every
// token type anyway; removing it makes fosite ignore it too, so no
// spelling is read one way by Rotor and another by fosite.
func dropUnknownIntrospectionHint(form url.Values) {
	if !slices.Contains(tokenTypeHints, form.Get("token_type_hint")) {
		form.Del("token_type_hint")
	}
}
