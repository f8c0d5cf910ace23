package redistest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewGivesWorkingClientAndDistinctPrefixes(t *testing.T) {
	ctx := context.Background()
	a, prefixA := New(t)
	b, prefixB := New(t)
	if prefixA == prefixB {
		t.Fatalf("got the same prefix %q twice, want distinct prefixes", prefixA)
	}
	if err := a.Set(ctx, prefixA+"k", "a", time.Minute).Err(); err != nil {
		t.Fatalf("set through first client: %v", err)
	}
	got, err := b.Get(ctx, prefixA+"k").Result()
	if err != nil {
		t.Fatalf("get through second client: %v", err)
	}
	if got != "a" {
		t.Errorf("got %q, want %q (both clients should reach the same server)", got, "a")
	}
	if addr := Addr(t); addr != a.Options().Addr {
		t.Errorf("Addr: got %q, want the client's %q", addr, a.Options().Addr)
	}
}

func TestNewCleanupDeletesOnlyItsPrefix(t *testing.T) {
	ctx := context.Background()
	outer, outerPrefix := New(t)
	if err := outer.Set(ctx, outerPrefix+"keep", "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	var innerPrefix string
	t.Run("inner", func(t *testing.T) {
		rdb, prefix := New(t)
		innerPrefix = prefix
		for _, k := range []string{"a", "b", "c:d"} {
			if err := rdb.Set(ctx, prefix+k, "1", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	keys, err := outer.Keys(ctx, innerPrefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("after the subtest ended: got keys %v under its prefix, want none", keys)
	}
	n, err := outer.Exists(ctx, outerPrefix+"keep").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("outer key exists: got %d, want 1 (cleanup must not touch other prefixes)", n)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "TestFoo", "TestFoo"},
		{"subtest and glob characters", "TestFoo/a*b?[c]", "TestFoo_a_b__c_"},
		{"long", strings.Repeat("x", 100), strings.Repeat("x", 40)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitize(tt.in); got != tt.want {
				t.Errorf("sanitize(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestURLBackendUsesURL(t *testing.T) {
	b, err := urlBackend("redis://:secret@127.0.0.1:6390/3")
	if err != nil {
		t.Fatal(err)
	}
	o := b.options()
	if b.addr != "127.0.0.1:6390" || o.Addr != "127.0.0.1:6390" || o.DB != 3 || o.Password != "secret" {
		t.Errorf("got addr %q, options addr %q db %d password set %v; want 127.0.0.1:6390, db 3, password set",
			b.addr, o.Addr, o.DB, o.Password == "secret")
	}
	if _, err := urlBackend("http://example.com"); err == nil {
		t.Error("urlBackend with an http URL: got nil error, want one")
	}
}

func TestEmbeddedBackendExpiresKeysOnWallClock(t *testing.T) {
	b, err := embeddedBackend()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.stop() })
	rdb := redis.NewClient(b.options())
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "v", 20*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := rdb.Exists(ctx, "k").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		select {
		case <-deadline:
			t.Fatal("key with a 20ms TTL still exists after 5s, want it expired")
		case <-tick.C:
		}
	}
}

func TestStartServerStopAndStart(t *testing.T) {
	s := StartServer(t)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })

	if err := rdb.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatalf("set on started server: %v", err)
	}
	addr := s.Addr()

	s.Stop()
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("PING after Stop: got nil error, want the server unreachable")
	}
	s.Stop() // stopping twice is harmless

	s.Start()
	if got := s.Addr(); got != addr {
		t.Errorf("Addr after restart: got %q, want %q", got, addr)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	n, err := rdb.Exists(ctx, "k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("key count after restart: got %d, want 0 (the server starts empty)", n)
	}
}
