// Package service wires the delivery service together.
package service

import (
	"context"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/delivery/internal/adapters"
	"github.com/skmall/skmall/delivery/internal/app"
	"github.com/skmall/skmall/delivery/internal/ports"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/svc"
)

// Config is the delivery service's configuration, from the environment.
type Config struct {
	svc.Base
	StateStore string `envconfig:"STATE_STORE" default:"delivery-store"`
}

// Run runs the delivery service until ctx ends.
func Run(ctx context.Context) error {
	cfg := Config{Base: svc.Base{Port: 8083}}
	return svc.Run(ctx, svc.Service{
		Name: "delivery", Config: &cfg, Base: &cfg.Base,
		Ready: svc.StoreReady(&cfg.StateStore),
		Build: func(r *mux.Router, d svc.Deps) ([]svc.Worker, error) {
			a := app.New(adapters.NewDaprRepository(d.Dapr, cfg.StateStore),
				adapters.NewAnnouncer(eventsub.NewPublisher(d.Dapr, cfg.PubSub)), newMetrics(d.Registry), d.Log, time.Now)
			handlers := ports.Routes(r, a, d.Guard, d.Events, d.Log)
			eventsub.NewDeadLetters(d.Dapr, cfg.StateStore, handlers, d.Registry, d.Log).Routes(r, d.Guard)
			return nil, nil
		},
	})
}

type metrics struct{ started, cancelled prometheus.Counter }

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		started:   prometheus.NewCounter(prometheus.CounterOpts{Name: "deliveries_started_total", Help: "Deliveries started."}),
		cancelled: prometheus.NewCounter(prometheus.CounterOpts{Name: "deliveries_cancelled_total", Help: "Deliveries cancelled."}),
	}
	reg.MustRegister(m.started, m.cancelled)
	return m
}

func (m *metrics) DeliveryStarted()   { m.started.Inc() }
func (m *metrics) DeliveryCancelled() { m.cancelled.Inc() }
