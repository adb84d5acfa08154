package httpx

import (
	"sync"
	"time"
)

// Tally stands in for a log line per failure where failures come by the hundred (a service
// refusing work to shed load, where a line each would add to the load): the first is logged,
// then at most one line per interval, telling how many there were since the line before.
// The request metrics count each one. One Tally may serve several rules and doors.
type Tally struct {
	every time.Duration
	mu    sync.Mutex
	next  time.Time
	n     int
}

// NewTally returns a tally that logs at most once per interval.
func NewTally(interval time.Duration) *Tally { return &Tally{every: interval} }

// add counts a failure at now and says whether to log it, for how many.
func (t *Tally) add(now time.Time) (n int, log bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	if now.Before(t.next) {
		return 0, false
	}
	n, t.n, t.next = t.n, 0, now.Add(t.every)
	return n, true
}
