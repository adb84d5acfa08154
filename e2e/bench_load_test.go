package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The benchmark's load: orders offered open loop, followed downstream to their delivery and
// their customer's page.

// placed is an order the load generator saw accepted.
type placed struct {
	id, customer string
	at           time.Time // when the 201 arrived
}

// orders offers POST /orders at rate for warm+dur (open loop: requests go out on schedule
// whether or not earlier ones have answered) and measures the last dur of it.
func (b *bench) orders(rate int, warm, dur time.Duration, follow *follower) (latency, []placed) {
	b.t.Helper()
	from := time.Now().Add(warm)
	var lats []time.Duration
	var accepted []placed
	res := latency{Rate: rate}
	for r := range attack(b.orderTargeter(), rate, warm+dur, "orders") {
		p, ok := b.placedFrom(r)
		if ok {
			res.all++
		}
		if ok && follow != nil && r.Timestamp.After(from) {
			follow.maybe(p)
		}
		if r.Timestamp.Before(from) {
			continue
		}
		res.Sent++
		lats = append(lats, r.Latency)
		if ok {
			res.Accepted++
			accepted = append(accepted, p)
		} else {
			res.Errors++
		}
	}
	q := quantiles(lats)
	res.P50, res.P95, res.P99, res.Max = q(0.50), q(0.95), q(0.99), q(1)
	return res, accepted
}

func (b *bench) orderTargeter() vegeta.Targeter {
	url := b.shop.Apps["order"].URL + "/orders"
	return func(tgt *vegeta.Target) error {
		i := b.seq.Add(1)
		c := b.customers[i%uint64(len(b.customers))]
		p := i / 7 % uint64(b.plan.products) //nolint:gosec // G115: products is the plan's small positive count
		tgt.Method, tgt.URL = http.MethodPost, url
		tgt.Body = fmt.Appendf(nil, `{"customerId":%q,"productId":"p%03d","qty":1}`, c, p)
		tgt.Header = http.Header{"Content-Type": {"application/json"}, "Authorization": {b.tokens[c]}}
		return nil
	}
}

func (b *bench) placedFrom(r *vegeta.Result) (placed, bool) {
	if r.Code != http.StatusCreated {
		return placed{}, false
	}
	var o order
	if json.Unmarshal(r.Body, &o) != nil {
		return placed{}, false
	}
	return placed{id: o.OrderID, customer: o.CustomerID, at: r.Timestamp.Add(r.Latency)}, true
}

// follower watches a sample of orders on mypage until each shows its delivery started.
type follower struct {
	b      *bench
	n      atomic.Int64
	mu     sync.Mutex
	seen   []time.Duration
	wg     sync.WaitGroup
	every  int
	client *http.Client
}

func (b *bench) newFollower() *follower {
	return &follower{b: b, every: b.plan.lagSampleN, client: &http.Client{Timeout: 5 * time.Second}}
}

// maybe follows every n-th order: polling its page every 100 ms until the delivery shows.
func (f *follower) maybe(p placed) {
	if f.n.Add(1)%int64(f.every) != 0 {
		return
	}
	url := f.b.shop.Apps["mypage"].URL + "/mypage/" + p.customer + "/orders/" + p.id
	token := f.b.tokens[p.customer]
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", token)
			if resp, err := f.client.Do(req); err == nil {
				var row myRow
				_ = json.NewDecoder(resp.Body).Decode(&row)
				_ = resp.Body.Close()
				if row.DeliveryStatus == "STARTED" {
					f.mu.Lock()
					f.seen = append(f.seen, time.Since(p.at))
					f.mu.Unlock()
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
}

// lags measures, for the lag stage's orders, the time from the 201 to the delivery's start
// (as delivery recorded it) and to the page showing it (as the follower saw it).
func (b *bench) lags(accepted []placed, f *follower) []lag {
	b.t.Helper()
	f.wg.Wait()
	var toDelivery []time.Duration
	for _, p := range accepted {
		var d struct {
			CreatedAt time.Time `json:"createdAt"`
		}
		req, _ := http.NewRequest(http.MethodGet, b.shop.Apps["delivery"].URL+"/deliveries/"+p.id, nil)
		req.Header.Set("Authorization", b.shop.As(Admin, "admin")[1])
		for range 300 {
			resp, err := b.client.Do(req)
			if err == nil && resp.StatusCode == http.StatusOK {
				_ = json.NewDecoder(resp.Body).Decode(&d)
				_ = resp.Body.Close()
				break
			}
			if err == nil {
				_ = resp.Body.Close()
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !d.CreatedAt.IsZero() {
			toDelivery = append(toDelivery, d.CreatedAt.Sub(p.at))
		}
	}
	q1, q2 := quantiles(toDelivery), quantiles(f.seen)
	return []lag{
		{To: "delivery started", P50: q1(0.5), P99: q1(0.99), Max: q1(1), Sample: len(toDelivery)},
		{To: "visible on mypage (polled every 100 ms)", P50: q2(0.5), P99: q2(0.99), Max: q2(1), Sample: len(f.seen)},
	}
}

// backlog is how many accepted orders have not yet reached each place downstream.
func (b *bench) backlog() (placedN, started, viewed float64) {
	placedN = b.shop.AppMetric("order", "orders_placed_total")
	started = b.shop.AppMetric("delivery", "deliveries_started_total")
	viewed = b.shop.AppMetric("mypage", "events_handled_total", `type="DeliveryStarted"`, `outcome="success"`)
	return
}

func (b *bench) waitDrained(within time.Duration) float64 {
	b.t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		p, s, v := b.backlog()
		shipped := b.shop.AppMetric("warehouse", "events_handled_total", `type="DeliveryStarted"`, `outcome="success"`)
		if s >= p && v >= p && shipped >= p {
			return time.Since(start).Seconds()
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.t.Fatalf("the shop did not catch up within %s", within)
	return 0
}

func (b *bench) saturate() saturation {
	b.t.Helper()
	p0, s0, v0 := b.backlog()
	sat := saturation{Offered: b.plan.satRate}
	stopBacklog := every(time.Second, func() {
		p, s, _ := b.backlog()
		sat.BacklogSeries = append(sat.BacklogSeries, p-s)
	})
	start := time.Now()
	var lats []time.Duration
	for r := range attack(b.orderTargeter(), b.plan.satRate, b.plan.satDur, "saturation") {
		lats = append(lats, r.Latency)
		if r.Code == http.StatusCreated {
			sat.Accepted++
		} else {
			sat.Refused++
		}
	}
	sat.Seconds = time.Since(start).Seconds()
	stopBacklog()
	p1, s1, v1 := b.backlog()
	sat.AcceptedPerS = (p1 - p0) / sat.Seconds
	sat.StartedPerS = (s1 - s0) / sat.Seconds
	sat.ViewedPerS = (v1 - v0) / sat.Seconds
	sat.BacklogAtEnd = p1 - s1
	sat.P99 = quantiles(lats)(0.99)
	sat.DrainSeconds = b.waitDrained(5 * time.Minute)
	return sat
}
