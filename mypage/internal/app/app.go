// Package app holds mypage's use cases: learn from events, and show a customer their orders.
package app

import (
	"context"
	"fmt"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/mypage/internal/domain"
)

// Repository stores customers' views.
type Repository interface {
	// View returns a customer's view; an empty one if nothing was heard of them yet.
	View(ctx context.Context, c domain.CustomerID) (domain.View, error)
	// Update changes a customer's view under concurrency control; change reports whether it
	// changed anything.
	Update(ctx context.Context, c domain.CustomerID, change func(*domain.View) bool) error
}

// App is mypage.
type App struct{ repo Repository }

// New returns mypage's use cases.
func New(repo Repository) *App { return &App{repo: repo} }

// Learn adds what an event tells to its customer's view.
func (a *App) Learn(ctx context.Context, e contracts.Event) error {
	c, err := domain.ParseCustomerID(e.CustomerID)
	if err != nil {
		return err
	}
	h := domain.Happening{Fact: domain.Fact(e.EventType), OrderID: e.OrderID, ProductID: e.ProductID, Qty: e.Qty, OccurredAt: e.OccurredAt}
	return a.repo.Update(ctx, c, func(v *domain.View) bool { return v.Learn(h) })
}

// Orders returns a customer's orders.
func (a *App) Orders(ctx context.Context, customerID string) (domain.View, error) {
	c, err := domain.ParseCustomerID(customerID)
	if err != nil {
		return domain.View{}, err
	}
	return a.repo.View(ctx, c)
}

// Order returns one order of a customer.
func (a *App) Order(ctx context.Context, customerID, orderID string) (domain.Row, error) {
	v, err := a.Orders(ctx, customerID)
	if err != nil {
		return domain.Row{}, err
	}
	row, ok := v.Orders[orderID]
	if !ok {
		return domain.Row{}, fmt.Errorf("%w: %s has no order %s", domain.ErrUnknownOrder, customerID, orderID)
	}
	return row, nil
}
