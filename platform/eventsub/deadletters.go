package eventsub

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/daprstate"
	"github.com/skmall/skmall/platform/httpx"
)

// MaxParked bounds how many dead letters a service keeps; past it the oldest are dropped
// (with a log line each).
const MaxParked = 1000

// Parked is a dead-lettered event, kept as daprd delivered it.
type Parked struct {
	ID       string    `json:"id"`
	Body     []byte    `json:"body"`
	ParkedAt time.Time `json:"parkedAt"`
}

type parkingLot struct {
	Events []Parked `json:"events"`
}

// DeadLetters keeps the events a service dead-lettered, so that after a fix they can be
// replayed through the same handlers. A service subscribes to its own dead-letter topic with
// the route /events/deadletters; the broker never has to hold dead letters for a consumer
// that does not exist yet.
type DeadLetters struct {
	lot      *daprstate.Store[parkingLot]
	handlers map[contracts.EventType]Handler
	parked   prometheus.Gauge
	replayed *prometheus.CounterVec
	log      *slog.Logger
}

// NewDeadLetters keeps dead letters in the named state store and replays them through handlers
// (all the event types the service consumes).
func NewDeadLetters(client daprstate.Client, store string, handlers map[contracts.EventType]Handler, reg prometheus.Registerer, log *slog.Logger) *DeadLetters {
	d := &DeadLetters{
		lot:      daprstate.New[parkingLot](client, store, "deadletters-"),
		handlers: handlers,
		parked:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "deadletters_parked", Help: "Dead-lettered events waiting to be replayed."}),
		replayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deadletters_replayed_total", Help: "Dead letters replayed, by outcome (handled, failed).",
		}, []string{"outcome"}),
		log: log,
	}
	reg.MustRegister(d.parked, d.replayed)
	return d
}

// Routes adds the dead-letter routes: the subscription route daprd delivers dead letters to,
// and, for admins, a listing and the replay command.
func (d *DeadLetters) Routes(r *mux.Router, g *auth.Guard) {
	r.Handle("/events/deadletters", g.Sidecar(http.HandlerFunc(d.park))).Methods(http.MethodPost)
	r.Handle("/deadletters", g.Admin(http.HandlerFunc(d.list))).Methods(http.MethodGet)
	r.Handle("/deadletters/replay", g.Admin(http.HandlerFunc(d.replay))).Methods(http.MethodPost)
}

func (d *DeadLetters) park(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	status := statusSuccess
	if err == nil {
		var id string
		if e, derr := decodeEnvelope(body); derr == nil {
			id = e.ID
		}
		err = d.change(r.Context(), func(lot *parkingLot) bool {
			for _, p := range lot.Events {
				if id != "" && p.ID == id {
					return false // a redelivered dead letter
				}
			}
			lot.Events = append(lot.Events, Parked{ID: id, Body: body, ParkedAt: time.Now().UTC()})
			if over := len(lot.Events) - MaxParked; over > 0 {
				d.log.ErrorContext(r.Context(), "too many dead letters; dropping the oldest", "dropped", over)
				lot.Events = lot.Events[over:]
			}
			return true
		})
	}
	if err != nil {
		status = statusRetry
		d.log.WarnContext(r.Context(), "could not park a dead letter; daprd will deliver it again", "err", err)
	} else {
		d.log.WarnContext(r.Context(), "dead letter parked; replay it with POST /deadletters/replay after a fix")
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": status})
}

func (d *DeadLetters) list(w http.ResponseWriter, r *http.Request) {
	lot, _, err := d.lot.Get(r.Context(), "all")
	if err != nil {
		httpx.WriteProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Dead letters cannot be read now", "Try again in a moment.")
		return
	}
	out := make([]map[string]any, 0, len(lot.Events))
	for _, p := range lot.Events {
		out = append(out, map[string]any{"id": p.ID, "parkedAt": p.ParkedAt, "event": string(p.Body)})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"deadLetters": out})
}

// replay runs every parked event through its handler again; those that now succeed (or that
// this service does not consume) leave the lot, the rest stay.
func (d *DeadLetters) replay(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lot, _, err := d.lot.Get(ctx, "all")
	if err != nil {
		httpx.WriteProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Dead letters cannot be read now", "Try again in a moment.")
		return
	}
	done := map[string]bool{}
	var failed []string
	for _, p := range lot.Events {
		if err := d.handle(ctx, p.Body); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", p.ID, err))
			d.replayed.WithLabelValues("failed").Inc()
			continue
		}
		done[p.ID] = true
		d.replayed.WithLabelValues("handled").Inc()
	}
	if err := d.change(ctx, func(lot *parkingLot) bool {
		kept := lot.Events[:0]
		for _, p := range lot.Events {
			if !done[p.ID] {
				kept = append(kept, p)
			}
		}
		changed := len(kept) != len(lot.Events)
		lot.Events = kept
		return changed
	}); err != nil {
		httpx.WriteProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Replayed, but could not update the dead letters",
			"The replayed events were handled; replaying again is safe.")
		return
	}
	d.log.InfoContext(ctx, "dead letters replayed", "handled", len(done), "stillFailing", len(failed))
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"replayed": len(done), "stillFailing": failed})
}

func (d *DeadLetters) handle(ctx context.Context, body []byte) error {
	_, _, err := dispatch(ctx, d.handlers, body)
	if err != nil && !isPoison(err) {
		return fmt.Errorf("still failing: %w", err)
	}
	return err
}

func (d *DeadLetters) change(ctx context.Context, f func(*parkingLot) bool) error {
	lot, err := d.lot.Update(ctx, "all", func(cur *parkingLot) (daprstate.Change[parkingLot], error) {
		next := parkingLot{}
		if cur != nil {
			next.Events = append(next.Events, cur.Events...)
		}
		if !f(&next) {
			return daprstate.Change[parkingLot]{}, nil
		}
		return daprstate.Change[parkingLot]{Value: &next}, nil
	})
	if err == nil {
		d.parked.Set(float64(len(lot.Events)))
	}
	return err
}
