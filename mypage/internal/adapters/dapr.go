package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skmall/skmall/mypage/internal/domain"
	"github.com/skmall/skmall/platform/daprstate"
)

// DaprRepository keeps rows in a Dapr state store, one document per order, and each
// customer's list of orders in pages (daprstate.Log), so that no write grows with a
// customer's history.
//
// A row and its customer's list are read together; a new row is listed first, then written
// marked listed (daprstate.UpdateListedApart): a listed order whose row is not written yet is
// skipped when the list is read, and should the write fail, the retry finds the order listed.
// (A transaction would do it in one step where the store has them, but Dapr's Redis store
// does not keep a create in a transaction from overwriting a concurrent one.)
//
// An order's facts come in pairs within milliseconds of each other (placed, then its delivery
// started; cancelled, then its delivery cancelled): the changes of a row that arrive within
// the repository's window go to the store together: one read, and one write of each document
// they change.
type DaprRepository struct {
	rows  *daprstate.Store[rowRecord]
	lists *daprstate.Log
}

// NewDaprRepository returns a repository on the named state store whose row changes wait
// window for others of the same row (0: none).
func NewDaprRepository(client daprstate.Client, store string, window time.Duration) *DaprRepository {
	return &DaprRepository{
		rows:  daprstate.New[rowRecord](client, store, "row-").CombineWithin(window),
		lists: daprstate.NewLog(client, store, "customer-"),
	}
}

func (d *DaprRepository) Row(ctx context.Context, c domain.CustomerID, orderID domain.OrderID) (domain.Row, error) {
	rec, found, err := d.rows.Get(ctx, orderID.String())
	if err != nil {
		return domain.Row{}, err
	}
	if !found || rec.Customer != c.String() {
		return domain.Row{}, domain.ErrUnknownOrder
	}
	return rec.row()
}

func (d *DaprRepository) Page(ctx context.Context, c domain.CustomerID, cursor string) ([]domain.Row, string, error) {
	ids, next, err := d.lists.Page(ctx, c.String(), cursor)
	if errors.Is(err, daprstate.ErrBadCursor) {
		return nil, "", fmt.Errorf("%w: %w", domain.ErrInvalidInput, err)
	}
	if err != nil {
		return nil, "", err
	}
	recs, err := d.rows.GetMany(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	rows := make([]domain.Row, 0, len(recs))
	for _, rec := range recs {
		if rec.Customer != c.String() {
			continue
		}
		row, err := rec.row()
		if err != nil {
			return nil, "", err
		}
		rows = append(rows, row)
	}
	return rows, next, nil
}

func (d *DaprRepository) Update(ctx context.Context, c domain.CustomerID, orderID domain.OrderID, change func(*domain.Row) bool) error {
	key := orderID.String()
	return daprstate.UpdateListedApart(ctx, d.rows, key, d.lists, c.String(), key, func(cur *rowRecord) (*rowRecord, bool, error) {
		row, listed := domain.NewRow(c, orderID), false
		if cur != nil {
			stored, err := cur.row()
			if err != nil {
				return nil, false, err
			}
			if stored.Customer() != c {
				return nil, false, fmt.Errorf("%w: order %s belongs to %s, not %s", domain.ErrInvalidInput, orderID, stored.Customer(), c)
			}
			row, listed = stored, cur.Listed
		}
		if !change(&row) {
			return nil, false, nil
		}
		next := toRecord(row, true)
		return &next, !listed, nil
	})
}
