package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/skmall/skmall/platform/httpx"
)

// Realm names this shop in WWW-Authenticate challenges.
const Realm = "skmall"

// DaprTokenHeader carries Dapr's tokens both ways: the app's DAPR_API_TOKEN to its sidecar,
// and the sidecar's APP_API_TOKEN on every call it makes to the app (service invocations and
// event deliveries).
const DaprTokenHeader = "dapr-api-token" //nolint:gosec // a header name, not a credential

// Guard wraps each route in the check of who may call it. Every route a service registers,
// but for the probes and metrics, goes through one of its methods.
type Guard struct {
	verifier *Verifier
	appToken string
	log      *slog.Logger
}

// NewGuard returns a guard that checks bearer tokens with v and sidecar calls against appToken.
func NewGuard(v *Verifier, appToken string, log *slog.Logger) (*Guard, error) {
	if appToken == "" {
		return nil, errors.New("APP_API_TOKEN is required: it is how the app tells its sidecar from anyone else")
	}
	return &Guard{verifier: v, appToken: appToken, log: log}, nil
}

// Authenticated lets through requests with a valid bearer token; the handler finds the
// principal with FromContext.
func (g *Guard) Authenticated(h http.Handler) http.Handler {
	rules := httpx.Errors{Rules: Rules, Log: g.log}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := g.Principal(r.Context(), r.Header.Get("Authorization"))
		switch {
		case errors.Is(err, ErrNoToken):
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
		case err != nil:
			g.log.InfoContext(r.Context(), "token refused", "method", r.Method, "path", r.URL.Path, "err", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`", error="invalid_token", error_description="the token is not valid"`)
		}
		if err != nil {
			rules.Write(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// Admin lets through requests with a valid bearer token of an admin.
func (g *Guard) Admin(h http.Handler) http.Handler {
	return g.Authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !FromContext(r.Context()).IsAdmin() {
			WriteForbidden(w, r, "This needs the admin role.")
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// Sidecar lets through only calls that carry the app API token, which only the app's own
// sidecar knows.
func (g *Guard) Sidecar(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get(DaprTokenHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(g.appToken)) != 1 {
			g.log.WarnContext(r.Context(), "call without the app API token refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			WriteForbidden(w, r, "Only the Dapr sidecar may call this route.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// WriteForbidden answers 403: the caller is known but may not do this.
func WriteForbidden(w http.ResponseWriter, r *http.Request, detail string) {
	httpx.WriteProblem(w, r, http.StatusForbidden, "forbidden", "Forbidden", detail)
}

// The refusals at the door, whatever the protocol: no bearer token, one that does not verify
// (the Verifier's ErrInvalidToken), a known caller who may not do this (Forbidden).
var (
	ErrNoToken   = errors.New("no bearer token")
	ErrForbidden = errors.New("forbidden")
)

// Rules map the refusals at the door to problems (and, through them, gRPC statuses); a
// service's own error table ends with them.
var Rules = []httpx.ErrorRule{
	{Err: ErrNoToken, Status: http.StatusUnauthorized, Slug: "unauthenticated", Title: "Authentication required",
		Detail: "Send a bearer token: Authorization: Bearer <token> (in gRPC, the authorization metadata)."},
	{Err: ErrInvalidToken, Status: http.StatusUnauthorized, Slug: "invalid-token", Title: "Invalid token",
		Detail: "The bearer token is malformed, expired, not yet valid, or not issued for this shop. Get a new one."},
	{Err: ErrForbidden, Status: http.StatusForbidden, Slug: "forbidden", Title: "Forbidden"},
}

type forbiddenError struct{ detail string }

func (e forbiddenError) Error() string        { return e.detail }
func (e forbiddenError) Is(target error) bool { return target == ErrForbidden }

// Forbidden is the refusal of a known caller, with a detail the caller may read.
func Forbidden(detail string) error { return forbiddenError{detail: detail} }

// Principal checks the value of an Authorization header (or metadata) and returns whom its
// bearer token speaks for: ErrNoToken without one, ErrInvalidToken (wrapping why) when it does
// not verify.
func (g *Guard) Principal(ctx context.Context, authorization string) (Principal, error) {
	raw, ok := bearer(authorization)
	if !ok {
		return Principal{}, ErrNoToken
	}
	p, err := g.verifier.Verify(ctx, raw)
	if err != nil && !errors.Is(err, ErrInvalidToken) {
		err = fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return p, err
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
