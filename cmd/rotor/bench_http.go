package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
)

// The load tool shares the machine's cores with the server it measures,
// so every microsecond it spends is one the server does not get. Its hot
// requests therefore go through fasthttp's client (no goroutines per
// connection, reused request and response buffers: about half the CPU
// of net/http's client per request here). The browser round trip of the
// authcode scenario keeps net/http for its cookie jar and redirects.

// fastClient sends the hot requests of the scenarios.
type fastClient struct {
	base  string // scheme://host
	hc    *fasthttp.HostClient
	basic string // Authorization header for the confidential client
}

func newFastClient(f benchFlags) (*fastClient, error) {
	u, err := url.Parse(trimURL(f.url))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--url %q: want http(s)://host[:port]", f.url)
	}
	hc := &fasthttp.HostClient{
		Addr:                          hostWithPort(u),
		IsTLS:                         u.Scheme == "https",
		MaxConns:                      2 * f.concurrency,
		MaxIdleConnDuration:           time.Minute,
		ReadTimeout:                   30 * time.Second,
		WriteTimeout:                  30 * time.Second,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
	}
	// RFC 6749 §2.3.1: the credentials are form-encoded before Basic.
	creds := url.QueryEscape(f.confID) + ":" + url.QueryEscape(f.confSecret)
	return &fastClient{base: u.Scheme + "://" + u.Host + u.Path, hc: hc,
		basic: "Basic " + base64.StdEncoding.EncodeToString([]byte(creds))}, nil
}

func hostWithPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Host + ":443"
	}
	return u.Host + ":80"
}

// tokenAnswer holds the fields the scenarios read from token and
// introspection responses.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Active       bool   `json:"active"`
}

// do sends one request and returns the 200 body; any other status is an
// error. The deadline is the context's, so a phase's end cuts requests off.
func (c *fastClient) do(ctx context.Context, method, path, form string, basic bool, answer *tokenAnswer) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(c.base + path)
	req.Header.SetMethod(method)
	if form != "" {
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBodyString(form)
	}
	if basic {
		req.Header.Set("Authorization", c.basic)
	}
	deadline, fromCtx := ctx.Deadline()
	if !fromCtx {
		deadline = time.Now().Add(30 * time.Second)
	}
	if err := c.hc.DoDeadline(req, resp, deadline); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// fasthttp can see the context's deadline pass before the
		// context's own timer has fired.
		if fromCtx && !time.Now().Before(deadline) {
			return context.DeadlineExceeded
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	body := resp.Body()
	if resp.StatusCode() != fasthttp.StatusOK {
		return fmt.Errorf("%s: status %d: %.200s", path, resp.StatusCode(), body)
	}
	if answer != nil {
		if err := json.Unmarshal(body, answer); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}
