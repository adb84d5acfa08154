package eventsub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/daprstate"
	"github.com/skmall/skmall/platform/httpx"
)

// MaxParked bounds how many dead letters a service keeps. A full lot parks nothing more: the
// event stays on the dead-letter topic, which delivers it again until there is room (after a
// replay), and the alert on deadletters_parked fires long before.
const MaxParked = 1000

// Parked is a dead-lettered event, kept as daprd delivered it (at most 256 KiB).
type Parked struct {
	ID       string    `json:"id"`
	Body     []byte    `json:"body"`
	ParkedAt time.Time `json:"parkedAt"`
}

// parkingLot lists the parked events' ids, oldest first; each event is a document of its own.
type parkingLot struct {
	IDs []string `json:"ids"`
}

// DeadLetters keeps the events a service dead-lettered, so that after a fix they can be
// replayed through the same handlers. A service subscribes to its own dead-letter topic with
// the route /events/deadletters; the broker never has to hold dead letters for a consumer
// that does not exist yet.
//
// A dead letter is tried once more before it is parked: it may have been dead-lettered while
// the service could not reach its store, with its effect done by an attempt whose answer was
// lost, or doable now. One whose handling succeeds is not parked. One that cannot be parked
// (the store out of reach, the lot full) is refused, so the dead-letter topic delivers it
// again: its subscription names itself as its own dead-letter topic, and nothing is dropped.
type DeadLetters struct {
	lot      *daprstate.Store[parkingLot]
	letters  *daprstate.Store[Parked]
	handlers map[contracts.EventType]Handler
	parked   prometheus.Gauge
	handled  prometheus.Counter
	replayed *prometheus.CounterVec
	log      *slog.Logger
}

// NewDeadLetters keeps dead letters in the named state store and replays them through handlers
// (all the event types the service consumes).
func NewDeadLetters(client daprstate.Client, store string, handlers map[contracts.EventType]Handler, reg prometheus.Registerer, log *slog.Logger) *DeadLetters {
	d := &DeadLetters{
		lot:      daprstate.New[parkingLot](client, store, "deadletters-"),
		letters:  daprstate.New[Parked](client, store, "deadletter-"),
		handlers: handlers,
		parked:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "deadletters_parked", Help: "Dead-lettered events waiting to be replayed (at most 1000 are kept)."}),
		handled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deadletters_handled_on_arrival_total", Help: "Dead letters whose handling succeeded when they arrived, so they were not parked.",
		}),
		replayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deadletters_replayed_total", Help: "Dead letters replayed, by outcome (handled, failed).",
		}, []string{"outcome"}),
		log: log,
	}
	reg.MustRegister(d.parked, d.handled, d.replayed)
	return d
}

// Routes adds the dead-letter routes: the subscription route daprd delivers dead letters to,
// and, for admins, a listing and the replay command.
func (d *DeadLetters) Routes(r *mux.Router, g *auth.Guard) {
	r.Handle("/events/deadletters", g.Sidecar(http.HandlerFunc(d.park))).Methods(http.MethodPost)
	r.Handle("/deadletters", g.Admin(http.HandlerFunc(d.list))).Methods(http.MethodGet)
	r.Handle("/deadletters/replay", g.Admin(http.HandlerFunc(d.replay))).Methods(http.MethodPost)
}

// errLotFull refuses a dead letter while MaxParked are parked.
var errLotFull = fmt.Errorf("the dead-letter lot holds %d events; replay or clear them", MaxParked)

func (d *DeadLetters) park(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := readBody(r)
	status := statusSuccess
	if err == nil {
		if herr := handleBody(ctx, d.handlers, body); herr == nil {
			d.handled.Inc()
			d.log.InfoContext(ctx, "a dead letter was handled on arrival; not parked")
			httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": status})
			return
		} else if !isPoison(herr) {
			d.log.WarnContext(ctx, "a dead letter still fails", "err", herr)
		}
		err = d.keep(ctx, body)
	}
	if err != nil {
		status = statusRetry
		d.log.WarnContext(ctx, "could not park a dead letter; it will be delivered again", "err", err)
	} else {
		d.log.WarnContext(ctx, "dead letter parked; replay it with POST /deadletters/replay after a fix")
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": status})
}

// keep parks a dead letter: its own document first, then its id in the lot.
func (d *DeadLetters) keep(ctx context.Context, body []byte) error {
	id := ""
	if e, err := decodeEnvelope(body); err == nil {
		id = e.ID
	}
	if id == "" {
		sum := sha256.Sum256(body)
		id = hex.EncodeToString(sum[:16])
	}
	lot, _, err := d.lot.Get(ctx, "index")
	if err != nil {
		return err
	}
	d.parked.Set(float64(len(lot.IDs)))
	if slices.Contains(lot.IDs, id) {
		return nil // a redelivered dead letter
	}
	if len(lot.IDs) >= MaxParked {
		d.log.ErrorContext(ctx, "the dead-letter lot is full; the event stays on the dead-letter topic", "parked", len(lot.IDs))
		return errLotFull
	}
	if err := d.letters.Create(ctx, id, Parked{ID: id, Body: body, ParkedAt: time.Now().UTC()}); err != nil && !errors.Is(err, daprstate.ErrExists) {
		return err
	}
	return d.change(ctx, func(lot *parkingLot) (bool, error) {
		if slices.Contains(lot.IDs, id) {
			return false, nil
		}
		if len(lot.IDs) >= MaxParked {
			return false, errLotFull
		}
		lot.IDs = append(lot.IDs, id)
		return true, nil
	})
}

// listPage is how many dead letters one GET /deadletters returns.
const listPage = 100

func (d *DeadLetters) list(w http.ResponseWriter, r *http.Request) {
	lot, _, err := d.lot.Get(r.Context(), "index")
	if err != nil {
		httpx.WriteProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Dead letters cannot be read now", "Try again in a moment.")
		return
	}
	from := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		if from, err = strconv.Atoi(c); err != nil || from < 0 {
			httpx.WriteProblem(w, r, http.StatusUnprocessableEntity, "invalid-input", "Invalid input", "cursor must be one this listing handed out")
			return
		}
	}
	ids := lot.IDs[min(from, len(lot.IDs)):min(from+listPage, len(lot.IDs))]
	letters, err := d.letters.GetMany(r.Context(), ids)
	if err != nil {
		httpx.WriteProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Dead letters cannot be read now", "Try again in a moment.")
		return
	}
	out := make([]map[string]any, 0, len(letters))
	for _, p := range letters {
		out = append(out, map[string]any{"id": p.ID, "parkedAt": p.ParkedAt, "event": string(p.Body)})
	}
	page := map[string]any{"deadLetters": out, "total": len(lot.IDs)}
	if next := from + listPage; next < len(lot.IDs) {
		page["nextCursor"] = strconv.Itoa(next)
	}
	httpx.WriteJSON(w, http.StatusOK, page)
}

// replay runs every parked event through its handler again; those that now succeed (or that
// this service does not consume) leave the lot, the rest stay.
func (d *DeadLetters) replay(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lot, _, err := d.lot.Get(ctx, "index")
	if err != nil {
		httpx.WriteProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Dead letters cannot be read now", "Try again in a moment.")
		return
	}
	done := map[string]bool{}
	var failed []string
	for chunk := range slices.Chunk(lot.IDs, listPage) {
		letters, err := d.letters.GetItems(ctx, chunk)
		if err != nil {
			httpx.WriteProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Dead letters cannot be read now", "Try again in a moment.")
			return
		}
		found := map[string]bool{}
		var handled []daprstate.Item[Parked]
		for _, it := range letters {
			found[it.Key] = true
			if err := d.handle(ctx, it.Value.Body); err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", it.Key, err))
				d.replayed.WithLabelValues("failed").Inc()
				continue
			}
			handled = append(handled, it)
			d.replayed.WithLabelValues("handled").Inc()
		}
		if err := d.letters.DeleteItems(ctx, handled); err != nil {
			break // the handled ones stay listed; replaying them again is safe
		}
		for _, it := range handled {
			done[it.Key] = true
		}
		for _, id := range chunk {
			if !found[id] {
				done[id] = true // listed but never stored: a park that failed half-way
			}
		}
	}
	if err := d.change(ctx, func(lot *parkingLot) (bool, error) {
		kept := slices.DeleteFunc(lot.IDs, func(id string) bool { return done[id] })
		changed := len(kept) != len(lot.IDs)
		lot.IDs = kept
		return changed, nil
	}); err != nil {
		httpx.WriteProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Replayed, but could not update the dead letters",
			"The replayed events were handled; replaying again is safe.")
		return
	}
	d.log.InfoContext(ctx, "dead letters replayed", "handled", len(done), "stillFailing", len(failed))
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"replayed": len(done), "stillFailing": failed})
}

func (d *DeadLetters) handle(ctx context.Context, body []byte) error {
	err := handleBody(ctx, d.handlers, body)
	if err != nil && !isPoison(err) {
		return fmt.Errorf("still failing: %w", err)
	}
	return err
}

func (d *DeadLetters) change(ctx context.Context, f func(*parkingLot) (bool, error)) error {
	lot, err := d.lot.Update(ctx, "index", func(cur *parkingLot) (daprstate.Change[parkingLot], error) {
		next := parkingLot{}
		if cur != nil {
			next.IDs = slices.Clone(cur.IDs)
		}
		changed, err := f(&next)
		if err != nil || !changed {
			return daprstate.Change[parkingLot]{}, err
		}
		return daprstate.Change[parkingLot]{Value: &next}, nil
	})
	if err == nil {
		d.parked.Set(float64(len(lot.IDs)))
	}
	return err
}
