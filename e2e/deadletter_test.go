package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// publish sends a raw payload to a topic through an app's sidecar, as any publisher would.
func (s *Shop) publish(app, topic string, payload string) {
	s.t.Helper()
	if status, body := s.publishStatus(app, topic, payload); status/100 != 2 {
		s.t.Fatalf("publish to %s through %s: %d %s", topic, app, status, body)
	}
}

// publishStatus is publish that returns the sidecar's answer instead of judging it.
func (s *Shop) publishStatus(app, topic string, payload string) (int, string) {
	s.t.Helper()
	r := s.mustSend(s.toSidecar(app, http.MethodPost, "/v1.0/publish/pubsub/"+topic, []byte(payload)))
	return r.Status, string(r.Body)
}

// streamLength is the number of messages in a Redis stream (a topic of the Redis Streams pub/sub).
func (s *Shop) streamLength(stream string) (int, error) {
	host, port, _ := strings.Cut(s.RedisAddr, ":")
	out, err := exec.Command("redis-cli", "-h", host, "-p", port, "XLEN", stream).Output()
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// TestPoisonEventsAreDeadLettered publishes events no consumer can ever process: each consumer
// moves them to its dead-letter topic with a log line and a metric, and the events after them
// still flow. After a fix, replaying the dead letters handles what can now be handled.
func TestPoisonEventsAreDeadLettered(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	l := newLedger()
	shop.RegisterProduct(l, "apple", 10)

	shop.publish("order", "orders", `{"eventType":"OrderPlaced","orderId":"poison-1"}`)          // breaks the schema
	shop.publish("order", "orders", `{"eventType":"OrderShipped","orderId":"poison-2","qty":1}`) // unknown type
	shop.publish("order", "orders", `this is not JSON`)                                          // not even JSON
	shop.publish("delivery", "deliveries", fmt.Sprintf(`{"eventType":"DeliveryStarted","eventId":"e1","occurredAt":%q,"orderId":"ghost","customerId":"mallory","productId":"apple","qty":1,"deliveryId":"d1"}`,
		time.Now().UTC().Format(time.RFC3339Nano))) // valid, but for an order order and warehouse never had

	for _, c := range []struct {
		app, stream string
		want        int
	}{
		{"delivery", "deadletter-delivery", 3},
		{"mypage", "deadletter-mypage", 3},
		{"warehouse", "deadletter-warehouse", 4},
		{"order", "deadletter-order", 1},
	} {
		daprtest.Eventually(t, 30*time.Second, c.app+" to dead-letter the poison events", func() error {
			n, err := shop.streamLength(c.stream)
			if err != nil {
				return err
			}
			if n != c.want {
				return fmt.Errorf("%s holds %d messages, want %d", c.stream, n, c.want)
			}
			if !shop.LogContains(c.app, "dead-lettering") {
				return fmt.Errorf("%s logged no dead-lettering", c.app)
			}
			return nil
		})
	}

	// The subscriptions are not blocked: a real order still goes all the way.
	o, r := shop.PlaceOrder(l, "alice", "apple", 2)
	if r.Status != http.StatusCreated {
		t.Fatalf("order after the poison: %d %s", r.Status, r.Body)
	}
	shop.WaitConverged(l, 60*time.Second)
	if !shop.LogContains("delivery", "delivery started", o.OrderID) {
		t.Fatalf("delivery did not log the start of order %s", o.OrderID)
	}

	// Each service parked what it dead-lettered, and says so in a metric.
	for app, want := range map[string]float64{"delivery": 3, "mypage": 3, "warehouse": 4, "order": 1} {
		daprtest.Eventually(t, 30*time.Second, app+" to park its dead letters", func() error {
			if got := shop.AppMetric(app, "deadletters_parked"); got != want {
				return fmt.Errorf("%s parked %v, want %v", app, got, want)
			}
			if got := shop.AppMetric(app, "events_handled_total", `outcome="deadletter"`); got != want {
				return fmt.Errorf("%s counted %v dead letters, want %v", app, got, want)
			}
			return nil
		})
	}
	// The fix: the warehouse learns of the reservation the ghost order needed. Replaying ships
	// it; the events that break the contract stay parked.
	if r := shop.Invoke("order", "warehouse", http.MethodPost, "reservations", map[string]any{"orderId": "ghost", "productId": "apple", "qty": 1, "reservationId": "r1"}); r.Status != http.StatusOK {
		t.Fatalf("reserve for the ghost order: %d %s", r.Status, r.Body)
	}
	before := shop.Product("apple")
	r = shop.Call(http.MethodPost, "warehouse", "/deadletters/replay", nil)
	var replay struct {
		Replayed     int      `json:"replayed"`
		StillFailing []string `json:"stillFailing"`
	}
	r.JSON(t, &replay)
	if r.Status != http.StatusOK || replay.Replayed != 1 || len(replay.StillFailing) != 3 {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
	if after := shop.Product("apple"); after.OnHand != before.OnHand-1 || after.Reserved != before.Reserved-1 {
		t.Fatalf("replaying DeliveryStarted did not ship: %+v, was %+v", after, before)
	}
	if got := shop.AppMetric("warehouse", "deadletters_parked"); got != 3 {
		t.Fatalf("parked after the replay: %v, want 3", got)
	}
}
