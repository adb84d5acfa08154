package httpx

import "net/http"

// CustomerOrders is the answer of every API that lists a customer's orders a page at a time:
// the page's orders, newest first, and the cursor of the next page unless it is the last.
type CustomerOrders[T any] struct {
	CustomerID string `json:"customerId"`
	Orders     []T    `json:"orders"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// WriteCustomerOrders answers a page of a customer's orders, each as toJSON shows it.
func WriteCustomerOrders[O, T any](w http.ResponseWriter, customer string, orders []O, next string, toJSON func(O) T) {
	page := CustomerOrders[T]{CustomerID: customer, Orders: make([]T, 0, len(orders)), NextCursor: next}
	for _, o := range orders {
		page.Orders = append(page.Orders, toJSON(o))
	}
	WriteJSON(w, http.StatusOK, page)
}
