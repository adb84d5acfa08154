package ports_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skmall/skmall/order/internal/adapters"
	"github.com/skmall/skmall/order/internal/domain"
)

// FuzzPlaceOrder sends arbitrary bodies and Idempotency-Keys to POST /orders as alice: every
// answer is a placed order or a documented refusal, never a 500 or a panic.
func FuzzPlaceOrder(f *testing.F) {
	for _, seed := range []struct{ body, key string }{
		{`{"customerId":"alice","productId":"apple","qty":2}`, ""},
		{`{"customerId":"alice","productId":"apple","qty":2}`, "k-1"},
		{`{"customerId":"alice","productId":"apple","qty":2000000}`, ""},
		{`{"customerId":"alice","productId":"../../etc","qty":1}`, ""},
		{`{"customerId":"bob","productId":"apple","qty":1}`, ""},
		{`{"customerId":"","productId":"","qty":0}`, strings.Repeat("k", 300)},
		{`{"customerId":"alice","productId":"apple","qty":1,"price":0}`, ""},
		{`{"customerId":"alice"`, ""},
	} {
		f.Add(seed.body, seed.key)
	}
	h, issuer := newRouter(f, adapters.NewMemoryStock(map[domain.ProductID]int{pid("apple"): 1 << 20}))
	alice := issuer.Bearer("alice")
	allowed := map[int]bool{201: true, 400: true, 403: true, 409: true, 413: true, 415: true, 422: true}
	f.Fuzz(func(t *testing.T, body, key string) {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", alice)
		if key != "" && !strings.ContainsAny(key, "\r\n\x00") {
			req.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("POST /orders %q (key %q): %d %s", body, key, rec.Code, rec.Body)
		}
	})
}
