package httpx_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skmall/skmall/platform/httpx"
)

// FuzzDecode: whatever a client sends, Decode either returns a value or a refusal the caller
// can act on (a 4xx), and never panics.
func FuzzDecode(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"customerId":"alice","productId":"apple","qty":3}`},
		{"application/json", `{"customerId":"alice","productId":"apple","qty":3}{}`},
		{"application/json", `{"qty":"three"}`},
		{"application/json", `{"qty":1e400}`},
		{"application/json", `{"price":0}`},
		{"application/json", `[`},
		{"application/json; charset=utf-8", `null`},
		{"text/plain", `hello`},
		{"application/cloudevents+json", `{"customerId":"\u0000"}`},
		{"", ``},
		{"application/json", strings.Repeat(`[`, 10000)},
	} {
		f.Add(seed.ct, seed.body)
	}
	type order struct {
		CustomerID string `json:"customerId"`
		ProductID  string `json:"productId"`
		Qty        int    `json:"qty"`
	}
	f.Fuzz(func(t *testing.T, ct, body string) {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		_, err := httpx.Decode[order](httptest.NewRecorder(), req)
		if err == nil {
			return
		}
		var bad *httpx.BadRequestError
		if !errors.As(err, &bad) || bad.Status < 400 || bad.Status > 499 || bad.Detail == "" {
			t.Fatalf("Decode(%q, %q) = %v: not a clear refusal", ct, body, err)
		}
	})
}
