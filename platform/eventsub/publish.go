package eventsub

import (
	"context"
	"fmt"
	"slices"
	"sync"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/telemetry"
)

// TraceMetadata is the publish metadata that sets the CloudEvent's traceparent: daprd takes
// "cloudevent."-prefixed metadata as overrides of the envelope it builds.
func TraceMetadata(traceparent string) map[string]string {
	return map[string]string{"cloudevent.traceparent": traceparent}
}

// Publisher publishes contract events through a Dapr pub/sub component.
type Publisher struct {
	client dapr.Client
	pubsub string
}

// NewPublisher returns a publisher on the named pub/sub component.
func NewPublisher(client dapr.Client, pubsub string) *Publisher {
	return &Publisher{client: client, pubsub: pubsub}
}

// Publish validates e against its schema and publishes it on its topic.
func (p *Publisher) Publish(ctx context.Context, e contracts.Event) error {
	raw, err := contracts.Encode(e)
	if err != nil {
		return err
	}
	opts := []dapr.PublishEventOption{dapr.PublishEventWithContentType("application/json")}
	if tp := telemetry.ChildTraceparent(ctx); tp != "" {
		// The event continues the trace of what caused it (see TraceMetadata).
		opts = append(opts, dapr.PublishEventWithMetadata(TraceMetadata(tp)))
	}
	if err := p.client.PublishEvent(ctx, p.pubsub, e.EventType.Topic(), raw, opts...); err != nil {
		return fmt.Errorf("publish %s: %w", e, err)
	}
	return nil
}

// MemoryPublisher records what it is asked to publish (after the same schema check), for tests.
type MemoryPublisher struct {
	mu     sync.Mutex
	events []contracts.Event
}

// Publish records e after checking it against the contract, as the real publisher would.
func (p *MemoryPublisher) Publish(_ context.Context, e contracts.Event) error {
	if _, err := contracts.Encode(e); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, e)
	return nil
}

// Events returns what was published.
func (p *MemoryPublisher) Events() []contracts.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}
