package state

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var rateLimitScenarios = []scenario{
	{"allow enforces the limit and reports retry after", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		const limit, window = 3, 400 * time.Millisecond
		start := time.Now()
		for i := range limit {
			ok, retry, err := s.Allow(ctx, "U1:sim", limit, window)
			if err != nil || !ok || retry != 0 {
				t.Fatalf("request %d: got %v, %v, %v; want true, 0, nil", i+1, ok, retry, err)
			}
		}
		ok, retry, err := s.Allow(ctx, "U1:sim", limit, window)
		if err != nil || ok {
			t.Fatalf("request %d: got ok=%v err=%v, want false, nil", limit+1, ok, err)
		}
		if elapsed := time.Since(start); retry <= 0 || retry > window {
			t.Errorf("retryAfter: got %v, want in (0, %v] (elapsed %v)", retry, window, elapsed)
		}
		wantTTL(t, rdb, prefix+"rl:U1:sim", window)

		other, _, err := s.Allow(ctx, "U2:sim", limit, window)
		if err != nil || !other {
			t.Errorf("another key: got %v, %v; want true, nil", other, err)
		}
		eventually(t, 5*time.Second, "allowed again once the window slid", func() bool {
			ok, _, err := s.Allow(ctx, "U1:sim", limit, window)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		})
		if elapsed := time.Since(start); elapsed < window-50*time.Millisecond {
			t.Errorf("allowed again after %v, want no sooner than the window %v", elapsed, window)
		}
	}},
	{"allow validates", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		tests := []struct {
			name   string
			key    string
			limit  int
			window time.Duration
		}{
			{"empty key", "", 1, time.Second},
			{"zero limit", "k", 0, time.Second},
			{"zero window", "k", 1, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if _, _, err := s.Allow(ctx, tt.key, tt.limit, tt.window); err == nil {
					t.Error("got nil error, want one")
				}
			})
		}
		for _, n := range []int{0, 4} {
			if _, _, err := s.AllowN(ctx, "k", n, 3, time.Second); err == nil {
				t.Errorf("AllowN of %d in 3: got nil error, want one", n)
			}
		}
	}},
	{"allowN counts a request's weight", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		const limit, window = 10, time.Minute
		for i, tt := range []struct {
			n  int
			ok bool
		}{{6, true}, {5, false}, {4, true}, {1, false}} {
			ok, retry, err := s.AllowN(ctx, "U1:reads", tt.n, limit, window)
			if err != nil || ok != tt.ok || (ok && retry != 0) || (!ok && (retry <= 0 || retry > window)) {
				t.Errorf("request %d of %d: got %v, %v, %v; want %v", i+1, tt.n, ok, retry, err, tt.ok)
			}
		}
		if n := rdb.ZCard(ctx, prefix+"rl:U1:reads").Val(); n != limit {
			t.Errorf("counted %d, want %d", n, limit)
		}
		wantTTL(t, rdb, prefix+"rl:U1:reads", window)
	}},
}
