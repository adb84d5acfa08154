package adapters

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/skmall/skmall/delivery/internal/app"
	"github.com/skmall/skmall/delivery/internal/domain"
)

// MemoryRepository keeps deliveries in memory, for tests. It stores records, as the Dapr
// repository does, so the stored form's conversion is exercised too.
type MemoryRepository struct {
	mu   sync.Mutex
	recs map[domain.OrderID]record
}

// NewMemoryRepository returns an empty in-memory repository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{recs: map[domain.OrderID]record{}}
}

func (m *MemoryRepository) Get(_ context.Context, order domain.OrderID) (domain.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.recs[order]
	if !ok {
		return domain.Delivery{}, fmt.Errorf("%w: order %s", domain.ErrUnknownDelivery, order)
	}
	return rec.delivery()
}

func (m *MemoryRepository) Update(_ context.Context, order domain.OrderID, change func(*domain.Delivery) *domain.Delivery) (domain.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cur *record
	if rec, ok := m.recs[order]; ok {
		cur = &rec
	}
	next, err := update(cur, change)
	if err != nil {
		return domain.Delivery{}, err
	}
	if next != nil {
		m.recs[order] = *next
		return next.delivery()
	}
	return cur.delivery()
}

func (m *MemoryRepository) Add(_ context.Context, d domain.Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[d.Line().Order()]; ok {
		return fmt.Errorf("%w: order %s", app.ErrDeliveryExists, d.Line().Order())
	}
	m.recs[d.Line().Order()] = toRecord(d)
	return nil
}

// Announced kinds, as a MemoryAnnouncer records them.
const (
	AnnouncedStarted   = "DeliveryStarted"
	AnnouncedCancelled = "DeliveryCancelled"
)

// Announcement is one thing a MemoryAnnouncer was told.
type Announcement struct {
	Kind     string // AnnouncedStarted or AnnouncedCancelled
	Delivery domain.Delivery
}

// MemoryAnnouncer keeps what it is told to announce, for tests of the use cases.
type MemoryAnnouncer struct {
	mu        sync.Mutex
	announced []Announcement
}

func (m *MemoryAnnouncer) DeliveryStarted(_ context.Context, d domain.Delivery) error {
	return m.add(AnnouncedStarted, d)
}

func (m *MemoryAnnouncer) DeliveryCancelled(_ context.Context, d domain.Delivery) error {
	return m.add(AnnouncedCancelled, d)
}

func (m *MemoryAnnouncer) add(kind string, d domain.Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.announced = append(m.announced, Announcement{Kind: kind, Delivery: d})
	return nil
}

// Announced returns what was announced, in order.
func (m *MemoryAnnouncer) Announced() []Announcement {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.announced)
}

// UnreachableRepository is a store that fails every read and write with Cause, for tests of
// what the service does while its store is out of reach.
type UnreachableRepository struct{ Cause error }

func (s UnreachableRepository) Get(context.Context, domain.OrderID) (domain.Delivery, error) {
	return domain.Delivery{}, s.Cause
}

func (s UnreachableRepository) Update(context.Context, domain.OrderID, func(*domain.Delivery) *domain.Delivery) (domain.Delivery, error) {
	return domain.Delivery{}, s.Cause
}

func (s UnreachableRepository) Add(context.Context, domain.Delivery) error { return s.Cause }
