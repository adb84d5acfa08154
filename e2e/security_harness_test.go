package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/auth/devkeys"
	"github.com/skmall/skmall/platform/daprtest"
)

// The shops of one test binary share a token issuer and a Dapr Sentry (certificate authority);
// TestMain stops Sentry and removes both when the run ends.
var (
	securityOnce sync.Once
	securityDir  string
	issuerKeys   *devkeys.Keys
	sentry       *proc
	sentryAddr   string
	trustAnchors string
	securityErr  error
)

func security(t testing.TB) {
	t.Helper()
	securityOnce.Do(func() {
		securityDir, securityErr = os.MkdirTemp("", "skmall-e2e-security-")
		if securityErr != nil {
			return
		}
		if issuerKeys, securityErr = devkeys.Ensure(filepath.Join(securityDir, "auth")); securityErr != nil {
			return
		}
		securityErr = startSentry(t)
	})
	if securityErr != nil {
		t.Fatal(securityErr)
	}
}

// startSentry runs Dapr Sentry, built from the pinned Dapr module next to daprd. The first
// start generates the root and issuer certificates; Sentry then reloads itself a few times as
// it sees its own files appear, so it is started again on the finished set.
func startSentry(t testing.TB) error {
	bin := filepath.Join(filepath.Dir(daprtest.Daprd(t)), "sentry")
	certs := filepath.Join(securityDir, "certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return err
	}
	port, healthz, metrics := daprtest.FreePort(t), daprtest.FreePort(t), daprtest.FreePort(t)
	args := []string{
		"--config", filepath.Join(daprtest.RepoRoot(t), "components", "sentry", "config.yaml"),
		"--issuer-credentials", certs, "--port", strconv.Itoa(port), "--listen-address", "127.0.0.1",
		"--healthz-port", strconv.Itoa(healthz), "--healthz-listen-address", "127.0.0.1",
		"--metrics-port", strconv.Itoa(metrics), "--metrics-listen-address", "127.0.0.1",
	}
	first := start(t, "sentry-init", securityDir, nil, bin, args...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(certs, "issuer.key")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			first.stop()
			return fmt.Errorf("sentry made no certificates in %s", certs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	first.stop()
	sentry = start(t, "sentry", securityDir, nil, bin, args...)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", healthz))
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				break
			}
			err = fmt.Errorf("healthz answered %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sentry is not healthy: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ca, err := os.ReadFile(filepath.Join(certs, "ca.crt"))
	if err != nil {
		return err
	}
	sentryAddr, trustAnchors = "127.0.0.1:"+strconv.Itoa(port), string(ca)
	return nil
}

func stopSecurity() {
	if sentry != nil {
		sentry.stop()
	}
	if securityDir != "" {
		_ = os.RemoveAll(securityDir)
	}
}

// Admin is the principal the harness acts as when a test names nobody: it may read everything.
const Admin = "ops"

// As returns the Authorization header (name, value) of a token for sub, with roles.
func (s *Shop) As(sub string, roles ...string) []string {
	s.t.Helper()
	tok, err := issuerKeys.Token(sub, roles, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	return []string{"Authorization", "Bearer " + tok}
}

// randomToken is a fresh API token for one app and its sidecar.
func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
