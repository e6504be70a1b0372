package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"rotor/storage"
)

// Clients of the authorization-code tests, registered by newOIDCHarness
// next to the harness's own fixtures.
const (
	acAppRedirect      = "https://app.example.com/callback"
	acAppLoopback      = "http://127.0.0.1:8765/callback"
	acAppLogout        = "https://app.example.com/signed-out"
	acAppName          = "Example Notes"
	acSPARedirect      = "https://spa.example.com/cb"
	acSPALogout        = "https://spa.example.com/bye"
	acLegacyRedirect   = "https://legacy.example.com/cb"
	acFirstRedirect    = "https://first.example.com/cb"
	acPublicOptRedirct = "https://public-optional.example.com/cb"
)

var (
	// acApp is a confidential third-party web app: consent required.
	acApp = testClient{ID: "notes", Secret: "notes-secret-0123456789abcdef0123456789", AuthMethod: "client_secret_basic",
		Grants: []string{"authorization_code", "refresh_token"}}
	// acSPA is a public client (no secret, PKCE mandatory).
	acSPA = testClient{ID: "spa", Public: true, AuthMethod: "none",
		Grants: []string{"authorization_code", "refresh_token"}}
	// acLegacy is confidential and registered with PKCEOptional.
	acLegacy = testClient{ID: "legacy", Secret: "legacy-secret-0123456789abcdef012345678", AuthMethod: "client_secret_post",
		Grants: []string{"authorization_code", "refresh_token"}}
	// acPublicOptional is public with PKCEOptional set: PKCE is still required.
	acPublicOptional = testClient{ID: "public-optional", Public: true, AuthMethod: "none",
		Grants: []string{"authorization_code"}}
	// acFirstParty is a first-party app: never asks for consent.
	acFirstParty = testClient{ID: "first", Secret: "first-secret-0123456789abcdef01234567890", AuthMethod: "client_secret_basic",
		Grants: []string{"authorization_code", "refresh_token"}}
	// acPassword may use the password grant with openid.
	acPassword = testClient{ID: "pwapp", Secret: "pwapp-secret-0123456789abcdef0123456789", AuthMethod: "client_secret_basic",
		Grants: []string{"password", "refresh_token", "client_credentials"}}
)

// newOIDCHarness is newHarness plus the clients above.
func newOIDCHarness(t *testing.T, cfg config) *harness {
	t.Helper()
	h := newHarness(t, cfg)
	hasher := testSecretHasher()
	scopes := []string{"openid", "email", "offline_access", "read"}
	for _, nc := range []storage.NewClient{
		{ID: acApp.ID, Name: acAppName, RedirectURIs: []string{acAppRedirect, acAppLoopback}, PostLogoutRedirectURIs: []string{acAppLogout}},
		{ID: acSPA.ID, Name: "Example SPA", Public: true, RedirectURIs: []string{acSPARedirect}, PostLogoutRedirectURIs: []string{acSPALogout}},
		{ID: acLegacy.ID, Name: "Legacy Portal", PKCEOptional: true, RedirectURIs: []string{acLegacyRedirect}},
		{ID: acPublicOptional.ID, Name: "Public Optional", Public: true, PKCEOptional: true, RedirectURIs: []string{acPublicOptRedirct}},
		{ID: acFirstParty.ID, Name: "Rotor Console", FirstParty: true, RedirectURIs: []string{acFirstRedirect}},
		{ID: acPassword.ID, Name: "Mobile", FirstParty: true},
	} {
		tc := acClientByID(nc.ID)
		nc.TokenEndpointAuthMethod = tc.AuthMethod
		nc.GrantTypes = tc.Grants
		nc.Scopes = scopes
		nc.Audience = []string{testAudience}
		if len(nc.RedirectURIs) > 0 {
			nc.ResponseTypes = []string{"code"}
		}
		if !tc.Public {
			nc.SecretHash, _ = hasher.Hash(context.Background(), []byte(tc.Secret))
		}
		if err := h.store.CreateClient(context.Background(), nc); err != nil {
			t.Fatalf("create client %s: %v", nc.ID, err)
		}
	}
	return h
}

func acClientByID(id string) testClient {
	for _, c := range []testClient{acApp, acSPA, acLegacy, acPublicOptional, acFirstParty, acPassword} {
		if c.ID == id {
			return c
		}
	}
	panic("unknown client " + id)
}

// acRedirectOf is the first registered redirect URI of an authorization-code client.
func acRedirectOf(c testClient) string {
	switch c.ID {
	case acApp.ID:
		return acAppRedirect
	case acSPA.ID:
		return acSPARedirect
	case acLegacy.ID:
		return acLegacyRedirect
	case acPublicOptional.ID:
		return acPublicOptRedirct
	case acFirstParty.ID:
		return acFirstRedirect
	}
	panic("no redirect URI for " + c.ID)
}

// acCtx makes x/oauth2 and go-oidc use the harness's HTTP client.
func (h *harness) acCtx() context.Context {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, h.http)
	return oidc.ClientContext(ctx, h.http)
}

// acOAuth2Config is an x/oauth2 client for the authorization code flow.
func (h *harness) acOAuth2Config(c testClient, scopes ...string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if c.AuthMethod != "client_secret_basic" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		RedirectURL:  acRedirectOf(c),
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   h.URL + "/oauth2/authorize",
			TokenURL:  h.URL + "/oauth2/token",
			AuthStyle: style,
		},
	}
}

// acVerifier verifies ID tokens for clientID the way a relying party
// would: go-oidc with discovery and the live JWKS, nothing configured.
func (h *harness) acVerifier(t *testing.T, clientID string) *oidc.IDTokenVerifier {
	t.Helper()
	p, err := oidc.NewProvider(h.acCtx(), h.URL)
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	return p.Verifier(&oidc.Config{ClientID: clientID})
}

// acParams is an authorization request for c with a fresh S256 PKCE
// challenge; it returns the parameters and the verifier.
func acParams(c testClient, scope string) (url.Values, string) {
	verifier := oauth2.GenerateVerifier()
	v := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ID},
		"redirect_uri":          {acRedirectOf(c)},
		"scope":                 {scope},
		"state":                 {"state-" + oauth2.GenerateVerifier()[:16]},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	return v, verifier
}

func (h *harness) acAuthorizeURL(v url.Values) string {
	return h.URL + "/oauth2/authorize?" + v.Encode()
}

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

// exchange redeems a code at the token endpoint as c.
func (h *harness) exchange(c testClient, code, verifier, redirectURI string) response {
	h.t.Helper()
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		v.Set("code_verifier", verifier)
	}
	return h.form("/oauth2/token", c, v)
}

// codeTokens is a successful code exchange with its ID token.
type codeTokens struct {
	tokens
	IDToken string
}

func (h *harness) mustExchange(c testClient, code, verifier string) codeTokens {
	h.t.Helper()
	r := h.exchange(c, code, verifier, acRedirectOf(c))
	tk := h.mustTokens(r)
	return codeTokens{tokens: tk, IDToken: r.str("id_token")}
}

// userinfo calls /userinfo with a Bearer header (none when token is "").
func (h *harness) userinfo(token string) response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL+"/userinfo", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(req)
}

// browserSessions counts stored browser sessions (ended ones included).
func (h *harness) browserSessions() int {
	h.t.Helper()
	return h.queryInt(h.openDB(), "SELECT COUNT(*) FROM browser_sessions")
}

// htmlForm is a <form> read from a page.
type htmlForm struct {
	Action, Method string
	Fields         url.Values          // named <input>s with their values (hidden ones included)
	Inputs         []map[string]string // every <input>'s attributes
	Buttons        []map[string]string // every <button>'s attributes
}

func (f htmlForm) input(name string) map[string]string {
	for _, in := range f.Inputs {
		if in["name"] == name {
			return in
		}
	}
	return nil
}

func (f htmlForm) hasButton(name, value string) bool {
	for _, b := range f.Buttons {
		if b["name"] == name && b["value"] == value {
			return true
		}
	}
	return false
}

func attrs(n *html.Node) map[string]string {
	m := map[string]string{}
	for _, a := range n.Attr {
		m[a.Key] = a.Val
	}
	return m
}

// parseHTML parses a page body; a body that isn't HTML fails the test.
func parseHTML(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

// forms returns every form on the page.
func forms(t *testing.T, body string) []htmlForm {
	t.Helper()
	var out []htmlForm
	walk(parseHTML(t, body), func(n *html.Node) {
		if n.Type != html.ElementNode || n.Data != "form" {
			return
		}
		a := attrs(n)
		f := htmlForm{Action: a["action"], Method: a["method"], Fields: url.Values{}}
		walk(n, func(c *html.Node) {
			if c.Type != html.ElementNode {
				return
			}
			switch c.Data {
			case "input":
				ca := attrs(c)
				f.Inputs = append(f.Inputs, ca)
				if ca["name"] != "" {
					f.Fields.Add(ca["name"], ca["value"])
				}
			case "button":
				f.Buttons = append(f.Buttons, attrs(c))
			}
		})
		out = append(out, f)
	})
	return out
}

func hasForm(p page, action string) bool {
	if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
		return false
	}
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return false
	}
	found := false
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" && attrs(n)["action"] == action {
			found = true
		}
	})
	return found
}

// mustForm returns the page's form that posts to action.
func mustForm(t *testing.T, p page, action string) htmlForm {
	t.Helper()
	for _, f := range forms(t, p.Body) {
		if f.Action == action {
			return f
		}
	}
	t.Fatalf("no form with action %s on the page (status %d):\n%s", action, p.Status, p.Body)
	return htmlForm{}
}

// textOf returns the text of the first element matching match.
func textOf(t *testing.T, body string, match func(n *html.Node) bool) string {
	t.Helper()
	var buf bytes.Buffer
	done := false
	walk(parseHTML(t, body), func(n *html.Node) {
		if done || n.Type != html.ElementNode || !match(n) {
			return
		}
		done = true
		walk(n, func(c *html.Node) {
			if c.Type == html.TextNode {
				buf.WriteString(c.Data)
			}
		})
	})
	return strings.Join(strings.Fields(buf.String()), " ")
}

func byClass(tag, class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Data == tag && strings.Contains(" "+attrs(n)["class"]+" ", " "+class+" ")
	}
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

// wantPageHeaders checks the headers every server-rendered page needs.
func wantPageHeaders(t *testing.T, p page) {
	t.Helper()
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	if got := p.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q, want frame-ancestors 'none'", csp)
	}
	if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	viewport := false
	walk(parseHTML(t, p.Body), func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "meta" && attrs(n)["name"] == "viewport" &&
			strings.Contains(attrs(n)["content"], "width=device-width") {
			viewport = true
		}
	})
	if !viewport {
		t.Error("page has no viewport meta tag")
	}
}

// wantErrorPage checks a rejected request: an HTML error page with status,
// and no redirect at all.
func wantErrorPage(t *testing.T, p page, status int) {
	t.Helper()
	if p.Status != status {
		t.Errorf("status = %d, want %d (body %s)", p.Status, status, p.Body)
	}
	if loc := p.Header.Get("Location"); loc != "" {
		t.Errorf("error page redirects to %s", loc)
	}
	wantPageHeaders(t, p)
	if textOf(t, p.Body, byClass("p", "error")) == "" {
		t.Errorf("error page without an error message: %s", p.Body)
	}
}

// wantErrorRedirect checks an authorization error sent to redirectURI:
// 303, error, the state byte for byte, and iss.
func (h *harness) wantErrorRedirect(t *testing.T, p page, redirectURI, code, state string) {
	t.Helper()
	if p.Status != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303 (body %s)", p.Status, p.Body)
	}
	q := callback(t, p.Location, redirectURI)
	if q.Get("error") != code {
		t.Errorf("error = %q, want %q (%s)", q.Get("error"), code, q.Get("error_description"))
	}
	if q.Has("code") {
		t.Error("error redirect carries a code")
	}
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("iss") != h.URL {
		t.Errorf("iss = %q, want %q", q.Get("iss"), h.URL)
	}
}

// jwtHeader decodes a JWT's protected header without verifying it.
func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatalf("decode header: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("unmarshal header: %v", err)
	}
	return m
}

// acJWKS fetches the published key set.
func (h *harness) acJWKS(t *testing.T) jose.JSONWebKeySet {
	t.Helper()
	res, err := h.http.Get(h.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatalf("decode JWKS: %v", err)
	}
	return set
}

// atHash is OIDC Core §3.1.3.6's at_hash for an RS256 ID token.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
