package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// scenario is one behaviour of the Store. Every scenario runs against the
// shared test Redis (TestStore) and against the embedded in-memory server
// (TestStoreOnEmbeddedServer), which the bot uses when REDIS_URL is unset.
type scenario struct {
	name string
	run  func(t *testing.T, s *Store, rdb *redis.Client, prefix string)
}

func allScenarios() []scenario {
	var all []scenario
	for _, group := range [][]scenario{
		operationScenarios, tokenScenarios, trackingScenarios, resultScenarios,
		confirmationScenarios, dedupeScenarios, auditScenarios, outgoingScenarios,
		directoryScenarios, rateLimitScenarios, missScenarios, renderScenarios, sendingScenarios,
		approvalScenarios,
	} {
		all = append(all, group...)
	}
	return all
}

func TestStore(t *testing.T) {
	for _, sc := range allScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rdb, prefix := redistest.New(t)
			sc.run(t, New(rdb, prefix), rdb, prefix)
		})
	}
}

func TestStoreOnEmbeddedServer(t *testing.T) {
	mr := miniredis.NewMiniRedis()
	mr.ClockTTL(true) // TTLs follow the wall clock, as in a real server
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr.Close)
	for _, sc := range allScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { _ = rdb.Close() })
			prefix := "embedded:" + t.Name() + ":"
			sc.run(t, New(rdb, prefix), rdb, prefix)
		})
	}
}

func TestNewDefaultsPrefix(t *testing.T) {
	s := New(nil, "")
	if s.prefix != DefaultPrefix {
		t.Errorf("prefix: got %q, want %q", s.prefix, DefaultPrefix)
	}
	if got, want := s.opKey("abc"), "sb:op:{abc}"; got != want {
		t.Errorf("operation key: got %q, want %q", got, want)
	}
}

func TestPing(t *testing.T) {
	rdb, prefix := redistest.New(t)
	if err := New(rdb, prefix).Ping(context.Background()); err != nil {
		t.Errorf("Ping: got %v, want nil", err)
	}
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	if err := New(dead, "").Ping(context.Background()); err == nil {
		t.Error("Ping on an unreachable server: got nil, want an error")
	}
}

func TestNewIDIsURLSafeAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id, err := NewID()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 22 {
			t.Fatalf("len(%q): got %d, want 22 (128 bits, base64url)", id, len(id))
		}
		for _, r := range id {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				t.Fatalf("id %q: got character %q, want URL-safe only", id, r)
			}
		}
		if seen[id] {
			t.Fatalf("id %q: got it twice, want unique ids", id)
		}
		seen[id] = true
	}
}

// --- helpers ---

// wantTTL checks that key expires, within max.
func wantTTL(t *testing.T, rdb *redis.Client, key string, max time.Duration) {
	t.Helper()
	ttl, err := rdb.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	if ttl <= 0 || ttl > max {
		t.Errorf("PTTL %s: got %v, want in (0, %v]", key, ttl, max)
	}
}

// wantNoTTL checks that key exists and does not expire.
func wantNoTTL(t *testing.T, rdb *redis.Client, key string) {
	t.Helper()
	ttl, err := rdb.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	if ttl != -1 {
		t.Errorf("PTTL %s: got %v, want -1 (exists, no expiry)", key, ttl)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("%s: still false after %v", what, within)
		case <-tick.C:
		}
	}
}

func mustNewID(t testing.TB) string {
	t.Helper()
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}
