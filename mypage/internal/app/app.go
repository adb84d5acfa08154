// Package app holds mypage's use cases: learn from events, and show a customer their orders.
package app

import (
	"context"
	"fmt"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/mypage/internal/domain"
)

// Repository stores customers' rows, one per order, and each customer's list of them.
type Repository interface {
	// Row returns a customer's row of an order; domain.ErrUnknownOrder if there is none.
	Row(ctx context.Context, c domain.CustomerID, orderID string) (domain.Row, error)
	// Page returns a page of a customer's rows, newest first, and the cursor of the next page
	// ("" after the last); cursor "" is the first page. A cursor it never handed out is
	// domain.ErrInvalidInput.
	Page(ctx context.Context, c domain.CustomerID, cursor string) (rows []domain.Row, next string, err error)
	// Update changes a customer's row of an order (a new row when there is none, listed on the
	// customer's page) under concurrency control; change reports whether it changed anything.
	Update(ctx context.Context, c domain.CustomerID, orderID string, change func(*domain.Row) bool) error
}

// App is mypage.
type App struct{ repo Repository }

// New returns mypage's use cases.
func New(repo Repository) *App { return &App{repo: repo} }

// Learn adds what an event tells to its customer's row of the order.
func (a *App) Learn(ctx context.Context, e contracts.Event) error {
	c, err := domain.ParseCustomerID(e.CustomerID)
	if err != nil {
		return err
	}
	h := domain.Happening{Fact: domain.Fact(e.EventType), OrderID: e.OrderID, ProductID: e.ProductID, Qty: e.Qty, OccurredAt: e.OccurredAt}
	return a.repo.Update(ctx, c, e.OrderID, func(r *domain.Row) bool { return r.Learn(h) })
}

// Orders returns a page of a customer's orders, newest first, and the cursor of the next.
func (a *App) Orders(ctx context.Context, customerID, cursor string) ([]domain.Row, string, error) {
	c, err := domain.ParseCustomerID(customerID)
	if err != nil {
		return nil, "", err
	}
	return a.repo.Page(ctx, c, cursor)
}

// Order returns one order of a customer.
func (a *App) Order(ctx context.Context, customerID, orderID string) (domain.Row, error) {
	c, err := domain.ParseCustomerID(customerID)
	if err != nil {
		return domain.Row{}, err
	}
	row, err := a.repo.Row(ctx, c, orderID)
	if err != nil {
		return domain.Row{}, fmt.Errorf("%s's order %s: %w", c, orderID, err)
	}
	return row, nil
}
