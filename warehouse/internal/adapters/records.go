// Package adapters connects the warehouse to the outside: its Dapr state store and the order
// service (through Dapr service invocation), and in-memory twins of both for tests.
package adapters

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/skmall/skmall/warehouse/internal/domain"
)

// productRecord is how a product is stored.
type productRecord struct {
	ProductID string               `json:"productId"`
	Name      string               `json:"name"`
	OnHand    int                  `json:"onHand"`
	Reserved  int                  `json:"reserved"`
	Holds     map[string]time.Time `json:"holds,omitempty"`
}

func toProductRecord(p domain.Product) productRecord {
	var holds map[string]time.Time
	if h := p.Holds(); len(h) > 0 {
		holds = make(map[string]time.Time, len(h))
		for order, until := range h {
			holds[order.String()] = until
		}
	}
	return productRecord{ProductID: p.ID().String(), Name: p.Name(), OnHand: p.OnHand(), Reserved: p.Reserved(), Holds: holds}
}

func (r productRecord) product() (domain.Product, error) {
	id, err := domain.ParseProductID(r.ProductID)
	if err != nil {
		return domain.Product{}, fmt.Errorf("stored product %q: %w", r.ProductID, err)
	}
	var holds map[domain.OrderID]time.Time
	if len(r.Holds) > 0 {
		holds = make(map[domain.OrderID]time.Time, len(r.Holds))
		for s, until := range r.Holds {
			order, err := domain.ParseOrderID(s)
			if err != nil {
				return domain.Product{}, fmt.Errorf("stored product %s: hold: %w", id, err)
			}
			holds[order] = until
		}
	}
	return domain.RestoreProduct(id, r.Name, r.OnHand, r.Reserved, holds), nil
}

// catalog lists the ids of all products, so that they can be visited.
type catalog struct {
	ProductIDs []string `json:"productIds"`
}

func (c catalog) productIDs() ([]domain.ProductID, error) {
	var ids []domain.ProductID
	for _, s := range c.ProductIDs {
		id, err := domain.ParseProductID(s)
		if err != nil {
			return nil, fmt.Errorf("stored catalog: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// reservationRecord is how a reservation is stored.
type reservationRecord struct {
	// ID is empty in reservations stored before reservations had names.
	ID        string    `json:"id,omitempty"`
	OrderID   string    `json:"orderId"`
	ProductID string    `json:"productId"`
	Qty       int       `json:"qty"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func toReservationRecord(r domain.Reservation) reservationRecord {
	return reservationRecord{
		ID: r.ID().String(), OrderID: r.Order().String(), ProductID: r.Product().String(), Qty: r.Qty().Int(),
		Status: r.Status().String(), CreatedAt: r.CreatedAt(), UpdatedAt: r.UpdatedAt(),
	}
}

func (r reservationRecord) reservation() (domain.Reservation, error) {
	res, err := r.parse()
	if err != nil {
		return domain.Reservation{}, fmt.Errorf("stored reservation of order %q: %w", r.OrderID, err)
	}
	return res, nil
}

func (r reservationRecord) parse() (domain.Reservation, error) {
	var id domain.ReservationID
	if r.ID != "" {
		var err error
		if id, err = domain.ParseReservationID(r.ID); err != nil {
			return domain.Reservation{}, err
		}
	}
	order, err := domain.ParseOrderID(r.OrderID)
	if err != nil {
		return domain.Reservation{}, err
	}
	product, err := domain.ParseProductID(r.ProductID)
	if err != nil {
		return domain.Reservation{}, err
	}
	qty, err := domain.ParseQty(r.Qty)
	if err != nil {
		return domain.Reservation{}, err
	}
	st, err := domain.ParseReservationStatus(r.Status)
	if err != nil {
		return domain.Reservation{}, err
	}
	return domain.RestoreReservation(id, order, product, qty, st, r.CreatedAt, r.UpdatedAt), nil
}

// applyStockChange runs a stock change (see Repository.UpdateStock) on stored records and
// returns the records to write (nil when nothing changes).
func applyStockChange(id domain.ProductID, pr *productRecord, rr *reservationRecord,
	change func(p *domain.Product, r *domain.Reservation) (*domain.Reservation, error),
) (*productRecord, *reservationRecord, error) {
	_, np, nr, err := applyWithProduct(id, pr, rr, reservationRecord.reservation, toReservationRecord, change)
	return np, nr, err
}

// adjustmentRecord is how an adjustment of a product's stock is kept, under its key.
type adjustmentRecord struct {
	ProductID string    `json:"productId"`
	Key       string    `json:"key"`
	Delta     int       `json:"delta"`
	At        time.Time `json:"at"`
}

// adjustmentDoc is the document key of an adjustment: the product and the client's key,
// hashed, for a key may hold any printable character.
func adjustmentDoc(id domain.ProductID, key domain.AdjustmentKey) string {
	sum := sha256.Sum256([]byte(id.String() + "\x00" + key.String()))
	return hex.EncodeToString(sum[:])
}

func (r adjustmentRecord) adjustment() (domain.Adjustment, error) {
	key, err := domain.ParseAdjustmentKey(r.Key)
	if err != nil {
		return domain.Adjustment{}, fmt.Errorf("stored adjustment of %s: %w", r.ProductID, err)
	}
	return domain.NewAdjustment(key, r.Delta, r.At), nil
}

// applyAdjustment runs an adjustment (see Repository.AdjustProduct) on stored records and
// returns the product as it left it, and the records to write (nil when nothing changes).
func applyAdjustment(id domain.ProductID, pr *productRecord, ar *adjustmentRecord,
	change func(p *domain.Product, earlier *domain.Adjustment) (*domain.Adjustment, error),
) (domain.Product, *productRecord, *adjustmentRecord, error) {
	toRecord := func(a domain.Adjustment) adjustmentRecord {
		return adjustmentRecord{ProductID: id.String(), Key: a.Key().String(), Delta: a.Delta(), At: a.At()}
	}
	return applyWithProduct(id, pr, ar, adjustmentRecord.adjustment, toRecord, change)
}

// applyWithProduct runs a change of a product and of what is kept with it in one write (a
// reservation, an adjustment; cur is nil when there is none) on their stored forms, decoded
// and encoded by decode and encode. It returns the product as change left it, and the
// records to write: nil when change returns nil. Both repositories use it, so both read and
// write the same forms.
func applyWithProduct[D, R any](id domain.ProductID, pr *productRecord, rr *R,
	decode func(R) (D, error), encode func(D) R, change func(p *domain.Product, cur *D) (*D, error),
) (domain.Product, *productRecord, *R, error) {
	if pr == nil {
		return domain.Product{}, nil, nil, fmt.Errorf("%w: %s", domain.ErrUnknownProduct, id)
	}
	p, err := pr.product()
	if err != nil {
		return domain.Product{}, nil, nil, err
	}
	var cur *D
	if rr != nil {
		d, err := decode(*rr)
		if err != nil {
			return domain.Product{}, nil, nil, err
		}
		cur = &d
	}
	next, err := change(&p, cur)
	if err != nil || next == nil {
		return p, nil, nil, err
	}
	np, nr := toProductRecord(p), encode(*next)
	return p, &np, &nr, nil
}
