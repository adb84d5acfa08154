// Package service wires the warehouse together.
package service

import (
	"context"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/platform/svc"
	"github.com/skmall/skmall/warehouse/internal/adapters"
	"github.com/skmall/skmall/warehouse/internal/app"
	"github.com/skmall/skmall/warehouse/internal/ports"
)

// Config is the warehouse's configuration, from the environment.
type Config struct {
	svc.Base
	StateStore string `envconfig:"STATE_STORE" default:"warehouse-store"`
}

// Run runs the warehouse until ctx ends.
func Run(ctx context.Context) error {
	cfg := Config{Base: svc.Base{Port: 8081}}
	return svc.Run(ctx, svc.Service{
		Name: "warehouse", Config: &cfg, Base: &cfg.Base,
		Ready: svc.StoreReady(&cfg.StateStore),
		Routes: func(r *mux.Router, d svc.Deps) error {
			a := app.New(adapters.NewDaprRepository(d.Dapr, cfg.StateStore), newMetrics(d.Registry), time.Now)
			ports.Routes(r, a, d.Events, d.Log)
			return nil
		},
	})
}

type metrics struct {
	reservations *prometheus.CounterVec
	units        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reservations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warehouse_reservations_total", Help: "Stock reservation requests, by outcome (reserved, out_of_stock, unknown_product).",
		}, []string{"outcome"}),
		units: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warehouse_reserved_units_total", Help: "Units asked for in reservation requests, by outcome.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.reservations, m.units)
	return m
}

func (m *metrics) Reservation(outcome string, qty int) {
	m.reservations.WithLabelValues(outcome).Inc()
	m.units.WithLabelValues(outcome).Add(float64(qty))
}
