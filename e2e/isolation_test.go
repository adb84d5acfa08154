package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// TestFaultIsolation stops delivery, then mypage (app and sidecar): orders and cancellations
// are still accepted; when the service comes back it processes every event it missed, and
// the shop ends exactly as if it had never stopped. On every profile: with RabbitMQ this is
// the proof that its queues are durable.
func TestFaultIsolation(t *testing.T) {
	t.Parallel()
	for _, profile := range profiles() {
		t.Run(profile, func(t *testing.T) { faultIsolation(t, profile) })
	}
}

func faultIsolation(t *testing.T, profile string) {
	shop := StartShop(t, profile)
	l := newLedger()
	shop.RegisterProduct(l, "apple", 100)

	for round, down := range []string{"delivery", "mypage"} {
		shop.StopApp(down)
		var placed []order
		for i := range 10 {
			placed = append(placed, shop.MustPlaceOrder(l, fmt.Sprintf("with %s down, order %d", down, i), fmt.Sprintf("c%d-%d", round, i%3), "apple", 1+i%2))
		}
		for _, o := range placed[:4] {
			shop.CancelOrder(l, o.OrderID)
		}
		// The other services carry on meanwhile.
		daprtest.Eventually(t, 30*time.Second, "order and warehouse to carry on", func() error {
			if down != "delivery" {
				return nil
			}
			// Nothing can start without delivery: every placed order is still reserved.
			if p := shop.Product("apple"); p.Reserved == 0 {
				return fmt.Errorf("nothing reserved: %+v", p)
			}
			return nil
		})
		shop.StartApp(down)
		shop.WaitReady(down)
		shop.WaitConverged(l, 90*time.Second)
	}
}

// TestScaleOut runs two replicas of delivery (two app and sidecar pairs, one app id): they
// share the orders between them, every order gets exactly one delivery, and both did work. On
// every profile: each broker shares one app's messages out its own way (a Redis consumer
// group, one RabbitMQ queue, a Kafka consumer group's partitions).
func TestScaleOut(t *testing.T) {
	t.Parallel()
	for _, profile := range profiles() {
		t.Run(profile, func(t *testing.T) { scaleOut(t, profile) })
	}
}

func scaleOut(t *testing.T, profile string) {
	shop := StartShop(t, profile)
	shop.StartReplica("delivery", "delivery-2")
	if profile == "kafka" {
		// A Kafka group shares its partitions out a few moments after a member joins, and an
		// event comes within milliseconds of its order: until then the first replica takes all.
		shop.waitKafkaSplit("delivery", "orders", 2)
	}
	l := newLedger()
	shop.RegisterProduct(l, "apple", 200)
	for i := range 60 {
		if _, r := shop.PlaceOrder(l, fmt.Sprintf("c%d", i%7), "apple", 1); r.Status != http.StatusCreated {
			t.Fatalf("order %d: %d %s", i, r.Status, r.Body)
		}
	}
	shop.WaitConverged(l, 90*time.Second)
	one := shop.AppMetric("delivery", "deliveries_started_total")
	two := shop.AppMetric("delivery-2", "deliveries_started_total")
	if one == 0 || two == 0 || one+two != 60 {
		t.Fatalf("deliveries started by the replicas: %v and %v, want both busy and 60 in all", one, two)
	}
	t.Logf("replica 1 started %v deliveries, replica 2 started %v", one, two)
}
