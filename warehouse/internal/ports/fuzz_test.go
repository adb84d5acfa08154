package ports_test

import (
	"testing"

	"github.com/skmall/skmall/platform/auth/authtest"
)

// FuzzReserveStock sends arbitrary bodies to the reservation API as the sidecar would: every
// answer is a result (reserved or refused) or a documented refusal, never a 500 or a panic.
func FuzzReserveStock(f *testing.F) {
	for _, seed := range []string{
		`{"orderId":"o1","productId":"apple","qty":2,"reservationId":"r1"}`,
		`{"orderId":"o1","productId":"apple","qty":3,"reservationId":"r2"}`,
		`{"orderId":"o1","productId":"apple","qty":3,"reservationId":"r3","replaces":["r1"]}`,
		`{"orderId":"o2","productId":"durian","qty":1,"reservationId":"r1"}`,
		`{"orderId":"o3","productId":"apple","qty":-1,"reservationId":"r1"}`,
		`{"orderId":"","productId":"apple","qty":1,"reservationId":"r1"}`,
		`{"orderId":"o4","productId":"apple","qty":1e9,"reservationId":"r1"}`,
		`{"orderId":"o4","productId":"apple","qty":1}`,
		`{"orderId":"o5"}`, `[]`, `nul`,
	} {
		f.Add(seed)
	}
	h, issuer := newRouter(f)
	authtest.Do(h, "POST", "/products", `{"productId":"apple","name":"Apple","stock":1000}`, issuer.Bearer("ops", "admin"))
	allowed := map[int]bool{200: true, 400: true, 413: true, 415: true, 422: true}
	f.Fuzz(func(t *testing.T, body string) {
		if rec := authtest.Do(h, "POST", "/reservations", body, authtest.Sidecar); !allowed[rec.Code] {
			t.Fatalf("POST /reservations %q: %d %s", body, rec.Code, rec.Body)
		}
	})
}
