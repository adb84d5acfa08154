// Package eventsub receives the events daprd delivers to a subscription route, checks them
// against the event contracts and tells daprd what became of each: done, try again later, or
// dead-letter it.
package eventsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/telemetry"
)

// ErrPoison marks an event that can never be processed as it is. Wrap it (or return
// contracts.ErrInvalidEvent) to have daprd move the event to the dead-letter topic.
var ErrPoison = errors.New("event cannot be processed")

// Handler acts on one event. It must be safe to call more than once with the same event.
type Handler func(ctx context.Context, e contracts.Event) error

// Metrics counts events by outcome.
type Metrics struct {
	handled  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the event metrics of a service.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_handled_total",
			Help: "Events delivered by Dapr, by topic, event type and outcome (success, retry, deadletter).",
		}, []string{"topic", "type", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "event_handling_seconds", Help: "Time to handle one delivered event, by topic.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"topic"}),
	}
	reg.MustRegister(m.handled, m.duration)
	return m
}

// Reply statuses daprd understands.
const (
	statusSuccess = "SUCCESS"
	statusRetry   = "RETRY"
	statusDrop    = "DROP" // with a deadLetterTopic on the subscription, daprd dead-letters it
)

// envelope is the part of a CloudEvent this package reads.
type envelope struct {
	ID          string          `json:"id"`
	Topic       string          `json:"topic"`
	Data        json.RawMessage `json:"data"`
	DataBase64  []byte          `json:"data_base64"`
	Traceparent string          `json:"traceparent"`
}

// Route returns the HTTP handler for one subscription route: it decodes the CloudEvent,
// validates its payload against the contract, passes it to handle for each type in handlers,
// and answers SUCCESS, RETRY or DROP. Event types the service does not consume are
// acknowledged and ignored.
func Route(topic string, handlers map[contracts.EventType]Handler, m *Metrics, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		body, err := readBody(r)
		var (
			e           contracts.Event
			traceparent string
			handled     bool
		)
		if err == nil {
			e, traceparent, err = decode(body)
		}
		// The handler and every line logged about the event carry the event's trace.
		ctx := telemetry.WithTraceparent(r.Context(), traceparent)
		if err == nil {
			handled, err = dispatch(ctx, handlers, e)
		}
		// The event's attributes, formatted only for a line that is written (a logger's With
		// formats them at once, at a cost per event even when nothing is logged).
		attrs := []any{"topic", topic}
		if e.EventType.Valid() {
			attrs = append(attrs, "orderId", e.OrderID, "eventType", e.EventType, "eventId", e.EventID)
		}
		outcome, status := "success", statusSuccess
		switch {
		case err == nil && !handled:
			outcome = "ignored"
		case err == nil:
			log.DebugContext(ctx, "event handled", attrs...)
		case isPoison(err):
			outcome, status = "deadletter", statusDrop
			log.ErrorContext(ctx, "dead-lettering an event that cannot be processed", append(attrs, "err", err)...)
		default:
			outcome, status = "retry", statusRetry
			log.WarnContext(ctx, "event handling failed; daprd will deliver it again", append(attrs, "err", err)...)
		}
		typ := string(e.EventType)
		if !e.EventType.Valid() {
			typ = "invalid"
		}
		m.handled.WithLabelValues(topic, typ, outcome).Inc()
		m.duration.WithLabelValues(topic).Observe(time.Since(start).Seconds())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
	})
}

// handleBody decodes a delivered CloudEvent body and runs the handler for its type in the
// event's trace.
func handleBody(ctx context.Context, handlers map[contracts.EventType]Handler, body []byte) error {
	e, traceparent, err := decode(body)
	if err != nil {
		return err
	}
	_, err = dispatch(telemetry.WithTraceparent(ctx, traceparent), handlers, e)
	return err
}

// dispatch runs the handler for e's type; handled is false when the service does not consume
// that type.
func dispatch(ctx context.Context, handlers map[contracts.EventType]Handler, e contracts.Event) (handled bool, err error) {
	h, ok := handlers[e.EventType]
	if !ok {
		return false, nil
	}
	return true, h(ctx, e)
}

// isPoison reports whether err can never go away by retrying: the event breaks the contract
// or the handler said so.
func isPoison(err error) bool {
	return errors.Is(err, ErrPoison) || errors.Is(err, contracts.ErrInvalidEvent)
}

func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: reading body: %w", contracts.ErrInvalidEvent, err)
	}
	return body, nil
}

func decodeEnvelope(body []byte) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return env, fmt.Errorf("%w: not a CloudEvent: %w", contracts.ErrInvalidEvent, err)
	}
	return env, nil
}

// decode reads the contract event and its trace context out of a CloudEvent body.
func decode(body []byte) (contracts.Event, string, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return contracts.Event{}, "", err
	}
	e, err := decodePayload(env)
	return e, env.Traceparent, err
}

func decodePayload(env envelope) (contracts.Event, error) {
	payload := []byte(env.Data)
	switch {
	case len(env.DataBase64) > 0:
		payload = env.DataBase64
	case len(payload) > 0 && payload[0] == '"':
		// Published with a non-JSON content type, the payload arrives as a JSON string.
		var s string
		if err := json.Unmarshal(payload, &s); err != nil {
			return contracts.Event{}, fmt.Errorf("%w: %w", contracts.ErrInvalidEvent, err)
		}
		payload = []byte(s)
	case len(payload) == 0:
		return contracts.Event{}, fmt.Errorf("%w: CloudEvent %q has no data", contracts.ErrInvalidEvent, env.ID)
	}
	return contracts.Decode(payload)
}

// PoisonIf marks err as poison when it is one of permanent: errors no retry can fix.
func PoisonIf(err error, permanent ...error) error {
	for _, p := range permanent {
		if errors.Is(err, p) {
			return fmt.Errorf("%w: %w", ErrPoison, err)
		}
	}
	return err
}

// Handled is the events_handled_total counter, for tests.
func (m *Metrics) Handled() prometheus.Collector { return m.handled }
