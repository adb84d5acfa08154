package eventsub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/auth/authtest"
	"github.com/skmall/skmall/platform/daprstate"
	"github.com/skmall/skmall/platform/daprtest"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/eventsub/eventsubtest"
)

// outage is a state store client whose store can be made unreachable.
type outage struct {
	daprstate.Client
	down atomic.Bool
}

var errDown = errors.New("store unreachable")

func (o *outage) GetState(ctx context.Context, store, key string, meta map[string]string) (*dapr.StateItem, error) {
	if o.down.Load() {
		return nil, errDown
	}
	return o.Client.GetState(ctx, store, key, meta)
}

func (o *outage) GetBulkState(ctx context.Context, store string, keys []string, meta map[string]string, p int32) ([]*dapr.BulkStateItem, error) {
	if o.down.Load() {
		return nil, errDown
	}
	return o.Client.GetBulkState(ctx, store, keys, meta, p)
}

// deadLetter is a dead-lettered CloudEvent of its own id carrying e.
func deadLetter(t *testing.T, id string, e contracts.Event) []byte {
	t.Helper()
	raw, err := contracts.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	_ = json.Unmarshal(eventsubtest.Envelope("deadletter-test", raw), &env)
	env["id"] = id
	out, _ := json.Marshal(env)
	return out
}

// A dead letter is tried once more when it arrives: one whose handling now succeeds is not
// parked; one that still fails is; one that cannot be parked (the store out of reach) is
// refused, so that the dead-letter topic delivers it again, and parked once the store is back.
// A replay after a fix empties the lot of what now succeeds.
func TestDeadLettersAreTriedBeforeTheyAreParked(t *testing.T) {
	store := &outage{Client: daprtest.LocalProfile(t, "order")}
	var failing atomic.Bool
	handlers := map[contracts.EventType]eventsub.Handler{
		contracts.OrderPlaced: func(_ context.Context, e contracts.Event) error {
			switch {
			case e.OrderID == "poison":
				return eventsub.PoisonIf(errors.New("never"), errors.New("unrelated"))
			case failing.Load():
				return errors.New("a bug, fixed later")
			}
			return nil
		},
	}
	log := slog.New(slog.DiscardHandler)
	d := eventsub.NewDeadLetters(store, "order-store", handlers, prometheus.NewRegistry(), log)
	guard, issuer := authtest.New(t)
	r := mux.NewRouter()
	d.Routes(r, guard)
	admin := issuer.Bearer("ops", "admin")
	total := func() int {
		t.Helper()
		rec := authtest.Do(r, http.MethodGet, "/deadletters", "", admin)
		var lot struct {
			Total int `json:"total"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &lot); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("GET /deadletters: %d %s", rec.Code, rec.Body)
		}
		return lot.Total
	}
	placed := func(id string) contracts.Event {
		return eventsubtest.Event(contracts.OrderPlaced, id, "alice", "apple", 1)
	}

	// Its cause gone (the store is back, say): handled now, not parked.
	if got := eventsubtest.Deliver(t, r, "/events/deadletters", deadLetter(t, "ce-ok", placed("o1"))); got != "SUCCESS" || total() != 0 {
		t.Fatalf("a dead letter that now succeeds: %s, %d parked", got, total())
	}
	// Still failing: parked; poison: parked.
	failing.Store(true)
	for _, c := range []struct{ id, order string }{{"ce-bug", "o2"}, {"ce-poison", "poison"}} {
		if got := eventsubtest.Deliver(t, r, "/events/deadletters", deadLetter(t, c.id, placed(c.order))); got != "SUCCESS" {
			t.Fatalf("%s: %s", c.id, got)
		}
	}
	if n := total(); n != 2 {
		t.Fatalf("%d parked, want 2", n)
	}
	// The store out of reach: refused, to come round again; nothing lost.
	store.down.Store(true)
	if got := eventsubtest.Deliver(t, r, "/events/deadletters", deadLetter(t, "ce-later", placed("o3"))); got != "RETRY" {
		t.Fatalf("a dead letter that cannot be parked: %s, want RETRY", got)
	}
	store.down.Store(false)
	if got := eventsubtest.Deliver(t, r, "/events/deadletters", deadLetter(t, "ce-later", placed("o3"))); got != "SUCCESS" || total() != 3 {
		t.Fatalf("delivered again: %s, %d parked", got, total())
	}
	// After the fix, a replay handles all but the poison.
	failing.Store(false)
	req := httptest.NewRequest(http.MethodPost, "/deadletters/replay", bytes.NewReader(nil))
	req.Header.Set("Authorization", admin)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || total() != 1 {
		t.Fatalf("replay: %d %s, %d left", rec.Code, rec.Body, total())
	}
}
