package main

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cookieBrowser keeps cookies by name, Secure ones included (browsers
// treat http://127.0.0.1 as a secure context; Go's cookiejar does not),
// and follows redirects only when told.
type cookieBrowser struct {
	t      *testing.T
	base   string
	jar    map[string]string
	client *http.Client
}

func newCookieBrowser(t *testing.T, base string) *cookieBrowser {
	return &cookieBrowser{t: t, base: base, jar: map[string]string{}, client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type browserAnswer struct {
	status   int
	location string
	body     string
}

func (b *cookieBrowser) do(method, rawURL string, form url.Values, header map[string]string) browserAnswer {
	b.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.base + rawURL
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	for k, v := range b.jar {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c.Value
		}
	}
	return browserAnswer{status: res.StatusCode, location: res.Header.Get("Location"), body: string(raw)}
}

// follow GETs rawURL and the redirects after it, on this server only.
func (b *cookieBrowser) follow(rawURL string) browserAnswer {
	b.t.Helper()
	a := b.do(http.MethodGet, rawURL, nil, nil)
	for i := 0; i < 10 && a.location != ""; i++ {
		next, err := url.Parse(a.location)
		if err != nil || (next.Host != "" && b.base != next.Scheme+"://"+next.Host) {
			return a
		}
		a = b.do(http.MethodGet, b.base+next.RequestURI(), nil, nil)
	}
	return a
}

var (
	formCSRF  = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	formQuery = regexp.MustCompile(`name="authorize_query" value="([^"]*)"`)
)

func isLoginPage(a browserAnswer) bool {
	return a.status == http.StatusOK && strings.Contains(a.body, `action="/login"`)
}

// TestSessionsRevokeUserSignsOutEverywhere: `rotor sessions revoke --user`
// ends the user's SSO browser sessions and BFF sessions with the token
// families, so the old SSO cookie gets the login page and the old BFF
// cookie 401.
func TestSessionsRevokeUserSignsOutEverywhere(t *testing.T) {
	const email, password = "everywhere@example.com", "everywhere-password-1"
	in := newInstance(t)
	in.cli(password+"\n", "users", "create", "--email", email, "--password-stdin")
	in.start()
	base := in.baseURL()

	signIn := func() *cookieBrowser {
		t.Helper()
		b := newCookieBrowser(t, base)
		page := b.follow("/bff/login?return_to=%2Fapp%2F")
		csrf, query := formCSRF.FindStringSubmatch(page.body), formQuery.FindStringSubmatch(page.body)
		if !isLoginPage(page) || csrf == nil || query == nil {
			t.Fatalf("GET /bff/login: status %d, want the login page", page.status)
		}
		a := b.do(http.MethodPost, "/login", url.Values{
			"csrf_token": {html.UnescapeString(csrf[1])}, "authorize_query": {html.UnescapeString(query[1])},
			"username": {email}, "password": {password},
		}, nil)
		if a.status != http.StatusSeeOther {
			t.Fatalf("POST /login: status %d %s", a.status, a.body)
		}
		if end := b.follow(a.location); end.status != http.StatusOK || b.jar["rotor_bff_session"] == "" || b.jar["rotor_session"] == "" {
			t.Fatalf("sign-in ended with status %d, cookies %v", end.status, b.jar)
		}
		return b
	}
	laptop, phone := signIn(), signIn()
	for _, b := range []*cookieBrowser{laptop, phone} {
		if a := b.do(http.MethodGet, "/bff/session", nil, nil); a.status != http.StatusOK {
			t.Fatalf("/bff/session before: %d", a.status)
		}
	}
	// Keep copies of the cookies, as a thief would.
	stolen := map[string]string{"rotor_session": laptop.jar["rotor_session"], "rotor_bff_session": laptop.jar["rotor_bff_session"]}

	out := mustCLI(t, in.environ, "", "sessions", "revoke", "--user", email).stdout
	if want := "ended 2 browser session(s) and 2 BFF session(s)"; !strings.Contains(out, want) {
		t.Errorf("stdout %q does not contain %q", out, want)
	}

	for _, tc := range []struct {
		name string
		b    *cookieBrowser
	}{
		{name: "laptop", b: laptop},
		{name: "phone", b: phone},
		{name: "stolen cookies", b: &cookieBrowser{t: t, base: base, jar: stolen, client: laptop.client}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.b.t = t
			sso, bff := tc.b.jar["rotor_session"], tc.b.jar["rotor_bff_session"]
			if a := tc.b.do(http.MethodGet, "/bff/session", nil, nil); a.status != http.StatusUnauthorized {
				t.Errorf("/bff/session with the old BFF cookie: %d, want 401", a.status)
			}
			if a := tc.b.do(http.MethodGet, "/bff/api/hello", nil, map[string]string{"X-CSRF": "1"}); a.status != http.StatusUnauthorized {
				t.Errorf("/bff/api/hello with the old BFF cookie: %d, want 401", a.status)
			}
			tc.b.jar["rotor_session"], tc.b.jar["rotor_bff_session"] = sso, bff
			if a := tc.b.follow("/bff/login?return_to=%2Fapp%2F"); !isLoginPage(a) {
				t.Errorf("/bff/login with the old SSO cookie: status %d, want the login page", a.status)
			}
		})
	}
	if out := mustCLI(t, in.environ, "", "sessions", "revoke", "--user", email).stdout; !strings.Contains(out, "revoked 0 session(s)") || !strings.Contains(out, "ended 0 browser session(s) and 0 BFF session(s)") {
		t.Errorf("second revoke: %q", out)
	}
}
