// Package service wires mypage together.
package service

import (
	"context"

	"github.com/gorilla/mux"

	"github.com/skmall/skmall/mypage/internal/adapters"
	"github.com/skmall/skmall/mypage/internal/app"
	"github.com/skmall/skmall/mypage/internal/ports"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/svc"
)

// Config is mypage's configuration, from the environment.
type Config struct {
	svc.Base
	StateStore string `envconfig:"STATE_STORE" default:"mypage-store"`
}

// Run runs mypage until ctx ends.
func Run(ctx context.Context) error {
	cfg := Config{Base: svc.Base{Port: 8084}}
	return svc.Run(ctx, svc.Service{
		Name: "mypage", Config: &cfg, Base: &cfg.Base,
		Ready: svc.StoreReady(&cfg.StateStore),
		Build: func(r *mux.Router, d svc.Deps) ([]svc.Worker, error) {
			handlers := ports.Routes(r, app.New(adapters.NewDaprRepository(d.Dapr, cfg.StateStore)), d.Guard, d.Events, d.Log)
			eventsub.NewDeadLetters(d.Dapr, cfg.StateStore, handlers, d.Registry, d.Log).Routes(r, d.Guard)
			return nil, nil
		},
	})
}
