package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// BadRequestError is a request the caller must change before sending it again.
type BadRequestError struct {
	Status int
	Slug   string
	Title  string
	Detail string
}

func (e *BadRequestError) Error() string { return e.Title + ": " + e.Detail }

func badRequest(status int, slug, title, detail string) error {
	return &BadRequestError{Status: status, Slug: slug, Title: title, Detail: detail}
}

// Decode reads a JSON body strictly: JSON content type, bounded size, exactly one object,
// no unknown fields.
func Decode[T any](w http.ResponseWriter, r *http.Request) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/cloudevents+json") {
			return v, badRequest(http.StatusUnsupportedMediaType, "unsupported-media-type",
				"Unsupported media type", "send the body as application/json")
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return v, badRequest(http.StatusBadRequest, "malformed-json", "Malformed JSON",
			"the body must hold exactly one JSON object")
	}
	return v, nil
}

func decodeError(err error) error {
	var (
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return badRequest(http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large",
			fmt.Sprintf("the body may hold at most %d bytes", tooLarge.Limit))
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest(http.StatusBadRequest, "malformed-json", "Malformed JSON",
			"the body is not valid JSON")
	case errors.As(err, &typeErr):
		return badRequest(http.StatusUnprocessableEntity, "invalid-input", "Invalid input",
			fmt.Sprintf("field %q must be a %s", typeErr.Field, typeErr.Type))
	default:
		// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
		return badRequest(http.StatusUnprocessableEntity, "invalid-input", "Invalid input", err.Error())
	}
}

// Invalid is a request whose fields break the rules; detail says which and why.
func Invalid(detail string) error {
	return badRequest(http.StatusUnprocessableEntity, "invalid-input", "Invalid input", detail)
}
