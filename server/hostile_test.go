package server_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// hostileCase is one malformed or malicious request and the exact answer
// it must get.
type hostileCase struct {
	name   string
	method string // default GET without body, POST with one
	// target is the path and raw query; {csrf} and {aq} in target and
	// body are replaced by a valid CSRF token and authorize_query.
	target      string
	contentType string // default form encoding when there is a body
	body        string
	header      map[string]string
	basic       *testClient
	status      int
	// code is the JSON "error" of a JSON answer; page means an HTML page.
	code string
	page bool
	// check, if set, looks further at the answer.
	check func(t *testing.T, r response)
}

const formCT = "application/x-www-form-urlencoded"

func basicRaw(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }

// noInjectedHeader fails if a CRLF in a parameter became a header or a
// cookie, or reached a header unencoded.
func noInjectedHeader(t *testing.T, r response) {
	t.Helper()
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") || strings.Contains(v, "injected=1") || strings.EqualFold(k, "Injected") {
				t.Errorf("injected header: %s: %q", k, v)
			}
		}
	}
}

// TestHostileInput: requests built to break the parsers, the database
// layer or the response writer get precise 4xx answers (never a 5xx), and
// afterwards the server is healthy and signs users in as before.
func TestHostileInput(t *testing.T) {
	a := newAbuseHarness(t, abuseConfig{oidc: true, bff: true})
	c := clientFrom(t, attackerIP)

	// A valid CSRF cookie (in c's jar) and token, and a valid authorization
	// request, as a login page hands them out.
	v, _ := acParams(acFirstParty, "openid")
	req, _ := http.NewRequest(http.MethodGet, a.acAuthorizeURL(v), nil)
	lp := a.sendWith(c, req)
	if lp.Status != http.StatusOK {
		t.Fatalf("login page: %d %s", lp.Status, lp.Raw)
	}
	lf := mustForm(t, page{Status: lp.Status, Header: lp.Header, Body: string(lp.Raw)}, "/login")
	csrf, aq := lf.Fields.Get("csrf_token"), lf.Fields.Get("authorize_query")
	if csrf == "" || aq == "" {
		t.Fatal("login form without csrf_token or authorize_query")
	}

	ten := strings.Repeat("x", 10<<10)
	hundred := strings.Repeat("y", 100<<10)
	pw := func(user, pass string) string {
		return url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}}.Encode()
	}
	login := func(extra string) string { return "csrf_token={csrf}&authorize_query={aq}&" + extra }
	xcsrf := map[string]string{"X-CSRF": "1"}

	tests := []hostileCase{
		// Token endpoint.
		{name: "token: NUL byte in username", target: "/oauth2/token", body: pw("alice\x00@example.com", "x"), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "token: invalid UTF-8 password", target: "/oauth2/token", body: pw(aliceEmail, "\xff\xfe\xfd"), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "token: raw invalid UTF-8 in the body", target: "/oauth2/token", body: "grant_type=password&username=\xff\xfe&password=\xc0\xaf", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "token: 10 KB username", target: "/oauth2/token", body: pw(ten+"@example.com", "x"), basic: &webClient, status: 400, code: "invalid_grant"},
		{name: "token: 10 KB password", target: "/oauth2/token", body: pw(bobEmail, ten), basic: &webClient, status: 400, code: "invalid_grant"},
		{name: "token: duplicate username", target: "/oauth2/token", body: pw(aliceEmail, alicePassword) + "&username=" + url.QueryEscape(bobEmail), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "token: JSON body", target: "/oauth2/token", contentType: "application/json", body: `{"grant_type":"password","username":"alice@example.com","password":"x"}`, basic: &webClient, status: 400, code: "invalid_request"},
		{name: "token: text/plain body", target: "/oauth2/token", contentType: "text/plain", body: pw(aliceEmail, alicePassword), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "token: XML body", target: "/oauth2/token", contentType: "application/xml", body: "<grant_type>password</grant_type>", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "token: 100 KB body", target: "/oauth2/token", body: pw(aliceEmail, alicePassword) + "&pad=" + hundred, basic: &webClient, status: 400, code: "invalid_request"},
		{name: "token: DELETE", method: http.MethodDelete, target: "/oauth2/token", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "token: SQL injection in username", target: "/oauth2/token", body: pw("' OR '1'='1' --", "' OR '1'='1"), basic: &webClient, status: 400, code: "invalid_grant"},
		{name: "token: SQL injection in client_id", target: "/oauth2/token", body: pw(aliceEmail, alicePassword) + "&client_id=" + url.QueryEscape("x' OR '1'='1"), status: 401, code: "invalid_client"},
		{name: "token: absurd grant_type", target: "/oauth2/token", body: "grant_type=..%2F..%2Fetc%2Fpasswd", basic: &webClient, status: 400, code: "unsupported_grant_type"},
		{name: "token: 10 KB grant_type", target: "/oauth2/token", body: "grant_type=" + ten, basic: &webClient, status: 400, code: "unsupported_grant_type"},
		{name: "token: grant_type with NUL", target: "/oauth2/token", body: "grant_type=password%00", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "token: bad base64 in Basic", target: "/oauth2/token", body: pw(aliceEmail, alicePassword), header: map[string]string{"Authorization": "Basic %%%not-base64%%%"}, status: 401, code: "invalid_client"},
		{name: "token: Basic without a colon", target: "/oauth2/token", body: pw(aliceEmail, alicePassword), header: map[string]string{"Authorization": basicRaw("web")}, status: 401, code: "invalid_client"},
		{name: "token: Basic with bad percent-encoding", target: "/oauth2/token", body: pw(aliceEmail, alicePassword), header: map[string]string{"Authorization": basicRaw("%zz:%zz")}, status: 400, code: "invalid_request"},
		{name: "token: Basic with NUL", target: "/oauth2/token", body: pw(aliceEmail, alicePassword), header: map[string]string{"Authorization": basicRaw("web\x00:secret\x00")}, status: 400, code: "invalid_request"},
		{name: "token: huge Authorization header", target: "/oauth2/token", body: pw(aliceEmail, alicePassword), header: map[string]string{"Authorization": "Basic " + strings.Repeat("QUFB", 15<<10)}, status: 401, code: "invalid_client"},
		{name: "token: Bearer instead of Basic", target: "/oauth2/token", body: pw(aliceEmail, alicePassword), header: map[string]string{"Authorization": "Bearer x"}, status: 401, code: "invalid_client"},
		{name: "token: 10 KB scope", target: "/oauth2/token", body: pw(aliceEmail, alicePassword) + "&scope=" + ten, basic: &webClient, status: 400, code: "invalid_scope"},
		{name: "token: refresh token with NUL and CRLF", target: "/oauth2/token", body: "grant_type=refresh_token&refresh_token=ory_rt_x%00%0d%0a.y", basic: &webClient, status: 400, code: "invalid_request"},

		// Authorization endpoint.
		{name: "authorize: unknown client", target: "/oauth2/authorize?response_type=code&client_id=nobody", status: 400, page: true},
		{name: "authorize: NUL in client_id", target: "/oauth2/authorize?response_type=code&client_id=first%00", status: 400, page: true},
		{name: "authorize: invalid UTF-8 client_id", target: "/oauth2/authorize?response_type=code&client_id=%ff%fe", status: 400, page: true},
		{name: "authorize: SQL injection in client_id", target: "/oauth2/authorize?response_type=code&client_id=" + url.QueryEscape("first' OR '1'='1"), status: 400, page: true},
		{name: "authorize: redirect_uri with CRLF", target: "/oauth2/authorize?" + withParam(v, "redirect_uri", acFirstRedirect+"\r\nLocation: https://evil.example").Encode(), status: 400, page: true},
		{name: "authorize: CRLF in state", target: "/oauth2/authorize?" + withParam(v, "state", "abcdefgh\r\nSet-Cookie: injected=1").Encode(), status: 200, page: true, check: noInjectedHeader},
		{name: "authorize: CRLF in state of an error redirect", target: "/oauth2/authorize?" + withParam(withParam(v, "state", "abcdefgh\r\nSet-Cookie: injected=1"), "response_type", "token").Encode(), status: 303,
			check: func(t *testing.T, r response) {
				noInjectedHeader(t, r)
				u, err := url.Parse(r.Header.Get("Location"))
				if err != nil || u.Query().Get("error") != "unsupported_response_type" || u.Query().Get("state") != "abcdefgh\r\nSet-Cookie: injected=1" {
					t.Errorf("Location %q, want unsupported_response_type with the state encoded", r.Header.Get("Location"))
				}
			}},
		{name: "authorize: duplicate client_id", target: "/oauth2/authorize?" + v.Encode() + "&client_id=spa", status: 400, page: true},
		{name: "authorize: duplicate redirect_uri", target: "/oauth2/authorize?" + v.Encode() + "&redirect_uri=" + url.QueryEscape(acFirstRedirect), status: 400, page: true},
		{name: "authorize: 10 KB scope", target: "/oauth2/authorize?" + withParam(v, "scope", ten).Encode(), status: 303, check: wantRedirectError("invalid_scope")},
		{name: "authorize: POST", method: http.MethodPost, target: "/oauth2/authorize", body: v.Encode(), status: 405, code: "Method Not Allowed"},

		// Revocation and introspection.
		{name: "revoke: JSON body", target: "/oauth2/revoke", contentType: "application/json", body: `{"token":"x"}`, basic: &webClient, status: 400, code: "invalid_request"},
		{name: "revoke: 10 KB token", target: "/oauth2/revoke", body: "token=" + ten, basic: &webClient, status: 200},
		{name: "revoke: NUL and CRLF token", target: "/oauth2/revoke", body: "token=%00%0d%0a", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "revoke: absurd token_type_hint", target: "/oauth2/revoke", body: "token=x&token_type_hint=" + ten, basic: &webClient, status: 400, code: "unsupported_token_type"},
		{name: "revoke: no client authentication", target: "/oauth2/revoke", body: "token=x", status: 401, code: "invalid_client"},
		{name: "revoke: duplicate token", target: "/oauth2/revoke", body: "token=x&token=y", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "introspect: invalid UTF-8 token", target: "/oauth2/introspect", body: "token=%ff%fe%fd", basic: &rsClient, status: 400, code: "invalid_request"},
		{name: "introspect: 10 KB JWT-looking token", target: "/oauth2/introspect", body: "token=eyJ" + ten + "." + ten + ".x", basic: &rsClient, status: 200, check: wantInactive},
		{name: "introspect: multipart body", target: "/oauth2/introspect", contentType: "multipart/form-data; boundary=x", body: "--x\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nx\r\n--x--\r\n", basic: &rsClient, status: 400, code: "invalid_request"},
		{name: "introspect: bad base64 in Basic", target: "/oauth2/introspect", body: "token=x", header: map[string]string{"Authorization": "Basic ****"}, status: 401, code: "invalid_client"},

		// Login form.
		{name: "login: no CSRF token", target: "/login", body: "username=a&password=b&authorize_query={aq}", status: 403, page: true},
		{name: "login: forged CSRF token", target: "/login", body: "csrf_token=" + strings.Repeat("A", 43) + "&authorize_query={aq}&username=a&password=b", status: 403, page: true},
		{name: "login: JSON body", target: "/login", contentType: "application/json", body: `{"csrf_token":"x","username":"a","password":"b"}`, status: 403, page: true},
		{name: "login: GET", method: http.MethodGet, target: "/login", status: 405, code: "Method Not Allowed"},
		{name: "login: NUL in authorize_query", target: "/login", body: "csrf_token={csrf}&authorize_query=client_id%3Dfirst%2500&username=a&password=b", status: 400, page: true},
		{name: "login: 10 KB authorize_query", target: "/login", body: "csrf_token={csrf}&authorize_query=" + ten + "&username=a&password=b", status: 400, page: true},
		{name: "login: malformed authorize_query", target: "/login", body: "csrf_token={csrf}&authorize_query=%25zz&username=a&password=b", status: 400, page: true},
		{name: "login: 10 KB username", target: "/login", body: login("username=" + ten + "&password=b"), status: 400, page: true},
		{name: "login: 10 KB password", target: "/login", body: login("username=carol%40example.com&password=" + ten), status: 400, page: true},
		{name: "login: SQL injection in username", target: "/login", body: login("username=" + url.QueryEscape("' OR 1=1; DROP TABLE users; --") + "&password=x"), status: 401, page: true},
		{name: "login: invalid UTF-8 username", target: "/login", body: login("username=%ff%fe%40example.com&password=x"), status: 400, page: true},
		{name: "login: NUL in password", target: "/login", body: login("username=dave%40example.com&password=a%00b"), status: 400, page: true},
		{name: "login: 100 KB body", target: "/login", body: login("username=a&password=b&pad=" + hundred), status: 413, code: "Request Entity Too Large"},

		// Consent form.
		{name: "consent: no CSRF token", target: "/consent", body: "decision=allow&authorize_query={aq}", status: 403, page: true},
		{name: "consent: GET", method: http.MethodGet, target: "/consent", status: 405, code: "Method Not Allowed"},
		{name: "consent: no session", target: "/consent", body: "csrf_token={csrf}&authorize_query={aq}&decision=allow", status: 303,
			check: func(t *testing.T, r response) {
				if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/oauth2/authorize?") {
					t.Errorf("Location %q, want the authorization request again", loc)
				}
			}},
		{name: "consent: header injection in authorize_query", target: "/consent", body: "csrf_token={csrf}&authorize_query=" + url.QueryEscape("client_id=first&state=abcdefgh%0d%0aSet-Cookie:%20injected=1"), status: 303,
			check: func(t *testing.T, r response) {
				noInjectedHeader(t, r)
				wantRedirectError("unsupported_response_type")(t, r)
			}},
		{name: "consent: repeated parameter in authorize_query", target: "/consent", body: "csrf_token={csrf}&authorize_query=" + url.QueryEscape(aq+"&client_id=spa") + "&decision=allow", status: 400, page: true},

		// BFF.
		{name: "bff login: absolute return_to", target: "/bff/login?return_to=https%3A%2F%2Fevil.example%2F", status: 400, code: "invalid_request"},
		{name: "bff login: protocol-relative return_to", target: "/bff/login?return_to=%2F%2Fevil.example", status: 400, code: "invalid_request"},
		{name: "bff login: CRLF in return_to", target: "/bff/login?return_to=%2Fapp%2F%0d%0aSet-Cookie%3A%20injected%3D1", status: 400, code: "invalid_request", check: noInjectedHeader},
		{name: "bff login: backslash return_to", target: "/bff/login?return_to=%2F%5Cevil.example", status: 400, code: "invalid_request"},
		{name: "bff login: javascript: return_to", target: "/bff/login?return_to=javascript%3Aalert(1)", status: 400, code: "invalid_request"},
		{name: "bff callback: no sign-in in progress", target: "/bff/callback?code=x&state=y", status: 400, code: "invalid_request"},
		{name: "bff callback: garbage login cookie", target: "/bff/callback?code=x&state=y", header: map[string]string{"Cookie": "rotor_bff_login=" + strings.Repeat("%ff", 100)}, status: 400, code: "invalid_request"},
		{name: "bff callback: CRLF and NUL in state", target: "/bff/callback?code=x&state=%00%0d%0aSet-Cookie%3A%20injected%3D1", status: 400, code: "invalid_request", check: noInjectedHeader},
		{name: "bff session: no cookie", target: "/bff/session", status: 401, code: "unauthorized"},
		{name: "bff session: 4 KB garbage cookie", target: "/bff/session", header: map[string]string{"Cookie": "rotor_bff_session=" + strings.Repeat("z", 4000)}, status: 401, code: "unauthorized"},
		{name: "bff session: SQL injection cookie", target: "/bff/session", header: map[string]string{"Cookie": "rotor_bff_session=x'OR'1'='1"}, status: 401, code: "unauthorized"},
		{name: "bff api: no X-CSRF", target: "/bff/api/x", status: 403, code: "csrf"},
		{name: "bff api: cross-origin", target: "/bff/api/x", header: map[string]string{"X-CSRF": "1", "Origin": "https://evil.example"}, status: 403, code: "csrf"},
		{name: "bff api: no session", target: "/bff/api/x", header: xcsrf, status: 401, code: "unauthorized"},
		{name: "bff api: path traversal", target: "/bff/api/%2e%2e/%2e%2e/oauth2/token", header: xcsrf, status: 400, code: "invalid_request"},
		{name: "bff api: encoded-slash traversal", target: "/bff/api/..%2f..%2foauth2%2ftoken", header: xcsrf, status: 401, code: "unauthorized"},
		{name: "bff api: 100 KB body", method: http.MethodPost, target: "/bff/api/x", body: hundred, header: xcsrf, status: 401, code: "unauthorized"},
		{name: "bff logout: GET", target: "/bff/logout", status: 404, code: "Not Found"},
		{name: "bff logout: no X-CSRF", method: http.MethodPost, target: "/bff/logout", status: 403, code: "csrf"},
		{name: "bff logout: no session", method: http.MethodPost, target: "/bff/logout", header: xcsrf, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.t = t
			r := a.sendHostile(c, tc, csrf, aq)
			if r.Status >= 500 {
				t.Fatalf("server error %d: %.300s", r.Status, r.Raw)
			}
			switch {
			case tc.code != "":
				wantOAuthError(t, r, tc.status, tc.code)
			case tc.page:
				if r.Status != tc.status {
					t.Errorf("status %d, want %d (body %.300s)", r.Status, tc.status, r.Raw)
				}
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type %q, want an HTML page", ct)
				}
			default:
				if r.Status != tc.status {
					t.Errorf("status %d, want %d (body %.300s)", r.Status, tc.status, r.Raw)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	a.t = t

	// Still healthy, and users still sign in (from another address, and
	// as alice from the attacker's: her few failures were below the limit).
	res, err := a.http.Get(a.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", res.StatusCode)
	}
	tk := a.login(webClient, aliceEmail, alicePassword, "read")
	if !a.active(tk.Access) {
		t.Error("access token inactive")
	}
	a.mustRefresh(webClient, tk.Refresh)
	signInSurfaces[0].wantOK(t, tryPasswordGrant(t, a.harness, c, aliceEmail, alicePassword, nil), "alice from the attacker's address")
}

// sendHostile sends tc from client c.
func (a *abuseHarness) sendHostile(c *http.Client, tc hostileCase, csrf, aq string) response {
	a.t.Helper()
	fill := func(s string) string {
		return strings.NewReplacer("{csrf}", url.QueryEscape(csrf), "{aq}", url.QueryEscape(aq)).Replace(s)
	}
	method := tc.method
	if method == "" {
		method = http.MethodGet
		if tc.body != "" {
			method = http.MethodPost
		}
	}
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(fill(tc.body))
	}
	req, err := http.NewRequest(method, a.URL+fill(tc.target), body)
	if err != nil {
		a.t.Fatalf("build request: %v", err)
	}
	if tc.body != "" {
		ct := tc.contentType
		if ct == "" {
			ct = formCT
		}
		req.Header.Set("Content-Type", ct)
	}
	if tc.basic != nil {
		req.SetBasicAuth(url.QueryEscape(tc.basic.ID), url.QueryEscape(tc.basic.Secret))
	}
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	return a.sendWith(c, req)
}

// withParam is v with key set to value, encoded.
func withParam(v url.Values, key, value string) url.Values {
	out := cloneValues(v)
	out.Set(key, value)
	return out
}

// wantRedirectError checks an authorization error sent to the client.
func wantRedirectError(code string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		u, err := url.Parse(r.Header.Get("Location"))
		if err != nil || u.Query().Get("error") != code {
			t.Errorf("Location %q, want error=%s", r.Header.Get("Location"), code)
		}
	}
}

func wantInactive(t *testing.T, r response) {
	t.Helper()
	var body struct {
		Active *bool `json:"active"`
	}
	if err := json.Unmarshal(r.Raw, &body); err != nil || body.Active == nil || *body.Active {
		t.Errorf("introspection %s, want active false", r.Raw)
	}
}
