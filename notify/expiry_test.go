package notify

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard"
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

// expiringStore hands out its due operations once; ExpireOperation expires
// those in won and reports the others as already settled.
type expiringStore struct {
	ExpirerStore
	due []string
	won map[string]bool
}

func (s *expiringStore) ClaimExpiries(context.Context, time.Time, int, time.Duration) ([]string, error) {
	ids := s.due
	s.due = nil
	return ids, nil
}

func (s *expiringStore) ExpireOperation(_ context.Context, id string, _ func(switchboard.Operation, []switchboard.Result) []switchboard.Outgoing) (switchboard.Operation, bool, error) {
	return switchboard.Operation{ID: id, Kind: "fmu.read"}, s.won[id], nil
}

func (s *expiringStore) Audit(context.Context, switchboard.AuditEntry) error { return nil }

func TestExpirerReportsEachOperationItExpired(t *testing.T) {
	store := &expiringStore{due: []string{"op1", "op2", "op3"}, won: map[string]bool{"op1": true, "op3": true}}
	var kinds []string
	e := &Expirer{Store: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), OnExpired: func(kind string) { kinds = append(kinds, kind) }}
	n, err := e.Sweep(context.Background(), time.Now())
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2 expired", n, err)
	}
	// op2 was settled meanwhile (its last answer came): not an expiry.
	if want := []string{"fmu.read", "fmu.read"}; !slices.Equal(kinds, want) {
		t.Errorf("OnExpired got %q, want %q", kinds, want)
	}
}
