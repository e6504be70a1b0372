package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// bffBrowser keeps cookies by hand: the BFF's are Secure, which Go's
// cookiejar would not send over http.
type bffBrowser struct {
	h   *bffHarness
	jar map[string]string
	// bffSetCookies collects every Set-Cookie line answered under /bff/.
	bffSetCookies []string
}

func (h *bffHarness) newBrowser() *bffBrowser {
	return &bffBrowser{h: h, jar: map[string]string{}}
}

func (b *bffBrowser) cookieHeader() string {
	var parts []string
	for k, v := range b.jar {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, "; ")
}

// send adds the jar's cookies (unless r sets Cookie) and keeps what the
// server sets.
func (b *bffBrowser) send(r bffReq) bffResp {
	b.h.t.Helper()
	hdr := map[string]string{}
	for k, v := range r.header {
		hdr[k] = v
	}
	if _, ok := hdr["Cookie"]; !ok && len(b.jar) > 0 {
		hdr["Cookie"] = b.cookieHeader()
	}
	r.header = hdr
	res := b.h.send(r)
	if strings.Contains(r.url, "/bff/") {
		b.bffSetCookies = append(b.bffSetCookies, res.Header.Values("Set-Cookie")...)
	}
	for _, c := range res.cookies {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c.Value
		}
	}
	return res
}

func (b *bffBrowser) get(u string, header map[string]string) bffResp {
	b.h.t.Helper()
	return b.send(bffReq{method: http.MethodGet, url: u, header: header})
}

// startLogin opens /bff/login and returns the authorization URL it
// redirects to.
func (b *bffBrowser) startLogin(returnTo string) *url.URL {
	b.h.t.Helper()
	r := b.get("/bff/login?"+url.Values{"return_to": {returnTo}}.Encode(), nil)
	if r.Status != http.StatusSeeOther {
		b.h.t.Fatalf("GET /bff/login: status %d, body %s", r.Status, r.Raw)
	}
	return r.location(b.h.t)
}

var (
	bffCSRFField  = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	bffQueryField = regexp.MustCompile(`name="authorize_query" value="([^"]*)"`)
)

// authorize signs in as email on the login page the authorization URL
// shows and returns the redirect to /bff/callback.
func (b *bffBrowser) authorize(authURL *url.URL, email, password string) *url.URL {
	t := b.h.t
	t.Helper()
	page := b.get(authURL.String(), nil)
	if page.Status != http.StatusOK {
		t.Fatalf("authorize: status %d, body %s", page.Status, page.Raw)
	}
	csrf := bffCSRFField.FindSubmatch(page.Raw)
	query := bffQueryField.FindSubmatch(page.Raw)
	if csrf == nil || query == nil {
		t.Fatalf("login page without the hidden fields: %s", page.Raw)
	}
	form := url.Values{
		"csrf_token":      {html.UnescapeString(string(csrf[1]))},
		"authorize_query": {html.UnescapeString(string(query[1]))},
		"username":        {email},
		"password":        {password},
	}
	r := b.send(bffReq{method: http.MethodPost, url: "/login", body: form.Encode(),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST /login: status %d, body %s", r.Status, r.Raw)
	}
	next := authURL.ResolveReference(r.location(t))
	r = b.get(next.String(), nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("GET %s: status %d, body %s", next.Path, r.Status, r.Raw)
	}
	cb := next.ResolveReference(r.location(t))
	if cb.Path != "/bff/callback" || cb.Query().Get("code") == "" {
		t.Fatalf("authorization redirected to %s, want /bff/callback with a code", cb)
	}
	return cb
}

// signIn runs the whole sign-in as alice and returns the final redirect;
// afterwards the jar holds the session cookie.
func (b *bffBrowser) signIn(returnTo string) bffResp {
	b.h.t.Helper()
	cb := b.authorize(b.startLogin(returnTo), aliceEmail, alicePassword)
	r := b.get(cb.String(), nil)
	if r.Status != http.StatusSeeOther || b.jar[bffSessionName] == "" {
		b.h.t.Fatalf("GET /bff/callback: status %d, session cookie %v, body %s", r.Status, b.jar[bffSessionName] != "", r.Raw)
	}
	return r
}

// session is the jar's BFF session cookie value.
func (b *bffBrowser) session() string { return b.jar[bffSessionName] }

// api calls /bff/api/<path> as the SPA would: cookie plus X-CSRF.
func (b *bffBrowser) api(method, path string) bffResp {
	b.h.t.Helper()
	return b.send(bffReq{method: method, url: "/bff/api/" + path, header: map[string]string{"X-CSRF": "1"}})
}

// withSession builds the headers of a request that presents cookie as the
// BFF session, plus extra.
func withSession(cookie string, extra map[string]string) map[string]string {
	h := map[string]string{"Cookie": bffSessionName + "=" + cookie}
	for k, v := range extra {
		h[k] = v
	}
	return h
}
