package state

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

func sampleOperation(id string) switchboard.Operation {
	return switchboard.Operation{
		ID:        id,
		Kind:      "sim.deactivate",
		UserID:    "U0AAAAAAA",
		ChannelID: "C0OPS0000",
		Targets:   []switchboard.Target{{ID: "32470123456"}, {Type: switchboard.ICCID, ID: "8932000000000000001"}},
		Params:    switchboard.Params{Title: "Deactivate 2 SIM cards (lost)"},
		Expected:  2,
	}
}

var operationScenarios = []scenario{
	{"operation round trip", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := sampleOperation(mustNewID(t))
		before := time.Now()
		if err := s.CreateOperation(ctx, op, time.Minute); err != nil {
			t.Fatalf("CreateOperation: %v", err)
		}
		got, ok, err := s.Operation(ctx, op.ID)
		if err != nil || !ok {
			t.Fatalf("Operation: got ok=%v err=%v, want ok=true err=nil", ok, err)
		}
		if got.Status != switchboard.StatusPending {
			t.Errorf("Status: got %q, want %q (the default)", got.Status, switchboard.StatusPending)
		}
		if got.CreatedAt.Before(before.Add(-time.Second)) || got.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("CreatedAt: got %v, want about now", got.CreatedAt)
		}
		if want := got.CreatedAt.Add(time.Minute); !got.ExpiresAt.Equal(want) {
			t.Errorf("ExpiresAt: got %v, want CreatedAt+ttl %v", got.ExpiresAt, want)
		}
		op.Status, op.CreatedAt, op.ExpiresAt = got.Status, got.CreatedAt, got.ExpiresAt
		if !reflect.DeepEqual(got, op) {
			t.Errorf("Operation: got %+v, want %+v", got, op)
		}
		wantTTL(t, rdb, prefix+"op:{"+op.ID+"}", time.Minute)
	}},
	{"operation create refuses an existing id", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := sampleOperation(mustNewID(t))
		if err := s.CreateOperation(ctx, op, time.Minute); err != nil {
			t.Fatal(err)
		}
		other := op
		other.UserID = "U0EVIL0000"
		wantErrIs(t, "second CreateOperation", s.CreateOperation(ctx, other, time.Minute), ErrExists)
		got, _, err := s.Operation(ctx, op.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.UserID != op.UserID {
			t.Errorf("UserID after refused create: got %q, want %q", got.UserID, op.UserID)
		}
	}},
	{"operation create validates", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		tests := []struct {
			name string
			op   switchboard.Operation
			ttl  time.Duration
		}{
			{"empty id", sampleOperation(""), time.Minute},
			{"zero ttl", sampleOperation("x"), 0},
			{"negative ttl", sampleOperation("y"), -time.Second},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := s.CreateOperation(ctx, tt.op, tt.ttl); err == nil {
					t.Error("got nil error, want one")
				}
			})
		}
	}},
	{"operation update applies fn and keeps the ttl", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := sampleOperation(mustNewID(t))
		if err := s.CreateOperation(ctx, op, time.Minute); err != nil {
			t.Fatal(err)
		}
		got, err := s.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error {
			o.Status = switchboard.StatusRunning
			o.ThreadTS = "1700000000.000100"
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateOperation: %v", err)
		}
		if got.Status != switchboard.StatusRunning || got.ThreadTS != "1700000000.000100" {
			t.Errorf("returned operation: got status %q thread %q, want %q and the new thread",
				got.Status, got.ThreadTS, switchboard.StatusRunning)
		}
		stored, _, err := s.Operation(ctx, op.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stored, got) {
			t.Errorf("stored: got %+v, want the returned %+v", stored, got)
		}
		wantTTL(t, rdb, prefix+"op:{"+op.ID+"}", time.Minute)
	}},
	{"operation update moves the expiry with ExpiresAt", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := sampleOperation(mustNewID(t))
		if err := s.CreateOperation(ctx, op, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error {
			o.ExpiresAt = time.Now().Add(time.Hour)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		ttl, err := rdb.PTTL(ctx, prefix+"op:{"+op.ID+"}").Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 59*time.Minute || ttl > time.Hour {
			t.Errorf("PTTL after extending: got %v, want about 1h", ttl)
		}
	}},
	{"operation update refuses", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := sampleOperation(mustNewID(t))
		if err := s.CreateOperation(ctx, op, time.Minute); err != nil {
			t.Fatal(err)
		}
		errFn := errors.New("not allowed now")
		tests := []struct {
			name    string
			id      string
			fn      func(*switchboard.Operation) error
			wantErr error // nil: any error
		}{
			{"missing operation", "nope", func(*switchboard.Operation) error { return nil }, switchboard.ErrNotFound},
			{"fn error", op.ID, func(o *switchboard.Operation) error { o.Status = switchboard.StatusDone; return errFn }, errFn},
			{"id change", op.ID, func(o *switchboard.Operation) error { o.ID = "other"; o.Status = switchboard.StatusDone; return nil }, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.UpdateOperation(ctx, tt.id, tt.fn)
				if err == nil {
					t.Fatal("got nil error, want one")
				}
				if tt.wantErr != nil {
					wantErrIs(t, "UpdateOperation", err, tt.wantErr)
				}
			})
		}
		got, _, err := s.Operation(ctx, op.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != switchboard.StatusPending {
			t.Errorf("Status after refused updates: got %q, want %q", got.Status, switchboard.StatusPending)
		}
	}},
	{"operation update loses no concurrent update", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		op := sampleOperation(mustNewID(t))
		op.Targets = nil
		if err := s.CreateOperation(ctx, op, time.Minute); err != nil {
			t.Fatal(err)
		}
		const writers = 50
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := range writers {
			wg.Go(func() {
				_, err := s.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error {
					o.Targets = append(o.Targets, switchboard.Number(fmt.Sprint(i)))
					o.Expected++
					return nil
				})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("UpdateOperation: %v", err)
			}
		}
		got, _, err := s.Operation(ctx, op.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Targets) != writers || got.Expected != writers+2 {
			t.Fatalf("after %d concurrent updates: got %d targets and Expected %d, want %d and %d",
				writers, len(got.Targets), got.Expected, writers, writers+2)
		}
		seen := map[switchboard.Target]bool{}
		for _, tg := range got.Targets {
			seen[tg] = true
		}
		if len(seen) != writers {
			t.Errorf("distinct targets: got %d, want %d", len(seen), writers)
		}
	}},
}
