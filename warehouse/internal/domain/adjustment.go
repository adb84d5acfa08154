package domain

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// ErrAdjustmentKeyReused is a key that named an adjustment of another delta before.
var ErrAdjustmentKeyReused = errors.New("the key named another adjustment")

// AdjustmentKey names one adjustment of a product's stock, so that making it again (a retried
// request, or a write decided again because its answer was lost) changes nothing. Only
// ParseAdjustmentKey and NewAdjustmentKey make one.
type AdjustmentKey struct{ s string }

// ParseAdjustmentKey accepts 1 to 128 printable ASCII characters, as an Idempotency-Key.
func ParseAdjustmentKey(s string) (AdjustmentKey, error) {
	if s == "" || len(s) > 128 {
		return AdjustmentKey{}, fmt.Errorf("%w: Idempotency-Key must hold 1 to 128 characters", ErrInvalidInput)
	}
	for _, c := range s {
		if c <= ' ' || c > '~' {
			return AdjustmentKey{}, fmt.Errorf("%w: Idempotency-Key must be printable ASCII without spaces", ErrInvalidInput)
		}
	}
	return AdjustmentKey{s}, nil
}

// NewAdjustmentKey makes a key no one else holds, for an adjustment asked for without one.
func NewAdjustmentKey() AdjustmentKey { return AdjustmentKey{rand.Text()} }

func (k AdjustmentKey) String() string { return k.s }

// Adjustment is a change of a product's stock on hand that was made, kept under its key.
type Adjustment struct {
	key   AdjustmentKey
	delta int
	at    time.Time
}

// NewAdjustment records that delta units were added to the stock on hand (removed, when
// negative) under key at a time.
func NewAdjustment(key AdjustmentKey, delta int, at time.Time) Adjustment {
	return Adjustment{key: key, delta: delta, at: at}
}

func (a Adjustment) Key() AdjustmentKey { return a.key }
func (a Adjustment) Delta() int         { return a.delta }
func (a Adjustment) At() time.Time      { return a.at }

// Repeats tells whether asking for delta under a's key is a's repeat: the same delta, or
// ErrAdjustmentKeyReused.
func (a Adjustment) Repeats(delta int) error {
	if a.delta != delta {
		return fmt.Errorf("%w: %s added %d units, not %d", ErrAdjustmentKeyReused, a.key, a.delta, delta)
	}
	return nil
}
