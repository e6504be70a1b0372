package server_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

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
