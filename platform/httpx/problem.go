// Package httpx is the HTTP plumbing every service shares: RFC 9457 problem responses, strict
// JSON decoding, RED metrics and a server that shuts down gracefully. No business rules.
package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"
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
	// Tally, when set, logs the failures (5xx) this rule answers together instead of one by
	// one: for refusals that come by the hundred, such as a service shedding load.
	Tally *Tally
}

// LogAttrs says whether a failure answered by r is to be logged now, and with which attributes
// besides the error: none, or how many failures the line stands for when r is tallied. Only
// failures of ours (5xx) are logged.
func (r ErrorRule) LogAttrs() (attrs []any, log bool) {
	switch {
	case r.Status < 500:
		return nil, false
	case r.Tally == nil:
		return nil, true
	}
	n, log := r.Tally.add(time.Now())
	return []any{"failuresSinceLastLine", n}, log
}

// Errors maps domain errors to HTTP problems, once, at the edge of a service.
type Errors struct {
	Rules []ErrorRule
	Log   *slog.Logger
}

// Refusal is what the caller is told of err, whatever the protocol: a bad request's own
// problem, the first rule that matches (errors.Is; the error's text as the detail unless the
// rule has one), or a 500 that does not leak the error's text.
func (e Errors) Refusal(err error) ErrorRule {
	var bad *BadRequestError
	if errors.As(err, &bad) {
		return ErrorRule{Err: err, Status: bad.Status, Slug: bad.Slug, Title: bad.Title, Detail: bad.Detail}
	}
	for _, rule := range e.Rules {
		if errors.Is(err, rule.Err) {
			if rule.Detail == "" {
				rule.Detail = err.Error()
			}
			return rule
		}
	}
	return ErrorRule{Err: err, Status: http.StatusInternalServerError, Slug: "internal", Title: "Internal error",
		Detail: "Something went wrong on our side. Try again later; if it persists, contact support."}
}

// Write answers with err's problem (Refusal); a 5xx's error is logged (see LogAttrs).
func (e Errors) Write(w http.ResponseWriter, r *http.Request, err error) {
	p := e.Refusal(err)
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	if attrs, log := p.LogAttrs(); log {
		e.Log.ErrorContext(r.Context(), "request failed", append([]any{"method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err}, attrs...)...)
	}
	WriteProblem(w, r, p.Status, p.Slug, p.Title, p.Detail)
}
