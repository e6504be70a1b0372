package server_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// browser is a user agent: a cookie jar and a client that never follows
// redirects by itself, so each hop can be inspected.
type browser struct {
	t      *testing.T
	h      *harness
	jar    *cookiejar.Jar
	client *http.Client
}

func (h *harness) newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		Transport:     h.http.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &browser{t: t, h: h, jar: jar, client: client}
}

// page is one HTTP answer to the browser.
type page struct {
	URL      *url.URL
	Status   int
	Header   http.Header
	Body     string
	Location *url.URL // resolved against URL; nil without a Location header
	Cookies  []*http.Cookie
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatalf("read body: %v", err)
	}
	p := page{URL: req.URL, Status: res.StatusCode, Header: res.Header, Body: string(body), Cookies: res.Cookies()}
	if loc := res.Header.Get("Location"); loc != "" {
		u, err := req.URL.Parse(loc)
		if err != nil {
			b.t.Fatalf("bad Location %q: %v", loc, err)
		}
		p.Location = u
	}
	return p
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(rawURL string, v url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(v.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// onIssuer reports whether u points at the server under test.
func (b *browser) onIssuer(u *url.URL) bool {
	iss, _ := url.Parse(b.h.URL)
	return u.Scheme == iss.Scheme && u.Host == iss.Host
}

// follow follows redirects within the server (as a browser would, with
// GET) and stops at a page or at a redirect that leaves the server.
func (b *browser) follow(p page) page {
	b.t.Helper()
	for i := 0; p.Location != nil && b.onIssuer(p.Location); i++ {
		if i > 10 {
			b.t.Fatalf("redirect loop at %s", p.Location)
		}
		p = b.get(p.Location.String())
	}
	return p
}

// open GETs rawURL and follows redirects within the server.
func (b *browser) open(rawURL string) page {
	b.t.Helper()
	return b.follow(b.get(rawURL))
}

// cookie returns the browser's cookie name for the server, "" if none.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.h.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// submit fills form with values on top of its own fields (hidden inputs
// included) and posts it to its action.
func (b *browser) submit(p page, f htmlForm, values url.Values) page {
	b.t.Helper()
	v := url.Values{}
	for k, vs := range f.Fields {
		v[k] = append([]string(nil), vs...)
	}
	for k, vs := range values {
		v[k] = vs
	}
	action, err := p.URL.Parse(f.Action)
	if err != nil {
		b.t.Fatalf("form action %q: %v", f.Action, err)
	}
	if !strings.EqualFold(f.Method, http.MethodPost) {
		b.t.Fatalf("form method %q, want post", f.Method)
	}
	return b.post(action.String(), v)
}

// login fills and posts the login form on p.
func (b *browser) login(p page, email, password string) page {
	b.t.Helper()
	f := mustForm(b.t, p, "/login")
	return b.submit(p, f, url.Values{"username": {email}, "password": {password}})
}

// decide presses Allow or Deny on the consent page p.
func (b *browser) decide(p page, decision string) page {
	b.t.Helper()
	f := mustForm(b.t, p, "/consent")
	if !f.hasButton("decision", decision) {
		b.t.Fatalf("consent form has no %q button", decision)
	}
	return b.submit(p, f, url.Values{"decision": {decision}})
}

// authorize runs an authorization request to its end like a user who
// signs in as email (when asked) and allows (when asked), and returns the
// redirect that leaves the server.
func (b *browser) authorize(v url.Values, email, password string) *url.URL {
	b.t.Helper()
	p := b.open(b.h.acAuthorizeURL(v))
	for i := 0; i < 3 && p.Location == nil; i++ {
		switch {
		case hasForm(p, "/login"):
			p = b.follow(b.login(p, email, password))
		case hasForm(p, "/consent"):
			p = b.follow(b.decide(p, "allow"))
		default:
			b.t.Fatalf("unexpected page %d: %s", p.Status, p.Body)
		}
	}
	if p.Location == nil {
		b.t.Fatalf("authorization did not finish: %d %s", p.Status, p.Body)
	}
	return p.Location
}

// callback checks a redirect to redirectURI and returns its query.
func callback(t *testing.T, loc *url.URL, redirectURI string) url.Values {
	t.Helper()
	if loc == nil {
		t.Fatal("no redirect")
	}
	base := *loc
	base.RawQuery = ""
	if base.String() != redirectURI {
		t.Fatalf("redirected to %s, want %s", loc, redirectURI)
	}
	return loc.Query()
}

// acCode runs the flow for c as alice and returns the code and verifier.
func (b *browser) acCode(c testClient, scope string) (code, verifier string) {
	b.t.Helper()
	v, verifier := acParams(c, scope)
	q := callback(b.t, b.authorize(v, aliceEmail, alicePassword), acRedirectOf(c))
	if q.Get("code") == "" {
		b.t.Fatalf("no code in redirect: %v", q)
	}
	return q.Get("code"), verifier
}
