// Package app holds mypage's use cases: record what the shop's events tell about orders, and
// show a customer their orders.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skmall/skmall/mypage/internal/domain"
)

// ErrUnavailable is the page store not answering now.
var ErrUnavailable = errors.New("my page cannot be read or changed now")

// Repository stores customers' rows, one per order, and each customer's list of them.
type Repository interface {
	// Row returns a customer's row of an order; domain.ErrUnknownOrder if there is none.
	Row(ctx context.Context, c domain.CustomerID, orderID domain.OrderID) (domain.Row, error)
	// Page returns a page of a customer's rows, newest first, and the cursor of the next page
	// ("" after the last); cursor "" is the first page. A cursor it never handed out is
	// domain.ErrInvalidInput.
	Page(ctx context.Context, c domain.CustomerID, cursor string) (rows []domain.Row, next string, err error)
	// Update changes a customer's row of an order (a new row when there is none, listed on the
	// customer's page) under concurrency control; change reports whether it changed anything.
	// An order of another customer is domain.ErrInvalidInput.
	Update(ctx context.Context, c domain.CustomerID, orderID domain.OrderID, change func(*domain.Row) bool) error
}

// App is mypage.
type App struct{ repo Repository }

// New returns mypage's use cases.
func New(repo Repository) *App { return &App{repo: repo} }

// RecordOrderFact is something that happened to an order, as an event of the shop tells it:
// the fact (OrderPlaced, OrderCancelled, DeliveryStarted or DeliveryCancelled) and the order
// line.
type RecordOrderFact struct {
	Fact       string
	OrderID    string
	CustomerID string
	ProductID  string
	Qty        int
	OccurredAt time.Time
}

// RecordOrderFact records a fact about an order on its customer's page. Recording a fact
// again changes nothing; facts may come in any order.
func (a *App) RecordOrderFact(ctx context.Context, cmd RecordOrderFact) error {
	fact, err := domain.ParseFact(cmd.Fact)
	if err != nil {
		return err
	}
	c, err := domain.ParseCustomerID(cmd.CustomerID)
	if err != nil {
		return err
	}
	id, err := domain.ParseOrderID(cmd.OrderID)
	if err != nil {
		return err
	}
	product, err := domain.ParseProductID(cmd.ProductID)
	if err != nil {
		return err
	}
	qty, err := domain.ParseQty(cmd.Qty)
	if err != nil {
		return err
	}
	h := domain.Happening{Fact: fact, ProductID: product, Qty: qty, OccurredAt: cmd.OccurredAt}
	return storeErr(a.repo.Update(ctx, c, id, func(r *domain.Row) bool { return r.Learn(h) }))
}

// Orders returns a page of a customer's orders, newest first, and the cursor of the next.
func (a *App) Orders(ctx context.Context, customerID, cursor string) ([]domain.Row, string, error) {
	c, err := domain.ParseCustomerID(customerID)
	if err != nil {
		return nil, "", err
	}
	rows, next, err := a.repo.Page(ctx, c, cursor)
	return rows, next, storeErr(err)
}

// Order returns one order of a customer.
func (a *App) Order(ctx context.Context, customerID, orderID string) (domain.Row, error) {
	c, err := domain.ParseCustomerID(customerID)
	if err != nil {
		return domain.Row{}, err
	}
	id, err := domain.ParseOrderID(orderID)
	if err != nil {
		// A malformed id names no order: the customer has no such order, as for any other id.
		return domain.Row{}, fmt.Errorf("%s's order %s: %w", c, orderID, domain.ErrUnknownOrder)
	}
	row, err := a.repo.Row(ctx, c, id)
	if err != nil {
		return domain.Row{}, fmt.Errorf("%s's order %s: %w", c, id, storeErr(err))
	}
	return row, nil
}

// storeErr keeps the domain's errors and makes any other failure of the store ErrUnavailable.
func storeErr(err error) error {
	if err == nil || errors.Is(err, domain.ErrUnknownOrder) || errors.Is(err, domain.ErrInvalidInput) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
