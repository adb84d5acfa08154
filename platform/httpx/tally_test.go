package httpx

import (
	"testing"
	"time"
)

func TestTallyLogsTheFirstThenOncePerIntervalWithTheCount(t *testing.T) {
	t.Parallel()
	tally := NewTally(time.Second)
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	type line struct {
		n   int
		log bool
	}
	var got []line
	for _, at := range []time.Duration{0, 10 * time.Millisecond, 500 * time.Millisecond, 999 * time.Millisecond, time.Second, 1100 * time.Millisecond, 3 * time.Second} {
		n, log := tally.add(start.Add(at))
		got = append(got, line{n, log})
	}
	want := []line{{1, true}, {0, false}, {0, false}, {0, false}, {4, true}, {0, false}, {2, true}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("lines %+v, want %+v", got, want)
		}
	}
}
