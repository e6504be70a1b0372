package server_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	fuzzCSRFField  = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	fuzzQueryField = regexp.MustCompile(`name="authorize_query" value="([^"]*)"`)
)

// FuzzLoginForm posts arbitrary username, password, csrf_token and
// authorize_query values to /login, with the browser's real CSRF cookie:
// whatever they are, the answer is never a 5xx (a panic would be one).
// The seeds are a real form's values, right and wrong.
func FuzzLoginForm(f *testing.F) {
	a := newAbuseHarness(f, abuseConfig{oidc: true})
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.Fatal(err)
	}
	client := &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	v, _ := acParams(acFirstParty, "openid email")
	v.Set("prompt", "login")
	res, err := client.Get(a.acAuthorizeURL(v))
	if err != nil {
		f.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csrfM, aqM := fuzzCSRFField.FindSubmatch(body), fuzzQueryField.FindSubmatch(body)
	if res.StatusCode != http.StatusOK || csrfM == nil || aqM == nil {
		f.Fatalf("login page: status %d, body %s", res.StatusCode, body)
	}
	csrf, aq := html.UnescapeString(string(csrfM[1])), html.UnescapeString(string(aqM[1]))

	f.Add(aliceEmail, alicePassword, csrf, aq)
	f.Add(aliceEmail, "wrong", csrf, aq)
	f.Add("nobody@example.com", alicePassword, csrf, aq)
	f.Add("", "", csrf, aq)
	f.Add(aliceEmail, alicePassword, "", aq)
	f.Add(aliceEmail, alicePassword, csrf, "")
	f.Add(aliceEmail, alicePassword, csrf+"x", aq)
	f.Add(aliceEmail, alicePassword, csrf, aq+"&client_id=spa")
	f.Add(aliceEmail, alicePassword, csrf, strings.Replace(aq, "S256", "plain", 1))
	f.Add(aliceEmail, alicePassword, csrf, "client_id=first&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2F")
	f.Add(aliceEmail, alicePassword, csrf, "client_id=nobody")
	f.Add(aliceEmail, alicePassword, csrf, "%zz")
	f.Add("' OR 1=1 --", "\x00\xff", csrf, aq)
	f.Add(strings.Repeat("a", 400), strings.Repeat("b", 2000), csrf, aq)
	f.Add("alice@example.com\r\nX-Injected: 1", "pw", csrf, aq+"&state=%0d%0aSet-Cookie:%20x=1")

	f.Fuzz(func(t *testing.T, username, password, csrfToken, authorizeQuery string) {
		form := url.Values{
			"username":        {username},
			"password":        {password},
			"csrf_token":      {csrfToken},
			"authorize_query": {authorizeQuery},
		}
		req, err := http.NewRequest(http.MethodPost, a.URL+"/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST /login: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("POST /login answered %d: %.500s", res.StatusCode, b)
		}
		if res.StatusCode < 200 || res.StatusCode == http.StatusOK {
			// A form post is answered with a redirect or an error, never a
			// bare 200 or a 1xx.
			t.Fatalf("POST /login answered %d: %.500s", res.StatusCode, b)
		}
	})
}
