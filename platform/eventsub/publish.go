package eventsub

import (
	"context"
	"fmt"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/skmall/skmall/contracts"
)

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
	if err := p.client.PublishEvent(ctx, p.pubsub, e.EventType.Topic(), raw,
		dapr.PublishEventWithContentType("application/json")); err != nil {
		return fmt.Errorf("publish %s: %w", e, err)
	}
	return nil
}
