// Package service wires mypage together.
package service

import (
	"context"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/skmall/skmall/mypage/internal/adapters"
	"github.com/skmall/skmall/mypage/internal/app"
	"github.com/skmall/skmall/mypage/internal/ports"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/grpcx"
	"github.com/skmall/skmall/platform/svc"
)

// Config is mypage's configuration, from the environment.
type Config struct {
	svc.Base
	StateStore string `envconfig:"STATE_STORE" default:"mypage-store"`
	// GRPCPort serves the page over gRPC beside REST (contracts/proto).
	GRPCPort int `envconfig:"GRPC_PORT" default:"9084"`
	// CombineWindow is how long the first change of an order's row waits for the order's
	// other facts, so that they go to the store together (0: not at all).
	CombineWindow time.Duration `envconfig:"COMBINE_WINDOW" default:"20ms"`
}

// Run runs mypage until ctx ends.
func Run(ctx context.Context) error {
	cfg := Config{Base: svc.Base{Port: 8084}}
	return svc.Run(ctx, svc.Service{
		Name: "mypage", Config: &cfg, Base: &cfg.Base,
		Ready: svc.StoreReady(&cfg.StateStore),
		Build: func(r *mux.Router, d svc.Deps) ([]svc.Worker, error) {
			a := app.New(adapters.NewDaprRepository(d.Dapr, cfg.StateStore, cfg.CombineWindow))
			handlers := ports.Routes(r, a, d.Guard, d.Events, d.Log)
			eventsub.NewDeadLetters(d.Dapr, cfg.StateStore, handlers, d.Registry, d.Log).Routes(r, d.Guard)
			errs := ports.GRPCErrors(d.Log)
			grpcServer := grpcx.NewServer(d.Guard, d.Registry, d.Log)
			ports.RegisterGRPC(grpcServer, a, errs)
			return []svc.Worker{{Name: "gRPC", Run: func(ctx context.Context) error {
				return grpcServer.Serve(ctx, ":"+strconv.Itoa(cfg.GRPCPort), cfg.Drain)
			}}}, nil
		},
	})
}
