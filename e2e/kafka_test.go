package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skmall/skmall/platform/daprtest"
)

// What each app consumes on the Kafka profile: its consumer group (the app id) and its topics.
var kafkaGroups = map[string][]string{
	"order":     {"deliveries"},
	"warehouse": {"orders", "deliveries"},
	"delivery":  {"orders"},
	"mypage":    {"orders", "deliveries"},
}

// TestKafkaConsumerGroups looks at the broker itself for what the other tests see only through
// the apps: every app id is one consumer group; two replicas of delivery split the orders
// topic's partitions between them; and once the shop is quiet every group has committed every
// message of its topics (lag 0), so nothing was skipped and nothing is left to deliver again.
func TestKafkaConsumerGroups(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "kafka")
	shop.StartReplica("delivery", "delivery-2")
	l := newLedger()
	shop.RegisterProduct(l, "apple", 100)
	var placed []order
	for i := range 24 {
		placed = append(placed, shop.MustPlaceOrder(l, fmt.Sprintf("order %d", i), fmt.Sprintf("c%d", i%5), "apple", 1+i%3))
	}
	for _, o := range placed[:6] {
		shop.CancelOrder(l, o.OrderID)
	}
	shop.WaitConverged(l, 90*time.Second)

	shop.waitKafkaCaughtUp()

	// The group may still be sharing the partitions out when every event has been handled:
	// events now arrive within milliseconds, and once, right after the shop converged, one
	// replica held no partition of orders yet. So the split is looked at until it settles.
	shop.waitKafkaSplit("delivery", "orders", 2)
}

// waitKafkaSplit waits (up to 30 s) until group's members members share topic's partitions out
// (see kafkaSplit): a group does so a few moments after a member joins.
func (s *Shop) waitKafkaSplit(group, topic string, members int) {
	s.t.Helper()
	daprtest.Eventually(s.t, 30*time.Second, fmt.Sprintf("%s's %d members to split the partitions of %s", group, members, topic), func() error {
		return s.kafkaSplit(group, topic, members)
	})
}

// kafkaSplit checks that a consumer group has members members and that each holds some of
// topic's partitions, every partition held by exactly one.
func (s *Shop) kafkaSplit(group, topic string, members int) error {
	described, err := s.kafkaAdmin().DescribeGroups(context.Background(), group)
	if err != nil {
		return err
	}
	got := described[group].Members
	if len(got) != members {
		return fmt.Errorf("%s's group has %d members, want %d", group, len(got), members)
	}
	seen := map[int32]string{}
	for _, m := range got {
		assigned, ok := m.Assigned.AsConsumer()
		if !ok {
			return fmt.Errorf("member %s has no consumer assignment", m.ClientID)
		}
		var mine []int32
		for _, a := range assigned.Topics {
			if a.Topic == topic {
				mine = append(mine, a.Partitions...)
			}
		}
		if len(mine) == 0 {
			return fmt.Errorf("member %s (%s) was given no partition of %s", m.MemberID, m.ClientHost, topic)
		}
		for _, p := range mine {
			if other, dup := seen[p]; dup {
				return fmt.Errorf("partition %d of %s is given to %s and %s", p, topic, other, m.MemberID)
			}
			seen[p] = m.MemberID
		}
	}
	if len(seen) != kafkaPartitions {
		return fmt.Errorf("the members hold %d of the %d partitions of %s", len(seen), kafkaPartitions, topic)
	}
	return nil
}

// TestKafkaRedeliversAfterCrashes keeps customers ordering and cancelling while a delivery
// replica's sidecar is killed (SIGKILL) and restarted, and then the broker is restarted: what
// the dead consumer had taken but not committed is delivered again, topics and committed
// offsets survive the broker's restart, and the shop ends with every order's consequences, no
// delivery twice, and every group caught up. (The stand-in killed with SIGKILL instead comes
// back with consumers that stall: see the README.)
func TestKafkaRedeliversAfterCrashes(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, "kafka", DurableBroker())
	shop.StartReplica("delivery", "delivery-2")
	l := newLedger()
	shop.RegisterProduct(l, "apple", 100000)

	stopLoad := customersOrdering(t, shop, l, "apple", 3, "kafka-crash")

	pause := func() { time.Sleep(1500 * time.Millisecond) }
	pause()
	t.Log("kill -9 the sidecar of delivery's second replica")
	shop.CrashSidecar("delivery-2", time.Second)
	shop.WaitReady("delivery-2")
	pause()
	t.Log("restart the broker")
	shop.RestartKafka(time.Second)
	pause()
	pause()

	stopLoad()
	shop.WaitConverged(l, 3*time.Minute)
	shop.waitKafkaCaughtUp()
}

// waitKafkaCaughtUp waits until every app's consumer group has committed every message of its
// topics (lag 0): nothing was skipped and nothing is left to deliver again.
func (s *Shop) waitKafkaCaughtUp() {
	s.t.Helper()
	adm := s.kafkaAdmin()
	ctx := context.Background()
	groups := make([]string, 0, len(kafkaGroups))
	for g := range kafkaGroups {
		groups = append(groups, g)
	}
	daprtest.Eventually(s.t, 60*time.Second, "every group to have committed every message", func() error {
		lags, err := adm.Lag(ctx, groups...)
		if err != nil {
			return err
		}
		for group, topics := range kafkaGroups {
			lag, ok := lags[group]
			if !ok {
				return fmt.Errorf("no consumer group %q", group)
			}
			if err := lag.Error(); err != nil {
				return fmt.Errorf("group %s: %w", group, err)
			}
			for _, topic := range topics {
				var committed int64
				for _, p := range lag.Lag[topic] {
					if p.Err != nil || p.Lag != 0 {
						return fmt.Errorf("group %s, %s/%d: committed %d of %d (%w)", group, topic, p.Partition, p.Commit.At, p.End.Offset, p.Err)
					}
					committed += max(p.Commit.At, 0)
				}
				if committed == 0 {
					return fmt.Errorf("group %s has committed nothing of %s", group, topic)
				}
			}
		}
		return nil
	})
}

// kafkaAdmin is an admin client of the shop's Kafka broker.
func (s *Shop) kafkaAdmin() *kadm.Client {
	s.t.Helper()
	brokers := strings.Split(s.envValue("SKMALL_KAFKA_BROKERS"), ",")
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}
