// Package devkeys is the local shop's token issuer: an ES256 key pair generated on first use
// in a folder of the developer's (never committed), the JWKS the services check tokens
// against, the same public key as PEM for the gateway, and tokens signed with it.
package devkeys

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

const (
	// Issuer is the issuer the local shop expects in a token (AUTH_ISSUER).
	Issuer = "skmall-dev"
	// Audience is the audience the local shop expects in a token (AUTH_AUDIENCE).
	Audience = "skmall"

	keyFile    = "signing-key.pem"
	jwksFile   = "jwks.json"
	publicFile = "public-key.pem"
)

// Keys is a signing key and the file holding its public half as a JWKS.
type Keys struct {
	key  *ecdsa.PrivateKey
	kid  string
	dir  string
	jwks string
}

// Ensure loads the key pair in dir, generating it (and the JWKS next to it) the first time.
func Ensure(dir string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	keyPath := filepath.Join(dir, keyFile)
	raw, err := os.ReadFile(keyPath) //nolint:gosec // the caller names the key's directory
	var key *ecdsa.PrivateKey
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("encode signing key: %w", err)
		}
		if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("save signing key: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("read signing key: %w", err)
	default:
		block, _ := pem.Decode(raw)
		if block == nil {
			return nil, fmt.Errorf("%s holds no PEM key", keyPath)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyPath, err)
		}
		var ok bool
		if key, ok = parsed.(*ecdsa.PrivateKey); !ok {
			return nil, fmt.Errorf("%s is not an ECDSA key", keyPath)
		}
	}
	k := &Keys{key: key, kid: keyID(&key.PublicKey), dir: dir, jwks: filepath.Join(dir, jwksFile)}
	if err := k.writeJWKS(); err != nil {
		return nil, err
	}
	return k, k.writePublicKey()
}

// keyID names a key by its public half, so that a regenerated key never shares an id.
func keyID(pub *ecdsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (k *Keys) writeJWKS() error {
	jwk, err := jwkset.NewJWKFromKey(&k.key.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgES256, KID: k.kid, USE: jwkset.UseSig},
	})
	if err != nil {
		return fmt.Errorf("public key as JWK: %w", err)
	}
	set := jwkset.NewMemoryStorage()
	ctx := context.Background()
	if err := set.KeyWrite(ctx, jwk); err != nil {
		return fmt.Errorf("JWKS: %w", err)
	}
	raw, err := set.JSONPublic(ctx)
	if err != nil {
		return fmt.Errorf("JWKS: %w", err)
	}
	// The public keys: the services (other users, in containers) read them.
	if err := os.WriteFile(k.jwks, raw, 0o644); err != nil { //nolint:gosec // public, read by the services
		return fmt.Errorf("save JWKS: %w", err)
	}
	return nil
}

// writePublicKey saves the public half as PEM, the form the gateway verifies signatures with
// (it keys its rate limit by the subject of a token only when the signature holds).
func (k *Keys) writePublicKey() error {
	der, err := x509.MarshalPKIXPublicKey(&k.key.PublicKey)
	if err != nil {
		return fmt.Errorf("encode public key: %w", err)
	}
	raw := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if err := os.WriteFile(k.PublicKeyPath(), raw, 0o644); err != nil { //nolint:gosec // public, read by the gateway
		return fmt.Errorf("save public key: %w", err)
	}
	return nil
}

// PublicKeyPath is the file holding the public key as PEM (the gateway's GATEWAY_TOKEN_KEY).
func (k *Keys) PublicKeyPath() string { return filepath.Join(k.dir, publicFile) }

// JWKSPath is the file the services read the public key from (AUTH_JWKS).
func (k *Keys) JWKSPath() string { return k.jwks }

// Sign signs any claims with the key, naming it in the header so the JWKS finds it.
func (k *Keys) Sign(claims jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = k.kid
	tok, err := t.SignedString(k.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

// Token returns a token for sub with roles, valid for ttl from now.
func (k *Keys) Token(sub string, roles []string, ttl time.Duration) (string, error) {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": Issuer, "aud": Audience, "sub": sub,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
	}
	if len(roles) > 0 {
		c["roles"] = roles
	}
	return k.Sign(c)
}
