package state

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var dedupeScenarios = []scenario{
	{"first seen once per kind and key until forgotten", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		steps := []struct {
			name, kind, key string
			forget          bool // call Forget(kind, key) instead of FirstSeen
			want            bool
		}{
			{"first sighting", "callback", "abc", false, true},
			{"second sighting", "callback", "abc", false, false},
			{"same key, other kind", "click", "abc", false, true},
			{"forget", "callback", "abc", true, false},
			{"after forget", "callback", "abc", false, true},
			{"again after forget", "callback", "abc", false, false},
		}
		for _, st := range steps {
			if st.forget {
				if err := s.Forget(ctx, st.kind, st.key); err != nil {
					t.Fatalf("%s: Forget: %v", st.name, err)
				}
				continue
			}
			got, err := s.FirstSeen(ctx, st.kind, st.key, time.Minute)
			if err != nil {
				t.Fatalf("%s: FirstSeen: %v", st.name, err)
			}
			if got != st.want {
				t.Errorf("%s: got %v, want %v", st.name, got, st.want)
			}
		}
		wantTTL(t, rdb, prefix+"seen:callback:abc", time.Minute)
	}},
	{"first seen by exactly one concurrent caller", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		var firsts atomic.Int64
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				first, err := s.FirstSeen(ctx, "envelope", "env-1", time.Minute)
				if err != nil {
					t.Errorf("FirstSeen: %v", err)
				}
				if first {
					firsts.Add(1)
				}
			})
		}
		wg.Wait()
		if got := firsts.Load(); got != 1 {
			t.Errorf("callers told first: got %d, want 1", got)
		}
	}},
	{"first seen expires", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if _, err := s.FirstSeen(ctx, "click", "k", 30*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "FirstSeen true again after the ttl", func() bool {
			first, err := s.FirstSeen(ctx, "click", "k", 30*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			return first
		})
	}},
}
