// Package auth decides who gets in: callers of the public API prove who they are with a JWT
// signed by a key of the configured JWKS; routes only the Dapr sidecar may call are guarded by
// the app API token daprd sends. No business rules: what a principal may do with an order is
// the service's question, answered with Principal.MayActFor.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// RoleAdmin may register products, adjust stock, read and cancel any order and run the
// dead-letter tools.
const RoleAdmin = "admin"

// Config is where tokens come from and what they must say.
type Config struct {
	// JWKS is the key set tokens are checked against: an https:// or http:// URL (fetched and
	// refreshed in the background) or a file.
	JWKS     string `envconfig:"AUTH_JWKS" required:"true"`
	Issuer   string `envconfig:"AUTH_ISSUER" required:"true"`
	Audience string `envconfig:"AUTH_AUDIENCE" default:"skmall"`
	// Algorithms pins the signature algorithms accepted; symmetric ones and "none" are refused.
	Algorithms []string      `envconfig:"AUTH_ALGORITHMS" default:"ES256,RS256"`
	Leeway     time.Duration `envconfig:"AUTH_LEEWAY" default:"30s"`
}

// Principal is who a valid token speaks for.
type Principal struct {
	Subject string
	Roles   []string
}

// IsAdmin reports whether the principal holds the admin role.
func (p Principal) IsAdmin() bool {
	for _, r := range p.Roles {
		if r == RoleAdmin {
			return true
		}
	}
	return false
}

// MayActFor reports whether the principal may see or change what belongs to customer: their
// own things, or anyone's for an admin.
func (p Principal) MayActFor(customer string) bool {
	return p.IsAdmin() || (customer != "" && p.Subject == customer)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal an authenticated request carries; the zero Principal
// (who may act for nobody) when there is none.
func FromContext(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// ErrInvalidToken is a token that proves nothing: malformed, badly signed, expired, not yet
// valid, for another issuer or audience.
var ErrInvalidToken = errors.New("invalid token")

type claims struct {
	jwt.RegisteredClaims
	Roles []string `json:"roles,omitempty"`
}

// Verifier checks tokens. A token it accepted is remembered (by its exact text) until it
// expires, or for at most rememberFor, so that a customer's every request does not pay for a
// signature check; a key dropped from the JWKS stops working within rememberFor.
type Verifier struct {
	keys   keyfunc.Keyfunc
	parser *jwt.Parser

	mu       sync.Mutex
	accepted map[string]remembered
}

type remembered struct {
	p     Principal
	until time.Time
}

const (
	rememberFor = 5 * time.Minute
	rememberMax = 10000
)

// NewVerifier loads the key set (a URL keeps being refreshed until ctx ends) and pins what a
// token must say.
func NewVerifier(ctx context.Context, c Config) (*Verifier, error) {
	for _, alg := range c.Algorithms {
		switch {
		case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"), strings.HasPrefix(alg, "ES"), alg == "EdDSA":
		default:
			return nil, fmt.Errorf("AUTH_ALGORITHMS: %q is not an asymmetric signature algorithm", alg)
		}
	}
	if len(c.Algorithms) == 0 {
		return nil, errors.New("AUTH_ALGORITHMS: at least one algorithm is needed")
	}
	var (
		keys keyfunc.Keyfunc
		err  error
	)
	if strings.HasPrefix(c.JWKS, "https://") || strings.HasPrefix(c.JWKS, "http://") {
		keys, err = keyfunc.NewDefaultCtx(ctx, []string{c.JWKS})
	} else {
		var raw []byte
		if raw, err = os.ReadFile(c.JWKS); err == nil {
			keys, err = keyfunc.NewJWKSetJSON(json.RawMessage(raw))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("AUTH_JWKS %s: %w", c.JWKS, err)
	}
	return &Verifier{
		keys:     keys,
		accepted: map[string]remembered{},
		parser: jwt.NewParser(
			jwt.WithValidMethods(c.Algorithms),
			jwt.WithIssuer(c.Issuer),
			jwt.WithAudience(c.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(c.Leeway),
		),
	}, nil
}

// Verify checks a raw token and returns who it speaks for.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	now := time.Now()
	v.mu.Lock()
	r, ok := v.accepted[raw]
	v.mu.Unlock()
	if ok && now.Before(r.until) {
		return r.p, nil
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(raw, &c, v.keys.KeyfuncCtx(ctx)); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if c.Subject == "" {
		return Principal{}, fmt.Errorf("%w: the token has no subject", ErrInvalidToken)
	}
	p := Principal{Subject: c.Subject, Roles: c.Roles}
	until := now.Add(rememberFor)
	if exp := c.ExpiresAt.Time; exp.Before(until) {
		until = exp
	}
	v.mu.Lock()
	if len(v.accepted) >= rememberMax {
		clear(v.accepted)
	}
	v.accepted[raw] = remembered{p: p, until: until}
	v.mu.Unlock()
	return p, nil
}
