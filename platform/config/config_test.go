package config_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/skmall/skmall/platform/config"
)

type base struct {
	Port  int
	Token string `secret:"true"`
}

type cfg struct {
	base
	Store    string
	Password string `secret:"true"`
	Empty    string `secret:"true"`
}

func TestLogMasksSecretsEvenInEmbeddedStructs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	config.Log(slog.New(slog.NewJSONHandler(&buf, nil)), &cfg{base: base{Port: 8082, Token: "tok-123"}, Store: "order-store", Password: "pw-456"})
	out := buf.String()
	if strings.Contains(out, "tok-123") || strings.Contains(out, "pw-456") {
		t.Fatalf("a secret leaked: %s", out)
	}
	for _, want := range []string{`"Port":8082`, `"Store":"order-store"`, `"Token":"***"`, `"Password":"***"`, `"Empty":""`} {
		if !strings.Contains(out, want) {
			t.Fatalf("%s missing from %s", want, out)
		}
	}
}
