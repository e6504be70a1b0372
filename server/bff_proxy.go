package server

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// csrf guards every BFF call that acts with the user's tokens. X-CSRF can't
// be sent cross-site without a CORS preflight, which Rotor never grants;
// Origin (or, without it, Referer) must also be this site when present.
func (b *bff) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Header.Get("X-CSRF") != "1" {
			return bffError(c, http.StatusForbidden, "csrf", "The X-CSRF: 1 header is required.")
		}
		if o := r.Header.Get("Origin"); o != "" {
			if o != b.origin {
				return bffError(c, http.StatusForbidden, "csrf", "Cross-origin request refused.")
			}
		} else if ref := r.Header.Get("Referer"); ref != "" {
			u, err := url.Parse(ref)
			if err != nil || u.Scheme+"://"+u.Host != b.origin {
				return bffError(c, http.StatusForbidden, "csrf", "Cross-origin request refused.")
			}
		}
		return next(c)
	}
}

// proxyHeaders are the request headers passed to the upstream API; the
// cookie, the CSRF header and any Authorization the browser sent are not.
var proxyHeaders = []string{"Accept", "Accept-Language", "Content-Type", "Content-Language",
	"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "User-Agent"}

// api forwards /bff/api/* to the upstream API with the session's access
// token, refreshed first when due.
func (b *bff) api(c echo.Context) error {
	// The path as the browser sent it, still escaped: decoding it here and
	// escaping it again would decode it twice upstream (%252e%252e → ..).
	rest := strings.TrimPrefix(c.Request().URL.EscapedPath(), "/bff/api")
	out, ok := b.upstreamURL(rest)
	if !ok {
		return bffError(c, http.StatusBadRequest, "invalid_request", "The API path is not valid.")
	}
	sess, err := b.current(c)
	if err != nil {
		return b.sessionFailure(c, err)
	}
	token, err := b.freshAccessToken(c, sess)
	if err != nil {
		return b.sessionFailure(c, err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := *out
			pr.Out.URL = &u
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			pr.Out.Host = b.upstream.Host
			pr.Out.Header = http.Header{}
			for _, h := range proxyHeaders {
				if v := pr.In.Header.Values(h); len(v) > 0 {
					pr.Out.Header[h] = v
				}
			}
			pr.Out.Header.Set("Authorization", "Bearer "+token)
		},
		ModifyResponse: func(resp *http.Response) error {
			// The API shares the BFF's origin: it must not set cookies there.
			resp.Header.Del("Set-Cookie")
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			b.s.log.Warn("bff upstream failed", "request_id", requestID(c), "cause", err.Error())
			_ = bffError(c, http.StatusBadGateway, "bad_gateway", "The API did not answer.")
		},
	}
	if b.isLocal() {
		proxy.Transport = inProcess{handler: b.s.echo}
	}
	proxy.ServeHTTP(c.Response(), c.Request())
	return nil
}

// upstreamURL maps the escaped path after /bff/api onto the upstream,
// under its base path: a dot segment (escaped or not) that would climb out
// of it is refused rather than resolved.
func (b *bff) upstreamURL(rest string) (*url.URL, bool) {
	for _, seg := range strings.Split(rest, "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil || dec == "." || dec == ".." {
			return nil, false
		}
	}
	u := *b.upstream
	u.RawPath = strings.TrimSuffix(b.upstream.EscapedPath(), "/") + rest
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, false
	}
	u.Path = p
	return &u, true
}

// isLocal: the upstream is this server (the demo API); skip the network.
func (b *bff) isLocal() bool {
	return b.upstream.Scheme+"://"+b.upstream.Host == b.origin
}
