package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/delivery/internal/app"
	"github.com/skmall/skmall/delivery/internal/domain"
	"github.com/skmall/skmall/platform/daprstate"
)

// DaprRepository keeps deliveries in a Dapr state store.
type DaprRepository struct {
	store *daprstate.Store[record]
}

// NewDaprRepository returns a repository on the named state store.
func NewDaprRepository(client daprstate.Client, store string) *DaprRepository {
	return &DaprRepository{store: daprstate.New[record](client, store, "delivery-")}
}

func (r *DaprRepository) Get(ctx context.Context, order domain.OrderID) (domain.Delivery, error) {
	rec, found, err := r.store.Get(ctx, order.String())
	if err != nil {
		return domain.Delivery{}, err
	}
	if !found {
		return domain.Delivery{}, fmt.Errorf("%w: order %s", domain.ErrUnknownDelivery, order)
	}
	return rec.delivery()
}

func (r *DaprRepository) Update(ctx context.Context, order domain.OrderID, change func(*domain.Delivery) *domain.Delivery) (domain.Delivery, error) {
	rec, err := r.store.Update(ctx, order.String(), func(cur *record) (daprstate.Change[record], error) {
		next, err := update(cur, change)
		return daprstate.Change[record]{Value: next}, err
	})
	if err != nil {
		return domain.Delivery{}, err
	}
	return rec.delivery()
}

// Add creates the delivery's document (create-only).
func (r *DaprRepository) Add(ctx context.Context, d domain.Delivery) error {
	err := r.store.Create(ctx, d.Line().Order().String(), toRecord(d))
	if errors.Is(err, daprstate.ErrExists) {
		return fmt.Errorf("%w: order %s", app.ErrDeliveryExists, d.Line().Order())
	}
	return err
}

// Publisher publishes contract events: platform/eventsub's Publisher on Dapr pub/sub (or its
// MemoryPublisher, which checks events against the same schemas, in tests).
type Publisher interface {
	Publish(ctx context.Context, e contracts.Event) error
}

// Announcer announces deliveries as contract events on the deliveries topic.
type Announcer struct {
	pub Publisher
}

// NewAnnouncer returns an announcer that publishes through pub.
func NewAnnouncer(pub Publisher) *Announcer { return &Announcer{pub: pub} }

// DeliveryStarted publishes DeliveryStarted, which occurred when the delivery was created.
func (a *Announcer) DeliveryStarted(ctx context.Context, d domain.Delivery) error {
	return a.pub.Publish(ctx, event(contracts.DeliveryStarted, d, d.CreatedAt()))
}

// DeliveryCancelled publishes DeliveryCancelled, which occurred when the delivery last changed.
func (a *Announcer) DeliveryCancelled(ctx context.Context, d domain.Delivery) error {
	return a.pub.Publish(ctx, event(contracts.DeliveryCancelled, d, d.UpdatedAt()))
}

// event is the event of type t about d. Its id depends only on the type and the order, so
// every announcement of the same fact carries the same id.
func event(t contracts.EventType, d domain.Delivery, at time.Time) contracts.Event {
	l := d.Line()
	return contracts.Event{
		EventID: contracts.EventID(t, l.Order().String()), EventType: t, OccurredAt: at,
		OrderID: l.Order().String(), CustomerID: l.Customer().String(), ProductID: l.Product().String(),
		Qty: l.Qty().Int(), DeliveryID: d.ID().String(),
	}
}
