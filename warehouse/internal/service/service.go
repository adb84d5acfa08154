// Package service wires the warehouse together.
package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/svc"
	"github.com/skmall/skmall/warehouse/internal/adapters"
	"github.com/skmall/skmall/warehouse/internal/app"
	"github.com/skmall/skmall/warehouse/internal/ports"
)

// Config is the warehouse's configuration, from the environment.
type Config struct {
	svc.Base
	StateStore string `envconfig:"STATE_STORE" default:"warehouse-store"`
	OrderAppID string `envconfig:"ORDER_APP_ID" default:"order"`
	// A reservation whose order is not confirmed within Hold is settled with the order
	// service: confirmed if the order is stored, released if not. It should outlast an order
	// request; one that does not is refused its order, never oversold.
	Hold  time.Duration `envconfig:"RESERVATION_HOLD" default:"2m"`
	Sweep time.Duration `envconfig:"RESERVATION_SWEEP" default:"30s"`
}

// Run runs the warehouse until ctx ends.
func Run(ctx context.Context) error {
	cfg := Config{Base: svc.Base{Port: 8081}}
	return svc.Run(ctx, svc.Service{
		Name: "warehouse", Config: &cfg, Base: &cfg.Base,
		Ready: svc.StoreReady(&cfg.StateStore),
		Build: func(r *mux.Router, d svc.Deps) ([]svc.Worker, error) {
			a := app.New(adapters.NewDaprRepository(d.Dapr, cfg.StateStore),
				adapters.NewDaprOrders(d.Dapr, cfg.OrderAppID),
				newMetrics(d.Registry), time.Now, cfg.Hold)
			handlers := ports.Routes(r, a, d.Guard, d.Events, d.Log)
			eventsub.NewDeadLetters(d.Dapr, cfg.StateStore, handlers, d.Registry, d.Log).Routes(r, d.Guard)
			return []svc.Worker{svc.Every("sweeper", cfg.Sweep, func(ctx context.Context) error {
				return releaseUnconfirmed(ctx, a, d.Log)
			}, d.Log)}, nil
		},
	})
}

// releaseUnconfirmed gives back the stock of reservations whose order was never stored.
func releaseUnconfirmed(ctx context.Context, a *app.App, log *slog.Logger) error {
	n, err := a.ReleaseUnconfirmed(ctx)
	if n > 0 {
		log.WarnContext(ctx, "released the stock of reservations whose order was never stored", "reservations", n)
	}
	return err
}

type metrics struct {
	reservations *prometheus.CounterVec
	units        *prometheus.CounterVec
	released     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reservations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warehouse_reservations_total", Help: "Stock reservation requests, by outcome (reserved, out_of_stock, unknown_product, clash).",
		}, []string{"outcome"}),
		units: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warehouse_reserved_units_total", Help: "Units asked for in reservation requests, by outcome.",
		}, []string{"outcome"}),
	}
	m.released = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "warehouse_unconfirmed_released_units_total", Help: "Units given back because their order was never stored.",
	})
	reg.MustRegister(m.reservations, m.units, m.released)
	return m
}

func (m *metrics) HoldReleased(qty int) { m.released.Add(float64(qty)) }

func (m *metrics) Reservation(outcome string, qty int) {
	m.reservations.WithLabelValues(outcome).Inc()
	m.units.WithLabelValues(outcome).Add(float64(qty))
}
