package telemetry_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/skmall/skmall/platform/telemetry"
)

func TestLinesLoggedInATraceCarryItsID(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	log := slog.New(telemetry.NewHandler(&out, slog.LevelInfo)).With("service", "test")
	ctx := telemetry.WithTraceparent(context.Background(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	log.InfoContext(ctx, "in a trace")
	log.InfoContext(context.Background(), "outside")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"traceId":"4bf92f3577b34da6a3ce929d0e0e4736"`) || strings.Contains(lines[1], "traceId") {
		t.Fatalf("lines:\n%s", out.String())
	}
}

func TestAChildKeepsTheTraceAndTakesANewSpan(t *testing.T) {
	t.Parallel()
	parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	child := telemetry.ChildTraceparent(telemetry.WithTraceparent(context.Background(), parent))
	if !strings.HasPrefix(child, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || child == parent || !strings.HasSuffix(child, "-01") {
		t.Fatalf("child %q of %q", child, parent)
	}
	for _, bad := range []string{"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"} {
		if id := telemetry.TraceID(telemetry.WithTraceparent(context.Background(), bad)); id != "" {
			t.Errorf("traceparent %q accepted as trace %q", bad, id)
		}
	}
	if id := telemetry.TraceID(telemetry.NewTrace(context.Background())); len(id) != 32 {
		t.Errorf("new trace id %q", id)
	}
}
