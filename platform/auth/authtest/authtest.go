// Package authtest gives handler tests a real guard: a throwaway signing key, tokens for any
// subject, and the app API token a test "sidecar" sends.
package authtest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/auth/devkeys"
)

// AppToken is the app API token the guard of New expects from its sidecar.
const AppToken = "test-app-token"

// Issuer signs tokens the guard of New accepts.
type Issuer struct {
	t    testing.TB
	keys *devkeys.Keys
}

// New returns a guard and the issuer of the tokens it accepts.
func New(t testing.TB) (*auth.Guard, *Issuer) {
	t.Helper()
	keys, err := devkeys.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(context.Background(), auth.Config{
		JWKS: keys.JWKSPath(), Issuer: devkeys.Issuer, Audience: devkeys.Audience, Algorithms: []string{"ES256"},
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := auth.NewGuard(v, AppToken, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return g, &Issuer{t: t, keys: keys}
}

// Bearer is the Authorization header value of a token for sub with roles.
func (i *Issuer) Bearer(sub string, roles ...string) string {
	i.t.Helper()
	tok, err := i.keys.Token(sub, roles, time.Hour)
	if err != nil {
		i.t.Fatal(err)
	}
	return "Bearer " + tok
}

// AsSidecar marks req as coming from the app's sidecar.
func AsSidecar(req *http.Request) { req.Header.Set(auth.DaprTokenHeader, AppToken) }

// Sidecar is the app's own sidecar, as the caller of Do.
const Sidecar = "sidecar"

// Do sends a request to h as a caller: "" for nobody, Sidecar, or an Authorization header
// value from Bearer. A body is sent as JSON; headers are more, as name, value pairs.
func Do(h http.Handler, method, path, body, as string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	switch as {
	case "":
	case Sidecar:
		AsSidecar(req)
	default:
		req.Header.Set("Authorization", as)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
