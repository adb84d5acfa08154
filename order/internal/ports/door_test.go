package ports

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skmall/skmall/contracts/grpc/orderv1"
	"github.com/skmall/skmall/order/internal/adapters"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/auth"
	"github.com/skmall/skmall/platform/auth/authtest"
	"github.com/skmall/skmall/platform/eventsub"
	"github.com/skmall/skmall/platform/value"
)

// slowStock holds every reservation until released.
type slowStock struct {
	*adapters.MemoryStock
	entered chan struct{}
	release chan struct{}
}

func (s slowStock) ReserveStock(ctx context.Context, r app.Reservation) (domain.ReservationID, app.Refusal, error) {
	s.entered <- struct{}{}
	select {
	case <-s.release:
		return s.MemoryStock.ReserveStock(ctx, r)
	case <-ctx.Done():
		return domain.ReservationID{}, app.Refusal{}, ctx.Err()
	}
}

// oneSlotDoors are both doors of an order app that places one order at a time, on stock that
// holds every reservation until released, logging to log.
func oneSlotDoors(t *testing.T, log *slog.Logger) (slowStock, *mux.Router, *authtest.Issuer, *orderService) {
	t.Helper()
	stock := slowStock{
		MemoryStock: adapters.NewMemoryStock(map[domain.ProductID]int{value.Must(domain.ParseProductID("apple")): 5}),
		entered:     make(chan struct{}, 8), release: make(chan struct{}),
	}
	r, issuer, grpcDoor := doors(t, log, stock, NewLimits(10*time.Second, 1))
	return stock, r, issuer, grpcDoor
}

// doors are both doors of an order app on stock, within lim, logging to log.
func doors(t *testing.T, log *slog.Logger, stock app.StockReserver, lim Limits) (*mux.Router, *authtest.Issuer, *orderService) {
	t.Helper()
	watches := &adapters.MemoryUnconfirmed{}
	return doorsOn(t, log, adapters.NewMemoryRepository(watches), watches, stock, lim)
}

// doorsOn are doors as doors makes them, on the given order store.
func doorsOn(t *testing.T, log *slog.Logger, orders *adapters.MemoryRepository, watches *adapters.MemoryUnconfirmed, stock app.StockReserver, lim Limits) (*mux.Router, *authtest.Issuer, *orderService) {
	t.Helper()
	a := app.New(orders, stock, watches, &adapters.MemoryAnnouncer{}, adapters.DiscardMetrics{}, log, time.Now, time.Minute)
	r := mux.NewRouter()
	guard, issuer := authtest.New(t)
	Routes(r, a, guard, lim, eventsub.NewMetrics(prometheus.NewRegistry()), log)
	return r, issuer, &orderService{a: a, lim: lim, errs: GRPCErrors(log, lim)}
}

// The bound on order requests in progress holds across the doors: while a REST placement
// holds the only slot, a gRPC placement is refused at once as overloaded (and the other way).
func TestPlacementSlotsAreSharedByBothDoors(t *testing.T) {
	stock, r, issuer, grpcDoor := oneSlotDoors(t, slog.New(slog.DiscardHandler))
	alice := auth.WithPrincipal(context.Background(), auth.Principal{Subject: "alice"})
	place := &orderv1.PlaceOrderRequest{CustomerId: "alice", ProductId: "apple", Qty: 1}

	// REST holds the slot; gRPC is turned away.
	done := make(chan int)
	go func() {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"customerId":"alice","productId":"apple","qty":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", issuer.Bearer("alice"))
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		done <- rec.Code
	}()
	<-stock.entered
	ctx, cancel := context.WithTimeout(alice, 2*time.Second)
	defer cancel()
	_, err := grpcDoor.PlaceOrder(ctx, place)
	if st := status.Convert(err); st.Code() != codes.Unavailable || !hasReason(st, "OVERLOADED") {
		t.Fatalf("gRPC placement while REST holds the only slot: %v, want UNAVAILABLE OVERLOADED", err)
	}
	stock.release <- struct{}{}
	if code := <-done; code != http.StatusCreated {
		t.Fatalf("the REST placement: %d", code)
	}

	// gRPC holds the slot; REST is turned away.
	go func() {
		_, err := grpcDoor.PlaceOrder(alice, place)
		if err != nil {
			t.Errorf("the gRPC placement: %v", err)
		}
		close(done)
	}()
	<-stock.entered
	req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"customerId":"alice","productId":"apple","qty":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", issuer.Bearer("alice"))
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), "problems/overloaded") {
		t.Errorf("REST placement while gRPC holds the only slot: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	stock.release <- struct{}{}
	<-done
}

func hasReason(st *status.Status, reason string) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == reason {
			return true
		}
	}
	return false
}

// Refusing order requests as overloaded is how order sheds load: under overload there are
// hundreds a second, and a log line for each would only add to the load. Both doors together
// log the first and then at most one line a second, with how many were refused.
func TestOverloadRefusalsAreLoggedOnceASecond(t *testing.T) {
	var logged strings.Builder
	stock, r, issuer, grpcDoor := oneSlotDoors(t, slog.New(slog.NewJSONHandler(&lockedWriter{w: &logged}, nil)))
	alice := auth.WithPrincipal(context.Background(), auth.Principal{Subject: "alice"})
	place := &orderv1.PlaceOrderRequest{CustomerId: "alice", ProductId: "apple", Qty: 1}

	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := grpcDoor.PlaceOrder(alice, place); err != nil {
			t.Errorf("the placement holding the slot: %v", err)
		}
	}()
	<-stock.entered
	took := refuseInTurns(t, r, issuer, grpcDoor, "the only slot is taken")
	stock.release <- struct{}{}
	<-done
	requireOneLineASecond(t, logged.String(), "too many order requests in progress", took)
}

// While the warehouse is down every order request is refused, and traffic makes that a flood
// too: those refusals are logged once a second as well, with the cause of the first.
func TestStockUnconfirmedRefusalsAreLoggedOnceASecond(t *testing.T) {
	var logged strings.Builder
	stock := adapters.NewMemoryStock(map[domain.ProductID]int{value.Must(domain.ParseProductID("apple")): 5})
	stock.Down = true
	r, issuer, grpcDoor := doors(t, slog.New(slog.NewJSONHandler(&lockedWriter{w: &logged}, nil)), stock, NewLimits(10*time.Second, 8))
	took := refuseInTurns(t, r, issuer, grpcDoor, "the warehouse is down")
	requireOneLineASecond(t, logged.String(), "stock cannot be confirmed now", took)
	if !strings.Contains(logged.String(), "warehouse unreachable") {
		t.Fatalf("the line does not say what failed:\n%s", logged.String())
	}
}

// While order's own store is down, every order request is refused (each reserves stock and gives
// it back first): the same flood, logged the same way.
func TestStoreDownRefusalsAreLoggedOnceASecond(t *testing.T) {
	var logged strings.Builder
	watches := &adapters.MemoryUnconfirmed{}
	orders := adapters.NewMemoryRepository(watches)
	orders.FailAdds = true
	stock := adapters.NewMemoryStock(map[domain.ProductID]int{value.Must(domain.ParseProductID("apple")): 5})
	r, issuer, grpcDoor := doorsOn(t, slog.New(slog.NewJSONHandler(&lockedWriter{w: &logged}, nil)), orders, watches, stock, NewLimits(10*time.Second, 8))
	took := refuseInTurns(t, r, issuer, grpcDoor, "the order store is down")
	requireOneLineASecond(t, logged.String(), "orders cannot be stored now", took)
	if !strings.Contains(logged.String(), "memory store: down") {
		t.Fatalf("the line does not say what failed:\n%s", logged.String())
	}
}

const refusals = 200

// refuseInTurns sends alice's order refusals times, through gRPC and REST in turns, and
// returns how long they took; each must be refused as unavailable (while why).
func refuseInTurns(t *testing.T, r *mux.Router, issuer *authtest.Issuer, grpcDoor *orderService, why string) time.Duration {
	t.Helper()
	alice := auth.WithPrincipal(context.Background(), auth.Principal{Subject: "alice"})
	start := time.Now()
	for i := range refusals {
		if i%2 == 0 {
			if _, err := grpcDoor.PlaceOrder(alice, &orderv1.PlaceOrderRequest{CustomerId: "alice", ProductId: "apple", Qty: 1}); status.Code(err) != codes.Unavailable {
				t.Fatalf("gRPC placement while %s: %v", why, err)
			}
			continue
		}
		if rec := authtest.Do(r, http.MethodPost, "/orders", `{"customerId":"alice","productId":"apple","qty":1}`, issuer.Bearer("alice")); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("REST placement while %s: %d %s", why, rec.Code, rec.Body)
		}
	}
	return time.Since(start)
}

// requireOneLineASecond fails unless the refusals (which took took) logged msg once, and at
// most once a second: they take milliseconds; on a machine slow enough to take seconds, a line
// a second.
func requireOneLineASecond(t *testing.T, logged, msg string, took time.Duration) {
	t.Helper()
	if n, most := strings.Count(logged, msg), 1+int(took/time.Second); n < 1 || n > most {
		t.Fatalf("%d refusals in %s logged %d lines, want 1 (the first) and at most one a second:\n%s", refusals, took, n, logged)
	}
}

// lockedWriter lets goroutines share a log's output.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
