package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/daprtest"
)

var (
	specsOnce sync.Once
	specs     map[string]routers.Router
	specsErr  error
)

// loadSpecs reads each app's OpenAPI file; every response the tests get is checked against it.
func loadSpecs(t testing.TB) map[string]routers.Router {
	t.Helper()
	specsOnce.Do(func() {
		specs = map[string]routers.Router{}
		for _, app := range appNames {
			doc, err := openapi3.NewLoader().LoadFromFile(specPath(t, app))
			if err != nil {
				specsErr = fmt.Errorf("%s spec: %w", app, err)
				return
			}
			if err := doc.Validate(context.Background()); err != nil {
				specsErr = fmt.Errorf("%s spec is invalid: %w", app, err)
				return
			}
			doc.Servers = nil
			r, err := gorillamux.NewRouter(doc)
			if err != nil {
				specsErr = err
				return
			}
			specs[app] = r
		}
	})
	if specsErr != nil {
		t.Fatal(specsErr)
	}
	return specs
}

// Response is an answer from an app, already checked against the app's OpenAPI file.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// Call sends a request to an app's REST API and checks the answer against its OpenAPI file
// (status documented, body and headers as described, problem+json for errors). Requests the
// spec forbids are sent unchecked, so tests can send bad input on purpose.
func (s *Shop) Call(method, app, path string, body any, headers ...string) Response {
	s.t.Helper()
	req, raw, err := s.newRequest(method, app, path, body, headers...)
	if err != nil {
		s.t.Fatal(err)
	}
	resp := s.mustSend(req)
	s.checkAgainstSpec(app, req, raw, resp)
	return resp
}

// send does a request and reads the whole answer.
func send(req *http.Request) (Response, error) {
	resp, err := httpClient.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: out}, err
}

// mustSend is send for requests whose failure to get an answer fails the test.
func (s *Shop) mustSend(req *http.Request) Response {
	s.t.Helper()
	r, err := send(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return r
}

// toSidecar is a request to an app's sidecar API, with the app's Dapr API token.
func (s *Shop) toSidecar(app, method, path string, body []byte) *http.Request {
	s.t.Helper()
	req, err := http.NewRequest(method, s.Apps[app].DaprHTTP+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(auth.DaprTokenHeader, s.Apps[app].DaprToken)
	return req
}

// newRequest builds a request to an app's REST API. body is sent as it is when it is a string
// or bytes, as JSON otherwise; headers come in name, value pairs. Without an Authorization
// header the request goes as the admin (see As); an empty one sends none.
func (s *Shop) newRequest(method, app, path string, body any, headers ...string) (*http.Request, []byte, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, nil, err
		}
	}
	req, err := http.NewRequest(method, s.Apps[app].URL+path, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if _, named := req.Header["Authorization"]; !named {
		as := s.As(Admin, "admin")
		req.Header.Set(as[0], as[1])
	} else if req.Header.Get("Authorization") == "" {
		req.Header.Del("Authorization")
	}
	return req, raw, nil
}

func (s *Shop) checkAgainstSpec(app string, req *http.Request, reqBody []byte, resp Response) {
	s.t.Helper()
	router := loadSpecs(s.t)[s.Apps[app].AppID]
	specReq := req.Clone(context.Background())
	specReq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(specReq)
	if err != nil {
		if resp.Status == http.StatusNotFound || resp.Status == http.StatusMethodNotAllowed {
			return // a path or method the API does not have
		}
		s.t.Fatalf("%s %s answered %d but the OpenAPI file of %s has no such route: %v", req.Method, req.URL.Path, resp.Status, app, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: specReq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if resp.Status/100 != 2 {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			s.t.Fatalf("%s %s answered %d with %q, want application/problem+json", req.Method, req.URL.Path, resp.Status, ct)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.Status, Header: resp.Header,
		Body:    io.NopCloser(bytes.NewReader(resp.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		s.t.Fatalf("%s %s: the answer breaks the OpenAPI file of %s: %v\nbody: %s", req.Method, req.URL.Path, app, err, resp.Body)
	}
}

// Invoke calls a method of app `to` through the sidecar of app `from`, by Dapr service
// invocation, as `from` would; the sidecars' access control decides whether it gets through.
func (s *Shop) Invoke(from, to, method, path string, body any) Response {
	s.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			s.t.Fatal(err)
		}
	}
	return s.mustSend(s.toSidecar(from, method, "/v1.0/invoke/"+to+"/method/"+path, raw))
}

// specPath is where an app's OpenAPI file is.
func specPath(t testing.TB, app string) string {
	return filepath.Join(daprtest.RepoRoot(t), app, "api", "openapi.yaml")
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
