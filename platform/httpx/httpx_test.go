package httpx_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skmall/skmall/platform/httpx"
)

type request struct {
	Name string `json:"name"`
	Qty  int    `json:"qty"`
}

func TestDecodeIsStrict(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ct, body string
		status         int
	}{
		{"valid", "application/json", `{"name":"a","qty":1}`, 0},
		{"no content type", "", `{"name":"a"}`, 0},
		{"charset", "application/json; charset=utf-8", `{"name":"a"}`, 0},
		{"malformed", "application/json", `{"name":`, http.StatusBadRequest},
		{"empty", "application/json", ``, http.StatusBadRequest},
		{"trailing data", "application/json", `{"name":"a"} {"name":"b"}`, http.StatusBadRequest},
		{"unknown field", "application/json", `{"name":"a","admin":true}`, http.StatusUnprocessableEntity},
		{"wrong type", "application/json", `{"qty":"many"}`, http.StatusUnprocessableEntity},
		{"not JSON", "text/plain", `{"name":"a"}`, http.StatusUnsupportedMediaType},
		{"too large", "application/json", `{"name":"` + strings.Repeat("x", httpx.MaxBodyBytes) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(c.body))
			if c.ct != "" {
				r.Header.Set("Content-Type", c.ct)
			}
			_, err := httpx.Decode[request](httptest.NewRecorder(), r)
			var bad *httpx.BadRequestError
			switch {
			case c.status == 0 && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.status != 0 && (!errors.As(err, &bad) || bad.Status != c.status):
				t.Fatalf("error %v, want status %d", err, c.status)
			}
		})
	}
}

func TestErrorsMapDomainErrorsOnce(t *testing.T) {
	t.Parallel()
	errGone := errors.New("gone")
	errBusy := errors.New("busy")
	e := httpx.Errors{Log: slog.New(slog.DiscardHandler), Rules: []httpx.ErrorRule{
		{Err: errGone, Status: http.StatusNotFound, Slug: "gone", Title: "Gone"},
		{Err: errBusy, Status: http.StatusServiceUnavailable, Slug: "busy", Title: "Busy", Detail: "try later", RetryAfter: 3},
	}}
	cases := []struct {
		err        error
		status     int
		detail     string
		retryAfter string
	}{
		{fmt.Errorf("order 7: %w", errGone), 404, "order 7: gone", ""},
		{fmt.Errorf("db at 10.0.0.1: %w", errBusy), 503, "try later", "3"},
		{errors.New("pq: password authentication failed for secret"), 500, "", ""},
		{httpx.Invalid("qty must be positive"), 422, "qty must be positive", ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		e.Write(rec, httptest.NewRequest(http.MethodGet, "/orders/7", nil), c.err)
		var p httpx.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if rec.Code != c.status || p.Status != c.status || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%v: %d %+v", c.err, rec.Code, p)
		}
		if c.detail != "" && p.Detail != c.detail {
			t.Errorf("%v: detail %q, want %q", c.err, p.Detail, c.detail)
		}
		if c.status == 500 && strings.Contains(p.Detail, "password") {
			t.Errorf("a 500 leaked the error: %q", p.Detail)
		}
		if got := rec.Header().Get("Retry-After"); got != c.retryAfter {
			t.Errorf("%v: Retry-After %q, want %q", c.err, got, c.retryAfter)
		}
	}
}
