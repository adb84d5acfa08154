package auth

import (
	"context"
	"crypto/subtle"
	"errors"
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
			httpx.WriteProblem(w, r, http.StatusUnauthorized, "unauthenticated", "Authentication required",
				"Send a bearer token in the Authorization header.")
			return
		}
		p, err := g.verifier.Verify(r.Context(), raw)
		if err != nil {
			g.log.InfoContext(r.Context(), "token refused", "method", r.Method, "path", r.URL.Path, "err", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`", error="invalid_token", error_description="the token is not valid"`)
			httpx.WriteProblem(w, r, http.StatusUnauthorized, "invalid-token", "Invalid token",
				"The bearer token is malformed, expired, not yet valid, or not issued for this shop. Get a new one.")
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

// ErrForbidden matches the error of Forbidden: a caller who is known but may not do this.
var ErrForbidden = errors.New("forbidden")

type forbiddenError struct{ detail string }

func (e forbiddenError) Error() string        { return e.detail }
func (e forbiddenError) Is(target error) bool { return target == ErrForbidden }

// Forbidden is the refusal of a known caller, with a detail the caller may read; a service
// maps ErrForbidden to its 403 (or gRPC PERMISSION_DENIED) once, like its other errors.
func Forbidden(detail string) error { return forbiddenError{detail: detail} }

// Verify checks a bearer token and returns whom it speaks for (for doors other than HTTP).
func (g *Guard) Verify(ctx context.Context, raw string) (Principal, error) {
	return g.verifier.Verify(ctx, raw)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
