package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestLongHistoriesComeInPages: a customer with more orders than a page holds gets them a
// page at a time, newest first, from order and from mypage, and no order is missing or
// listed twice across the pages (WaitConverged reads them all).
func TestLongHistoriesComeInPages(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	l := newLedger()
	shop.RegisterProduct(l, "apple", 1000)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for range 130 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, r := shop.PlaceOrder(l, "loyal", "apple", 1); r.Status != http.StatusCreated {
				t.Errorf("order: %d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	shop.WaitConverged(l, 2*time.Minute)
	for _, c := range []struct{ app, path string }{
		{"order", "/orders?customerId=loyal"},
		{"mypage", "/mypage/loyal/orders"},
	} {
		var page struct {
			Orders []struct {
				CreatedAt time.Time `json:"createdAt"`
			} `json:"orders"`
			NextCursor string `json:"nextCursor"`
		}
		shop.Call(http.MethodGet, c.app, c.path, nil, shop.As("loyal")...).JSON(t, &page)
		if len(page.Orders) == 0 || len(page.Orders) > 100 || page.NextCursor == "" {
			t.Errorf("%s: the first page holds %d orders, next %q", c.app, len(page.Orders), page.NextCursor)
		}
		if r := shop.Call(http.MethodGet, c.app, c.path+map[bool]string{true: "&", false: "?"}[c.app == "order"]+"cursor=p99", nil, shop.As("loyal")...); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: a cursor never handed out: %d", c.app, r.Status)
		}
	}
}
