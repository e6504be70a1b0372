package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestLoginPage: the login form a password manager and a phone understand,
// with a CSRF token, on a page that can't be framed.
func TestLoginPage(t *testing.T) {
	h := newOIDCHarness(t, config{})
	v, _ := acParams(acApp, "openid")
	b := h.newBrowser(t)
	p := b.open(h.acAuthorizeURL(v))
	if p.Status != http.StatusOK {
		t.Fatalf("status %d: %s", p.Status, p.Body)
	}
	wantPageHeaders(t, p)
	f := mustForm(t, p, "/login")
	if !strings.EqualFold(f.Method, "post") {
		t.Errorf("login form method = %q, want post", f.Method)
	}
	for _, tc := range []struct {
		name                 string
		typ, autocomplete    string
		wantNonEmptyHiddenVa bool
	}{
		{name: "username", autocomplete: "username"},
		{name: "password", typ: "password", autocomplete: "current-password"},
		{name: "csrf_token", typ: "hidden", wantNonEmptyHiddenVa: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := f.input(tc.name)
			if in == nil {
				t.Fatalf("login form has no input %q", tc.name)
			}
			if tc.typ != "" && in["type"] != tc.typ {
				t.Errorf("type = %q, want %q", in["type"], tc.typ)
			}
			if tc.autocomplete != "" && in["autocomplete"] != tc.autocomplete {
				t.Errorf("autocomplete = %q, want %q", in["autocomplete"], tc.autocomplete)
			}
			if tc.wantNonEmptyHiddenVa && in["value"] == "" {
				t.Error("empty value")
			}
		})
	}
	if !strings.Contains(p.Body, acAppName) {
		t.Errorf("login page does not name the client %q", acAppName)
	}
	if b.cookie("rotor_csrf") == "" {
		t.Error("login page set no CSRF cookie")
	}
	if b.cookie("rotor_session") != "" {
		t.Error("a session cookie before signing in")
	}
}

// TestLoginWrongCredentials: the same clear error for an unknown account
// and a wrong password; no session; the form can then be used to sign in.
func TestLoginWrongCredentials(t *testing.T) {
	h := newOIDCHarness(t, config{})
	v, _ := acParams(acApp, "openid")
	messages := map[string]string{}
	for _, tc := range []struct {
		name, email, password string
		status                int
	}{
		{name: "unknown user", email: "nobody@example.com", password: alicePassword, status: http.StatusUnauthorized},
		{name: "wrong password", email: aliceEmail, password: "wrong password", status: http.StatusUnauthorized},
		{name: "another user's password", email: aliceEmail, password: bobPassword, status: http.StatusUnauthorized},
		{name: "empty password", email: aliceEmail, password: "", status: http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := h.newBrowser(t)
			p := b.open(h.acAuthorizeURL(v))
			res := b.login(p, tc.email, tc.password)
			if res.Status != tc.status {
				t.Errorf("status = %d, want %d", res.Status, tc.status)
			}
			if res.Location != nil {
				t.Errorf("failed login redirects to %s", res.Location)
			}
			wantPageHeaders(t, res)
			msg := textOf(t, res.Body, byClass("p", "error"))
			if msg == "" {
				t.Fatalf("no error message on the page: %s", res.Body)
			}
			messages[tc.name] = msg
			if b.cookie("rotor_session") != "" {
				t.Error("failed login set a session cookie")
			}
			if strings.Contains(res.Body, tc.password) && tc.password != "" {
				t.Error("the page echoes the password")
			}
			// The re-rendered form works.
			ok := b.follow(b.login(res, aliceEmail, alicePassword))
			if !hasForm(ok, "/consent") {
				t.Errorf("login after a failure: status %d, want the consent page", ok.Status)
			}
		})
	}
	if messages["unknown user"] != messages["wrong password"] {
		t.Errorf("unknown user says %q but wrong password says %q", messages["unknown user"], messages["wrong password"])
	}
}

// TestLoginCSRF: a login POST without the form's CSRF token is refused
// with a 403 page and creates no session.
func TestLoginCSRF(t *testing.T) {
	h := newOIDCHarness(t, config{})
	v, _ := acParams(acApp, "openid")
	other := h.newBrowser(t)
	otherToken := mustForm(t, other.open(h.acAuthorizeURL(v)), "/login").Fields.Get("csrf_token")
	for _, tc := range []struct {
		name string
		edit func(b *browser, f url.Values)
	}{
		{name: "csrf_token missing", edit: func(_ *browser, f url.Values) { f.Del("csrf_token") }},
		{name: "csrf_token empty", edit: func(_ *browser, f url.Values) { f.Set("csrf_token", "") }},
		{name: "csrf_token wrong", edit: func(_ *browser, f url.Values) { f.Set("csrf_token", "AAAA"+f.Get("csrf_token")[4:]) }},
		{name: "another browser's token", edit: func(_ *browser, f url.Values) { f.Set("csrf_token", otherToken) }},
		{name: "no CSRF cookie", edit: func(b *browser, _ url.Values) {
			u, _ := url.Parse(h.URL)
			b.jar.SetCookies(u, []*http.Cookie{{Name: "rotor_csrf", Value: "", MaxAge: -1, Path: "/"}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.browserSessions()
			b := h.newBrowser(t)
			p := b.open(h.acAuthorizeURL(v))
			f := mustForm(t, p, "/login")
			vals := cloneValues(f.Fields)
			vals.Set("username", aliceEmail)
			vals.Set("password", alicePassword)
			tc.edit(b, vals)
			res := b.post(h.URL+"/login", vals)
			wantErrorPage(t, res, http.StatusForbidden)
			if b.cookie("rotor_session") != "" {
				t.Error("session cookie set despite the CSRF failure")
			}
			if n := h.browserSessions(); n != before {
				t.Errorf("browser sessions %d -> %d: a session was created", before, n)
			}
		})
	}
}

// TestConsentCSRF: the consent form needs its CSRF token too; a forged
// Allow issues no code and records no consent.
func TestConsentCSRF(t *testing.T) {
	h := newOIDCHarness(t, config{})
	v, _ := acParams(acApp, "openid")
	b := h.newBrowser(t)
	consent := b.follow(b.login(b.open(h.acAuthorizeURL(v)), aliceEmail, alicePassword))
	f := mustForm(t, consent, "/consent")
	for _, tc := range []struct {
		name string
		edit func(url.Values)
	}{
		{name: "csrf_token missing", edit: func(f url.Values) { f.Del("csrf_token") }},
		{name: "csrf_token wrong", edit: func(f url.Values) { f.Set("csrf_token", strings.ToUpper(f.Get("csrf_token"))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := cloneValues(f.Fields)
			vals.Set("decision", "allow")
			tc.edit(vals)
			wantErrorPage(t, b.post(h.URL+"/consent", vals), http.StatusForbidden)
		})
	}
	// Consent was not recorded: the next request asks again.
	if p := b.open(h.acAuthorizeURL(v)); !hasForm(p, "/consent") {
		t.Errorf("after forged consent: status %d, want the consent page again", p.Status)
	}
}

// TestSingleSignOnAndPrompt: the session cookie skips the login page;
// prompt=login and prompt=none behave as OIDC Core §3.1.2.1 says.
func TestSingleSignOnAndPrompt(t *testing.T) {
	h := newOIDCHarness(t, config{})
	signedIn := h.newBrowser(t)
	signedIn.acCode(acApp, "openid") // login + consent for acApp/openid

	for _, tc := range []struct {
		name     string
		b        *browser
		scope    string
		prompt   string
		want     string // "code", "login", "consent" or an error code
		wantFrom string // when want is an error
	}{
		{name: "SSO skips login and remembered consent", b: signedIn, scope: "openid", want: "code"},
		{name: "prompt=login forces the login page", b: signedIn, scope: "openid", prompt: "login", want: "login"},
		{name: "prompt=consent forces the consent page", b: signedIn, scope: "openid", prompt: "consent", want: "consent"},
		{name: "new scope asks for consent", b: signedIn, scope: "openid email", want: "consent"},
		{name: "prompt=none with session and consent", b: signedIn, scope: "openid", prompt: "none", want: "code"},
		{name: "prompt=none without consent for a scope", b: signedIn, scope: "openid email", prompt: "none", want: "consent_required"},
		{name: "prompt=none without a session", b: h.newBrowser(t), scope: "openid", prompt: "none", want: "login_required"},
		{name: "prompt=none combined with login", b: signedIn, scope: "openid", prompt: "none login", want: "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := acParams(acApp, tc.scope)
			if tc.prompt != "" {
				v.Set("prompt", tc.prompt)
			}
			p := tc.b.open(h.acAuthorizeURL(v))
			switch tc.want {
			case "code":
				q := callback(t, p.Location, acAppRedirect)
				if q.Get("code") == "" || q.Get("state") != v.Get("state") || q.Get("iss") != h.URL {
					t.Errorf("want a code, got %v", q)
				}
			case "login":
				if p.Status != http.StatusOK || !hasForm(p, "/login") {
					t.Errorf("want the login page, got %d %s", p.Status, p.Body)
				}
			case "consent":
				if p.Status != http.StatusOK || !hasForm(p, "/consent") {
					t.Errorf("want the consent page, got %d %s", p.Status, p.Body)
				}
			default:
				h.wantErrorRedirect(t, p, acAppRedirect, tc.want, v.Get("state"))
			}
		})
	}

	t.Run("prompt=login then signing in issues a code with a new auth_time", func(t *testing.T) {
		code, verifier := signedIn.acCode(acApp, "openid")
		before := jwtClaims(t, h.mustExchange(acApp, code, verifier).IDToken)["auth_time"].(float64)
		time.Sleep(1100 * time.Millisecond) // auth_time has second resolution
		v, verifier := acParams(acApp, "openid")
		v.Set("prompt", "login")
		p := signedIn.open(h.acAuthorizeURL(v))
		q := callback(t, signedIn.follow(signedIn.login(p, aliceEmail, alicePassword)).Location, acAppRedirect)
		after := jwtClaims(t, h.mustExchange(acApp, q.Get("code"), verifier).IDToken)["auth_time"].(float64)
		if after <= before {
			t.Errorf("auth_time %v after a forced login, was %v", after, before)
		}
	})
}

// TestMaxAge: a login older than max_age must be repeated; max_age=0
// always asks again.
func TestMaxAge(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	b.acCode(acFirstParty, "openid")
	authorizeWith := func(maxAge string) page {
		v, _ := acParams(acFirstParty, "openid")
		v.Set("max_age", maxAge)
		return b.open(h.acAuthorizeURL(v))
	}
	if p := authorizeWith("3600"); p.Location == nil || p.Location.Query().Get("code") == "" {
		t.Errorf("max_age=3600 right after login: %d %s, want a code", p.Status, p.Body)
	}
	if p := authorizeWith("0"); !hasForm(p, "/login") {
		t.Errorf("max_age=0: status %d, want the login page", p.Status)
	}
	time.Sleep(2100 * time.Millisecond)
	p := authorizeWith("1")
	if !hasForm(p, "/login") {
		t.Fatalf("max_age=1 two seconds after login: status %d, want the login page", p.Status)
	}
	q := callback(t, b.follow(b.login(p, aliceEmail, alicePassword)).Location, acFirstRedirect)
	if q.Get("code") == "" {
		t.Errorf("after re-login: %v", q)
	}
	if p := authorizeWith("30"); p.Location == nil || p.Location.Query().Get("code") == "" {
		t.Errorf("max_age=30 after the new login: %d, want a code", p.Status)
	}
}

// TestConsentPage: the client's name and the scopes in plain words, Allow
// and Deny; Deny is access_denied; consent is remembered per user and
// client; a first-party client never asks.
func TestConsentPage(t *testing.T) {
	h := newOIDCHarness(t, config{})
	v, _ := acParams(acApp, "openid email offline_access")
	b := h.newBrowser(t)
	consent := b.follow(b.login(b.open(h.acAuthorizeURL(v)), aliceEmail, alicePassword))
	if consent.Status != http.StatusOK {
		t.Fatalf("status %d: %s", consent.Status, consent.Body)
	}
	wantPageHeaders(t, consent)
	f := mustForm(t, consent, "/consent")
	t.Run("content", func(t *testing.T) {
		if got := textOf(t, consent.Body, byTag("strong")); got != acAppName {
			t.Errorf("client name shown = %q, want %q", got, acAppName)
		}
		list := textOf(t, consent.Body, byClass("ul", "scopes"))
		for _, words := range []string{"Know who you are", "See your email address", "Stay signed in"} {
			if !strings.Contains(list, words) {
				t.Errorf("scope list %q lacks %q", list, words)
			}
		}
		if strings.Contains(list, "offline_access") {
			t.Errorf("scope list shows raw scope names: %q", list)
		}
		for _, d := range []string{"allow", "deny"} {
			if !f.hasButton("decision", d) {
				t.Errorf("no %s button", d)
			}
		}
		if f.Fields.Get("csrf_token") == "" {
			t.Error("consent form has no csrf_token")
		}
	})
	t.Run("deny sends access_denied", func(t *testing.T) {
		h.wantErrorRedirect(t, b.decide(consent, "deny"), acAppRedirect, "access_denied", v.Get("state"))
		// Denying remembers nothing.
		if p := b.open(h.acAuthorizeURL(v)); !hasForm(p, "/consent") {
			t.Errorf("after Deny: status %d, want the consent page again", p.Status)
		}
	})
	t.Run("allow is remembered for the user and client", func(t *testing.T) {
		q := callback(t, b.decide(consent, "allow").Location, acAppRedirect)
		if q.Get("code") == "" {
			t.Fatalf("allow: %v", q)
		}
		v2, _ := acParams(acApp, "openid email")
		if p := b.open(h.acAuthorizeURL(v2)); p.Location == nil || p.Location.Query().Get("code") == "" {
			t.Errorf("second request: status %d, want a code without consent", p.Status)
		}
	})
	t.Run("another user is asked", func(t *testing.T) {
		bob := h.newBrowser(t)
		p := bob.follow(bob.login(bob.open(h.acAuthorizeURL(v)), bobEmail, bobPassword))
		if !hasForm(p, "/consent") {
			t.Errorf("bob: status %d, want the consent page", p.Status)
		}
	})
	t.Run("another client is asked", func(t *testing.T) {
		v3, _ := acParams(acSPA, "openid")
		if p := b.open(h.acAuthorizeURL(v3)); !hasForm(p, "/consent") {
			t.Errorf("spa: status %d, want the consent page", p.Status)
		}
	})
	t.Run("first-party client skips consent", func(t *testing.T) {
		fresh := h.newBrowser(t)
		v4, _ := acParams(acFirstParty, "openid email offline_access")
		p := fresh.follow(fresh.login(fresh.open(h.acAuthorizeURL(v4)), bobEmail, bobPassword))
		if q := callback(t, p.Location, acFirstRedirect); q.Get("code") == "" {
			t.Errorf("first-party: %v", q)
		}
	})
	t.Run("no decision", func(t *testing.T) {
		vals := cloneValues(f.Fields)
		wantErrorPage(t, b.post(h.URL+"/consent", vals), http.StatusBadRequest)
	})
}
