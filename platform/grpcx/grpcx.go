// Package grpcx is the gRPC plumbing the services share: a server with the shop's door (the
// bearer token from the authorization metadata), standard health checking and reflection, and
// errors mapped to statuses once, from the same rules the REST problems come from. No business
// rules.
package grpcx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/httpx"
	"github.com/skmall/skmall/platform/telemetry"
)

// Domain is the ErrorInfo domain of every refusal this shop sends.
const Domain = "skmall.example"

// Server is a gRPC server and its health service.
type Server struct {
	*grpc.Server
	health *health.Server
	log    *slog.Logger
}

// NewServer returns a server whose every method but health and reflection needs a valid bearer
// token (the principal is then in the context, auth.FromContext). Each call runs in the trace
// its traceparent metadata names (or a new one) and is counted in reg, as REST requests are.
func NewServer(g *auth.Guard, reg prometheus.Registerer, log *slog.Logger) *Server {
	s := &Server{health: health.NewServer(), log: log}
	s.Server = grpc.NewServer(grpc.ChainUnaryInterceptor(trace, newRED(reg).measure, recoverer(log), authenticate(g, log)))
	healthpb.RegisterHealthServer(s.Server, s.health)
	reflection.Register(s.Server)
	return s
}

// Serve serves on addr until ctx ends, then says NOT_SERVING and lets the calls in flight
// finish (for at most drain).
func (s *Server) Serve(ctx context.Context, addr string, drain time.Duration) error {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("gRPC: %w", err)
	}
	s.log.InfoContext(ctx, "listening (gRPC)", "addr", ln.Addr().String())
	served := make(chan error, 1)
	go func() { served <- s.Server.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() { s.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(drain):
		s.Stop()
	}
	return nil
}

// exempt methods answer without a token: health checks and reflection (what grpcurl asks).
func exempt(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.") || strings.HasPrefix(method, "/grpc.reflection.")
}

func authenticate(g *auth.Guard, log *slog.Logger) grpc.UnaryServerInterceptor {
	door := Errors{Rules: auth.Rules, Log: log}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if exempt(info.FullMethod) {
			return next(ctx, req)
		}
		md, _ := metadata.FromIncomingContext(ctx)
		p, err := g.Principal(ctx, strings.Join(md.Get("authorization"), ","))
		if err != nil {
			if !errors.Is(err, auth.ErrNoToken) {
				log.InfoContext(ctx, "token refused", "method", info.FullMethod, "err", err)
			}
			return nil, door.Status(ctx, info.FullMethod, err)
		}
		return next(auth.WithPrincipal(ctx, p), req)
	}
}

// trace runs each call in the trace its traceparent metadata names, or in a new one: what the
// call logs, and the events it causes, carry that trace id (as httpx.Trace does for REST).
func trace(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if tp := md.Get("traceparent"); len(tp) == 1 {
		ctx = telemetry.WithTraceparent(ctx, tp[0])
	}
	if telemetry.TraceID(ctx) == "" {
		ctx = telemetry.NewTrace(ctx)
	}
	return next(ctx, req)
}

// red counts and times every call by method and code (the REST side's http_requests_total
// and http_request_duration_seconds, for gRPC).
type red struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newRED(reg prometheus.Registerer) red {
	m := red{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_requests_total", Help: "gRPC calls served, by method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "grpc_request_duration_seconds", Help: "Time to serve a gRPC call, by method.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method"}),
	}
	reg.MustRegister(m.calls, m.duration)
	return m
}

func (m red) measure(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := next(ctx, req)
	m.calls.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
	m.duration.WithLabelValues(info.FullMethod).Observe(time.Since(start).Seconds())
	return resp, err
}

func recoverer(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "panic serving a call", "method", info.FullMethod, "panic", p)
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return next(ctx, req)
	}
}

// Errors maps errors to gRPC statuses with the rules a service's REST adapter answers problems
// with: the code follows the rule's HTTP status, the ErrorInfo reason its slug.
type Errors struct {
	Rules []httpx.ErrorRule
	Log   *slog.Logger
}

// Status is the status a call that failed with err answers: its refusal (httpx.Errors.Refusal)
// as a gRPC status; a failure of ours is logged (see httpx.ErrorRule.LogAttrs).
func (e Errors) Status(ctx context.Context, method string, err error) error {
	p := httpx.Errors{Rules: e.Rules}.Refusal(err)
	if attrs, log := p.LogAttrs(); log {
		e.Log.ErrorContext(ctx, "call failed", append([]any{"method", method, "code", Code(p.Status).String(), "err", err}, attrs...)...)
	}
	return refusal(Code(p.Status), p.Slug, p.Detail, p.RetryAfter)
}

// Code is the gRPC code of an HTTP status.
func Code(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.FailedPrecondition
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	default:
		return codes.Internal
	}
}

// Reason is the ErrorInfo reason of a problem slug: out-of-stock is OUT_OF_STOCK.
func Reason(slug string) string {
	return strings.ToUpper(strings.ReplaceAll(slug, "-", "_"))
}

func refusal(code codes.Code, slug, detail string, retryAfter int) error {
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{
		Reason: Reason(slug), Domain: Domain, Metadata: map[string]string{"type": httpx.ProblemType + slug},
	}}
	if retryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(retryAfter) * time.Second)})
	}
	// A status travels as it is: the client reads its code and details.
	st := status.New(code, detail)
	if with, err := st.WithDetails(details...); err == nil {
		st = with
	}
	return st.Err() //nolint:wrapcheck // a gRPC status, not to be wrapped
}
