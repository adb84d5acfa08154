package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/auth/devkeys"
)

func setup(t *testing.T) (*devkeys.Keys, *auth.Verifier) {
	t.Helper()
	keys, err := devkeys.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(context.Background(), auth.Config{
		JWKS: keys.JWKSPath(), Issuer: devkeys.Issuer, Audience: devkeys.Audience,
		Algorithms: []string{"ES256", "RS256"}, Leeway: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys, v
}

func claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"iss": devkeys.Issuer, "aud": devkeys.Audience, "sub": "alice", "exp": now.Add(time.Hour).Unix(), "nbf": now.Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

func kidOf(t *testing.T, keys *devkeys.Keys) string {
	t.Helper()
	tok, _ := keys.Token("x", nil, time.Minute)
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}

func TestVerifyAcceptsOnlyWellFormedTokensOfTheShop(t *testing.T) {
	t.Parallel()
	keys, v := setup(t)
	kid := kidOf(t, keys)
	sign := func(c jwt.MapClaims) string {
		tok, err := keys.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	strangerRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks, _ := os.ReadFile(keys.JWKSPath())
	withKid := func(method jwt.SigningMethod, key any) string {
		tok := jwt.NewWithClaims(method, claims(nil))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(claims(nil))

	cases := []struct {
		name, token string
		ok          bool
	}{
		{"valid", good, true},
		{"admin", sign(claims(func(c jwt.MapClaims) { c["roles"] = []string{"admin"} })), true},
		{"expired", sign(claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), false},
		{"not yet valid", sign(claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Minute).Unix() })), false},
		{"no expiry", sign(claims(func(c jwt.MapClaims) { delete(c, "exp") })), false},
		{"other issuer", sign(claims(func(c jwt.MapClaims) { c["iss"] = "evil" })), false},
		{"other audience", sign(claims(func(c jwt.MapClaims) { c["aud"] = "another-shop" })), false},
		{"no subject", sign(claims(func(c jwt.MapClaims) { delete(c, "sub") })), false},
		{"alg none", withKid(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType), false},
		// The classic confusion: an HMAC token keyed with the public key everyone can read.
		{"HS256 keyed with the public JWKS", withKid(jwt.SigningMethodHS256, jwks), false},
		{"signed by a stranger's key", withKid(jwt.SigningMethodES256, stranger), false},
		{"RS256 by a stranger's key", withKid(jwt.SigningMethodRS256, strangerRSA), false},
		{"tampered payload", good[:strings.Index(good, ".")+1] + "eyJzdWIiOiJib2IifQ" + good[strings.LastIndex(good, "."):], false},
		{"garbage", "not-a-token", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		p, err := v.Verify(context.Background(), c.token)
		if c.ok != (err == nil) {
			t.Errorf("%s: err=%v, want ok=%v", c.name, err, c.ok)
		}
		if c.ok && p.Subject != "alice" {
			t.Errorf("%s: subject %q", c.name, p.Subject)
		}
	}
}

func TestVerifierRefusesSymmetricAlgorithms(t *testing.T) {
	t.Parallel()
	keys, _ := setup(t)
	for _, algs := range [][]string{{"HS256"}, {"none"}, {}} {
		if _, err := auth.NewVerifier(context.Background(), auth.Config{JWKS: keys.JWKSPath(), Issuer: "x", Audience: "y", Algorithms: algs}); err == nil {
			t.Errorf("algorithms %v accepted", algs)
		}
	}
}

func TestPrincipalMayActFor(t *testing.T) {
	t.Parallel()
	alice := auth.Principal{Subject: "alice"}
	admin := auth.Principal{Subject: "ops", Roles: []string{"admin"}}
	switch {
	case !alice.MayActFor("alice"), alice.MayActFor("bob"), alice.MayActFor(""),
		!admin.MayActFor("bob"), (auth.Principal{}).MayActFor(""):
		t.Fatal("ownership rules broken")
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	keys, v := setup(t)
	g, err := auth.NewGuard(v, "sidecar-secret", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, auth.FromContext(r.Context()).Subject)
	})
	alice, _ := keys.Token("alice", nil, time.Minute)
	admin, _ := keys.Token("ops", []string{"admin"}, time.Minute)

	cases := []struct {
		name    string
		h       http.Handler
		headers map[string]string
		status  int
		body    string
	}{
		{"no token", g.Authenticated(ok), nil, 401, ""},
		{"basic auth", g.Authenticated(ok), map[string]string{"Authorization": "Basic YWxpY2U6eA=="}, 401, ""},
		{"bad token", g.Authenticated(ok), map[string]string{"Authorization": "Bearer nope"}, 401, ""},
		{"customer", g.Authenticated(ok), map[string]string{"Authorization": "Bearer " + alice}, 200, "alice"},
		{"customer on an admin route", g.Admin(ok), map[string]string{"Authorization": "bearer " + alice}, 403, ""},
		{"admin", g.Admin(ok), map[string]string{"Authorization": "Bearer " + admin}, 200, "ops"},
		{"sidecar route without the app token", g.Sidecar(ok), nil, 403, ""},
		{"sidecar route with a user token", g.Sidecar(ok), map[string]string{"Authorization": "Bearer " + admin}, 403, ""},
		{"sidecar route with a wrong app token", g.Sidecar(ok), map[string]string{"dapr-api-token": "guess"}, 403, ""},
		{"sidecar", g.Sidecar(ok), map[string]string{"dapr-api-token": "sidecar-secret"}, 200, ""},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		if rec.Code != c.status || (c.status == 200 && rec.Body.String() != c.body) {
			t.Errorf("%s: %d %s", c.name, rec.Code, rec.Body)
		}
		if c.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="skmall"`) {
			t.Errorf("%s: WWW-Authenticate %q", c.name, rec.Header().Get("WWW-Authenticate"))
		}
		if c.status >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: content type %q", c.name, rec.Header().Get("Content-Type"))
		}
	}
	if _, err := auth.NewGuard(v, "", slog.Default()); err == nil {
		t.Error("a guard without an app token was made")
	}
}

// A remembered token still expires: the verifier never accepts it past its exp.
func TestRememberedTokensExpire(t *testing.T) {
	t.Parallel()
	keys, v := setup(t)
	tok, err := keys.Sign(claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(1500 * time.Millisecond).Unix() }))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time from memory
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("fresh token: %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.Verify(context.Background(), tok)
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an expired token is still accepted")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
