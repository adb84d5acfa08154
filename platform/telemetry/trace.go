package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
)

// The W3C trace context (https://www.w3.org/TR/trace-context/) an event or request carries:
// version, trace id, parent span id and flags. One order keeps one trace id across the four
// services, so its log lines can be found together.
var traceparentPattern = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

type traceKey struct{}

// trace is the trace context a context carries, checked and split once when it is attached:
// every log line reads its id.
type trace struct{ id, flags string }

// WithTraceparent returns ctx carrying the trace context traceparent, if it is a valid W3C
// traceparent (anything else is ignored).
func WithTraceparent(ctx context.Context, traceparent string) context.Context {
	if m := traceparentPattern.FindStringSubmatch(traceparent); m != nil && m[1] != zeroTraceID {
		return context.WithValue(ctx, traceKey{}, trace{id: m[1], flags: m[3]})
	}
	return ctx
}

const zeroTraceID = "00000000000000000000000000000000"

// NewTrace returns ctx carrying a new trace, for work that starts here.
func NewTrace(ctx context.Context) context.Context {
	return context.WithValue(ctx, traceKey{}, trace{id: randomHex(16), flags: "01"})
}

// TraceID is the trace id ctx carries, or "".
func TraceID(ctx context.Context) string {
	t, _ := ctx.Value(traceKey{}).(trace)
	return t.id
}

// ChildTraceparent is the traceparent for what ctx's work causes (an event it publishes): the
// same trace, a new span. "" when ctx carries no trace.
func ChildTraceparent(ctx context.Context) string {
	t, ok := ctx.Value(traceKey{}).(trace)
	if !ok {
		return ""
	}
	return "00-" + t.id + "-" + randomHex(8) + "-" + t.flags
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// traceHandler adds the trace id of the context a line is logged with, so every line about
// an event or request carries it.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := TraceID(ctx); id != "" {
		r.AddAttrs(slog.String("traceId", id))
	}
	return h.Handler.Handle(ctx, r) //nolint:wrapcheck // a decorator adds nothing to say
}

func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(as)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
