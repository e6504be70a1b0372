package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"github.com/rotorauth/rotor/storage"
)

var scenarios = map[string]scenario{
	"password":           {"password", passwordWorker},
	"refresh":            {"refresh", refreshWorker},
	"client_credentials": {"client_credentials", clientCredentialsWorker},
	"introspect":         {"introspect", introspectWorker},
	"jwks":               {"jwks", jwksWorker},
	"authcode":           {"authcode", authcodeWorker},
}

// benchSetup registers the bench user and clients in the server's
// database. It never plants a credential anyone could know: the user's
// password and the confidential client's secret are generated (and
// printed, for a later run without --setup) unless given by flag, and
// chosen ones are accepted only for a loopback-only server reached over
// loopback. `rotor clients delete` removes the clients afterwards.
func (a *app) benchSetup(ctx context.Context, f *benchFlags) error {
	return a.withEnv(ctx, func(e *env) error {
		chosen := f.password != "" || f.confSecret != ""
		if chosen && !(e.cfg.LoopbackOnly() && loopbackURL(f.url)) {
			return errors.New("bench --setup: a chosen --password or --confidential-secret would plant known credentials on a server that is not loopback-only; leave both out to have them generated")
		}
		var generated []string
		if f.password == "" {
			f.password = randomSecret()
			generated = append(generated, "password: "+f.password)
		}
		if f.confSecret == "" {
			f.confSecret = randomSecret()
			generated = append(generated, "confidential-secret: "+f.confSecret)
		}
		if _, err := e.store.CreateUser(ctx, f.user, f.password); errors.Is(err, storage.ErrConflict) {
			if _, err := e.store.SetPassword(ctx, f.user, f.password); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		hash, err := storage.NewSecretHasher(deriveKeys(e.secret).clientSecret).Hash(ctx, []byte(f.confSecret))
		if err != nil {
			return err
		}
		for _, c := range []storage.NewClient{
			{ID: f.clientID, Public: true, FirstParty: true, TokenEndpointAuthMethod: "none",
				GrantTypes: []string{"password", "refresh_token"}, Scopes: []string{"offline_access"}, Audience: []string{"bench-api"}},
			{ID: f.confID, SecretHash: hash, TokenEndpointAuthMethod: "client_secret_basic",
				GrantTypes: []string{"client_credentials"}, Audience: []string{"bench-api"}},
			{ID: f.codeClient, Public: true, FirstParty: true, TokenEndpointAuthMethod: "none",
				GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
				RedirectURIs: []string{f.codeRedirectURI}, Scopes: []string{"openid", "offline_access"}, Audience: []string{"bench-api"}},
		} {
			if err := e.store.EnsureClient(ctx, c); err != nil {
				return err
			}
		}
		fmt.Fprintf(a.stdout, "bench user %s and clients %s, %s, %s are ready (remove them with rotor clients delete)\n", f.user, f.clientID, f.confID, f.codeClient)
		for _, g := range generated {
			fmt.Fprintf(a.stdout, "generated %s\n", g)
		}
		return nil
	})
}

// randomSecret is 256 random bits, base64url-encoded.
func randomSecret() string {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails on Linux
	return base64.RawURLEncoding.EncodeToString(raw)
}

// loopbackURL reports whether u's host is a loopback address or localhost.
func loopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	h := p.Hostname()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Unmap().IsLoopback()
}

// post sends a form and decodes a JSON answer; any status but 200 is an error.
func (b *bencher) post(ctx context.Context, path string, form url.Values, basic bool) (tokenAnswer, error) {
	var out tokenAnswer
	err := b.fast.do(ctx, "POST", path, form.Encode(), basic, &out)
	return out, err
}

func (b *bencher) passwordGrant(ctx context.Context) (tokenAnswer, error) {
	return b.post(ctx, "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {b.f.clientID},
		"username": {b.f.user}, "password": {b.f.password}}, false)
}

func passwordWorker(_ context.Context, b *bencher) (func(context.Context) error, error) {
	return func(ctx context.Context) error {
		_, err := b.passwordGrant(ctx)
		return err
	}, nil
}

// refreshWorker holds its own family and always refreshes with the newest
// token; a rejected fresh token is an error (then it signs in again).
func refreshWorker(ctx context.Context, b *bencher) (func(context.Context) error, error) {
	tok, err := b.passwordGrant(ctx)
	if err != nil {
		return nil, err
	}
	rt := tok.RefreshToken
	if rt == "" {
		return nil, errors.New("password grant: no refresh token (is offline_access granted?)")
	}
	return func(ctx context.Context) error {
		out, err := b.post(ctx, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {b.f.clientID}, "refresh_token": {rt}}, false)
		if err == nil && out.RefreshToken == "" {
			err = errors.New("refresh: answer without a refresh token")
		}
		if err != nil {
			if ctx.Err() == nil {
				if again, lerr := b.passwordGrant(context.WithoutCancel(ctx)); lerr == nil {
					rt = again.RefreshToken
				}
			}
			return err
		}
		rt = out.RefreshToken
		return nil
	}, nil
}

func clientCredentialsWorker(_ context.Context, b *bencher) (func(context.Context) error, error) {
	const form = "grant_type=client_credentials"
	return func(ctx context.Context) error {
		var out tokenAnswer
		if err := b.fast.do(ctx, "POST", "/oauth2/token", form, true, &out); err != nil {
			return err
		}
		if out.AccessToken == "" {
			return errors.New("client_credentials: answer without an access token")
		}
		return nil
	}, nil
}

func introspectWorker(ctx context.Context, b *bencher) (func(context.Context) error, error) {
	tok, err := b.post(ctx, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, true)
	if err != nil {
		return nil, err
	}
	form := url.Values{"token": {tok.AccessToken}}.Encode()
	return func(ctx context.Context) error {
		var out tokenAnswer
		err := b.fast.do(ctx, "POST", "/oauth2/introspect", form, true, &out)
		if err == nil && !out.Active {
			err = errors.New("introspection: token reported inactive")
		}
		return err
	}, nil
}

func jwksWorker(_ context.Context, b *bencher) (func(context.Context) error, error) {
	return func(ctx context.Context) error {
		return b.fast.do(ctx, "GET", "/.well-known/jwks.json", "", false, nil)
	}, nil
}

var (
	hiddenInput = regexp.MustCompile(`name="(csrf_token|authorize_query)" value="([^"]*)"`)
	codeParam   = regexp.MustCompile(`[?&]code=([^&]+)`)
)

// authcodeWorker does the whole browser round trip each time: authorize,
// the login form (with its CSRF token), the redirect with the code, and
// the PKCE code exchange. A fresh cookie jar each time: a new login.
func authcodeWorker(_ context.Context, b *bencher) (func(context.Context) error, error) {
	return func(ctx context.Context) error {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Transport: b.client.Transport, Jar: jar, Timeout: b.client.Timeout, CheckRedirect: b.client.CheckRedirect}
		verifier := randomVerifier()
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{"response_type": {"code"}, "client_id": {b.f.codeClient}, "redirect_uri": {b.f.codeRedirectURI},
			"scope": {"openid"}, "state": {"bench-state-0123"}, "code_challenge_method": {"S256"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
		base := trimURL(b.f.url)
		page, _, err := fetch(ctx, c, http.MethodGet, base+"/oauth2/authorize?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		form := url.Values{"username": {b.f.user}, "password": {b.f.password}}
		for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		_, loc, err := fetch(ctx, c, http.MethodPost, base+"/login", form)
		if err != nil {
			return err
		}
		_, loc, err = fetch(ctx, c, http.MethodGet, base+loc, nil)
		if err != nil {
			return err
		}
		m := codeParam.FindStringSubmatch(loc)
		if m == nil {
			return fmt.Errorf("authcode: no code in redirect %.100q", loc)
		}
		code, _ := url.QueryUnescape(m[1])
		_, err = b.post(ctx, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {b.f.codeClient},
			"code": {code}, "redirect_uri": {b.f.codeRedirectURI}, "code_verifier": {verifier}}, false)
		return err
	}, nil
}

// fetch returns the body (200) or the Location (303).
func fetch(ctx context.Context, c *http.Client, method, u string, form url.Values) (string, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return "", "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return string(b), "", nil
	case http.StatusSeeOther, http.StatusFound:
		return "", resp.Header.Get("Location"), nil
	}
	return "", "", fmt.Errorf("%s %s: status %d", method, u, resp.StatusCode)
}

func randomVerifier() string {
	b := make([]byte, 32)
	_, _ = io.ReadFull(randReader, b)
	return base64.RawURLEncoding.EncodeToString(b)
}
