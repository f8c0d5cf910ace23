package notify

import (
	"context"
	"testing"
	"time"
)

// sweepCounter is an ExpirerStore with nothing due that counts the claims.
type sweepCounter struct {
	ExpirerStore
	claims chan struct{}
}

func (s *sweepCounter) ClaimExpiries(context.Context, time.Time, int, time.Duration) ([]string, error) {
	select {
	case s.claims <- struct{}{}:
	default:
	}
	return nil, nil
}

func TestExpirerRunSweepsUntilItsContextEnds(t *testing.T) {
	store := &sweepCounter{claims: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Expirer{Store: store, Interval: time.Millisecond}).Run(ctx) }()
	deadline := time.After(10 * time.Second)
	for range 3 {
		select {
		case <-store.claims:
		case <-deadline:
			t.Fatal("Run did not sweep three times within 10 s")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after its context ends", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
