package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

var trackingScenarios = []scenario{
	{"park then take returns payloads in order once", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		want := []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}
		for _, p := range want {
			if err := s.Park(ctx, "op2", []byte(p), time.Minute, 3); err != nil {
				t.Fatalf("Park: %v", err)
			}
		}
		wantTTL(t, rdb, prefix+"park:{op2}", time.Minute)
		got, err := s.TakeParked(ctx, "op2")
		if err != nil {
			t.Fatalf("TakeParked: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("TakeParked: got %d payloads, want %d", len(got), len(want))
		}
		for i := range want {
			if string(got[i]) != want[i] {
				t.Errorf("payload %d: got %s, want %s", i, got[i], want[i])
			}
		}
		again, err := s.TakeParked(ctx, "op2")
		if err != nil || len(again) != 0 {
			t.Errorf("second TakeParked: got %d payloads, err %v; want none", len(again), err)
		}
	}},
	{"park refuses beyond the operation's count and bytes", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		// One target: one parked callback, however small the next one is.
		if err := s.Park(ctx, "op3", []byte("the one that fits"), time.Minute, 1); err != nil {
			t.Fatalf("first Park: got %v, want nil", err)
		}
		wantErrIs(t, "Park beyond the operation's targets", s.Park(ctx, "op3", []byte("x"), time.Minute, 1), switchboard.ErrParkFull)

		// Many targets: the byte cap stops large bodies long before the count.
		big := make([]byte, 60<<10)
		stored := 0
		for range 100 {
			err := s.Park(ctx, "op3b", big, time.Minute, 1000)
			if errors.Is(err, switchboard.ErrParkFull) {
				break
			}
			if err != nil {
				t.Fatalf("Park: %v", err)
			}
			stored++
		}
		if want := MaxParkedBytes / len(big); stored != want {
			t.Errorf("parked 60 KiB bodies: got %d, want %d (the byte cap)", stored, want)
		}
		used, err := rdb.MemoryUsage(ctx, prefix+"park:{op3b}").Result()
		if err != nil {
			t.Fatal(err)
		}
		if used > 2*MaxParkedBytes {
			t.Errorf("parked callbacks use %d bytes of Redis, want at most about %d", used, MaxParkedBytes)
		}
	}},
	{"concurrent takers get each parked payload once", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		const producers, perProducer, takers = 8, 50, 6
		parked := make(chan struct{})
		var pwg sync.WaitGroup
		for p := range producers {
			pwg.Go(func() {
				for i := range perProducer {
					if err := s.Park(ctx, "op4", fmt.Appendf(nil, "%d-%d", p, i), time.Minute, producers*perProducer); err != nil {
						t.Errorf("Park: %v", err)
						return
					}
				}
			})
		}
		go func() { pwg.Wait(); close(parked) }()

		var mu sync.Mutex
		count := map[string]int{}
		var twg sync.WaitGroup
		for range takers {
			twg.Go(func() {
				for {
					// Read done before taking: a take that starts after all
					// parks finished and finds nothing means nothing is left.
					done := false
					select {
					case <-parked:
						done = true
					default:
					}
					got, err := s.TakeParked(ctx, "op4")
					if err != nil {
						t.Errorf("TakeParked: %v", err)
						return
					}
					mu.Lock()
					for _, p := range got {
						count[string(p)]++
					}
					mu.Unlock()
					if done && len(got) == 0 {
						return
					}
				}
			})
		}
		twg.Wait()
		if len(count) != producers*perProducer {
			t.Errorf("distinct payloads taken: got %d, want %d", len(count), producers*perProducer)
		}
		for p, n := range count {
			if n != 1 {
				t.Errorf("payload %s: taken %d times, want once", p, n)
			}
		}
	}},
	{"park validates", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		tests := []struct {
			name string
			call func() error
		}{
			{"park without operation", func() error { return s.Park(ctx, "", []byte("x"), time.Minute, 1) }},
			{"park without ttl", func() error { return s.Park(ctx, "op", []byte("x"), 0, 1) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(); err == nil {
					t.Error("got nil error, want one")
				}
			})
		}
	}},
}
