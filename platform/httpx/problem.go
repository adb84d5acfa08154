// Package httpx is the HTTP plumbing every service shares: RFC 9457 problem responses, strict
// JSON decoding, RED metrics and a server that shuts down gracefully. No business rules.
package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// ProblemType is the base of the problem type URIs this shop answers with.
const ProblemType = "https://skmall.example/problems/"

// WriteProblem answers with an application/problem+json body.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, slug, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{
		Type: ProblemType + slug, Title: title, Status: status, Detail: detail, Instance: r.URL.Path,
	})
}

// WriteJSON answers with a JSON body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ErrorRule maps a class of errors to the problem the caller sees. Detail, when set, replaces
// the error text (used for errors whose text must not leak).
type ErrorRule struct {
	Err        error
	Status     int
	Slug       string
	Title      string
	Detail     string
	RetryAfter int // seconds; sets Retry-After when > 0
}

// Errors maps domain errors to HTTP problems, once, at the edge of a service.
type Errors struct {
	Rules []ErrorRule
	Log   *slog.Logger
}

// Write answers with the problem of the first rule that matches err (errors.Is), or with a
// 500 that does not leak the error text, which is logged instead.
func (e Errors) Write(w http.ResponseWriter, r *http.Request, err error) {
	var bad *BadRequestError
	if errors.As(err, &bad) {
		WriteProblem(w, r, bad.Status, bad.Slug, bad.Title, bad.Detail)
		return
	}
	for _, rule := range e.Rules {
		if errors.Is(err, rule.Err) {
			detail := rule.Detail
			if detail == "" {
				detail = err.Error()
			}
			if rule.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(rule.RetryAfter))
			}
			if rule.Status >= 500 {
				e.Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", rule.Status, "err", err)
			}
			WriteProblem(w, r, rule.Status, rule.Slug, rule.Title, detail)
			return
		}
	}
	e.Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", 500, "err", err)
	WriteProblem(w, r, http.StatusInternalServerError, "internal", "Internal error",
		"Something went wrong on our side. Try again later; if it persists, contact support.")
}
