// Package service wires the order service together.
package service

import (
	"context"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/order/internal/adapters"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/ports"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/grpcx"
	"github.com/skmall/skmall/platform/svc"
)

// Config is the order service's configuration, from the environment.
type Config struct {
	svc.Base
	StateStore     string `envconfig:"STATE_STORE" default:"order-store"`
	WarehouseAppID string `envconfig:"WAREHOUSE_APP_ID" default:"warehouse"`
	// PlaceTimeout bounds a whole order request. The warehouse holds an unconfirmed
	// reservation much longer (RESERVATION_HOLD) before it asks whether the order exists.
	PlaceTimeout time.Duration `envconfig:"PLACE_ORDER_TIMEOUT" default:"15s"`
	// MaxPlacing bounds the order requests in progress; past it, orders are refused at once
	// with 503 and Retry-After instead of queueing (overload).
	MaxPlacing int `envconfig:"MAX_PLACING_ORDERS" default:"64"`
	// An order event no consumer has confirmed within RepublishAfter is published again (then
	// after twice as long each time). An event lost after its order was stored (the broker
	// failing, order or its sidecar killed between the two) is published this long after.
	RepublishAfter time.Duration `envconfig:"REPUBLISH_AFTER" default:"30s"`
	// GRPCPort serves the order API over gRPC beside REST (contracts/proto).
	GRPCPort int `envconfig:"GRPC_PORT" default:"9082"`
}

// Run runs the order service until ctx ends.
func Run(ctx context.Context) error {
	cfg := Config{Base: svc.Base{Port: 8082}}
	return svc.Run(ctx, svc.Service{
		Name: "order", Config: &cfg, Base: &cfg.Base,
		Ready: svc.StoreReady(&cfg.StateStore),
		Build: func(r *mux.Router, d svc.Deps) ([]svc.Worker, error) {
			every := republishEvery(cfg.RepublishAfter)
			watches := adapters.NewDaprUnconfirmed(d.Dapr, cfg.StateStore, 3*every)
			a := app.New(
				adapters.NewDaprRepository(d.Dapr, cfg.StateStore, watches),
				adapters.NewDaprStockReserver(d.Dapr, cfg.WarehouseAppID),
				watches,
				adapters.NewDaprAnnouncer(d.Dapr, cfg.PubSub),
				newMetrics(d.Registry), d.Log, time.Now, cfg.RepublishAfter)
			lim := ports.NewLimits(cfg.PlaceTimeout, cfg.MaxPlacing)
			handlers := ports.Routes(r, a, d.Guard, lim, d.Events, d.Log)
			eventsub.NewDeadLetters(d.Dapr, cfg.StateStore, handlers, d.Registry, d.Log).Routes(r, d.Guard)
			errs := ports.GRPCErrors(d.Log, lim)
			grpcServer := grpcx.NewServer(d.Guard, d.Registry, d.Log)
			ports.RegisterGRPC(grpcServer, a, lim, errs)
			return []svc.Worker{
				svc.Every("republisher", every, func(ctx context.Context) error {
					_, err := a.RepublishUnconfirmed(ctx)
					return err
				}, d.Log),
				{Name: "gRPC", Run: func(ctx context.Context) error {
					return grpcServer.Serve(ctx, ":"+strconv.Itoa(cfg.GRPCPort), cfg.Drain)
				}},
			}, nil
		},
	})
}

// republishEvery is how often the republisher looks for events fallen due.
func republishEvery(after time.Duration) time.Duration {
	return min(max(after/4, time.Second), 30*time.Second)
}

type metrics struct {
	placed      prometheus.Counter
	units       prometheus.Counter
	refused     *prometheus.CounterVec
	cancelled   prometheus.Counter
	republished prometheus.Counter
	unconfirmed prometheus.Gauge
	oldest      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		placed: prometheus.NewCounter(prometheus.CounterOpts{Name: "orders_placed_total", Help: "Orders accepted."}),
		units:  prometheus.NewCounter(prometheus.CounterOpts{Name: "orders_placed_units_total", Help: "Units in accepted orders."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orders_refused_total",
			Help: "Orders refused, by reason (out_of_stock, unknown_product, stock_unconfirmed, store_unavailable, outcome_unknown, idempotency_key_reused)."}, []string{"reason"}),
		cancelled: prometheus.NewCounter(prometheus.CounterOpts{Name: "orders_cancelled_total", Help: "Orders cancelled."}),
		republished: prometheus.NewCounter(prometheus.CounterOpts{Name: "order_events_republished_total",
			Help: "Order events published again because no consumer confirmed them in time."}),
		unconfirmed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "order_events_unconfirmed",
			Help: "Order events found unconfirmed (and published again) in the republisher's last pass."}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{Name: "order_events_unconfirmed_oldest_seconds",
			Help: "Age of the oldest order event found unconfirmed in the republisher's last pass."}),
	}
	reg.MustRegister(m.placed, m.units, m.refused, m.cancelled, m.republished, m.unconfirmed, m.oldest)
	return m
}

func (m *metrics) OrderPlaced(qty int)        { m.placed.Inc(); m.units.Add(float64(qty)) }
func (m *metrics) OrderRefused(reason string) { m.refused.WithLabelValues(reason).Inc() }
func (m *metrics) OrderCancelled()            { m.cancelled.Inc() }
func (m *metrics) Unconfirmed(republished int, oldest time.Duration) {
	m.republished.Add(float64(republished))
	m.unconfirmed.Set(float64(republished))
	m.oldest.Set(oldest.Seconds())
}
