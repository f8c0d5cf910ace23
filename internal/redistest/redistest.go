// Package redistest gives tests a Redis to talk to.
//
// Tests in many packages share one server, so every caller of New gets its own
// key prefix, and the keys under that prefix are deleted when the test ends.
// The server is found in this order:
//
//  1. REDIS_URL, when set (redis:// or rediss://, parsed with redis.ParseURL);
//  2. a redis-server from PATH, started once per test binary on a free loopback
//     port with persistence off, and stopped by Main when the tests end;
//  3. the embedded in-memory server (miniredis), with a notice on stderr.
//
// A package whose tests call New declares
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
//
// Tests that must stop and restart Redis use StartServer, which gives them a
// private redis-server of their own; tests of a failover use
// StartSentinelGroup, a private primary, replica and sentinel.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// embeddedNotice is printed once per test binary when no real Redis is available.
const embeddedNotice = "redistest: no REDIS_URL and no redis-server on PATH; using the embedded in-memory server"

// backend is the Redis shared by every New in one test binary.
type backend struct {
	// options returns fresh client options; each client gets its own copy.
	options func() *redis.Options
	addr    string
	// stop releases what setup started; nil when nothing was started.
	stop func() error
}

var (
	mainActive atomic.Bool

	setupOnce sync.Once
	shared    *backend
	setupErr  error
)

// New returns a go-redis client for a test and a key prefix unique to that
// test. Tests share one server, so every key the test writes must start with
// the prefix; when the test ends, Cleanup deletes the prefix's keys (SCAN and
// UNLINK) and closes the client.
func New(t testing.TB) (*redis.Client, string) {
	t.Helper()
	b := sharedBackend(t)
	rdb := redis.NewClient(b.options())
	prefix := "test:" + sanitize(t.Name()) + ":" + randomHex(t, 6) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := deletePrefix(ctx, rdb, prefix); err != nil {
			t.Errorf("redistest: delete keys under %q: %v", prefix, err)
		}
		if err := rdb.Close(); err != nil {
			t.Errorf("redistest: close client: %v", err)
		}
	})
	return rdb, prefix
}

// Addr returns the host:port of the Redis that New connects to, for tests
// that need a raw connection.
func Addr(t testing.TB) string {
	t.Helper()
	return sharedBackend(t).addr
}

// Main runs the package's tests and then stops the redis-server that New may
// have started for them. Use it as the package's TestMain:
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
func Main(m *testing.M) {
	mainActive.Store(true)
	code := m.Run()
	if shared != nil && shared.stop != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "redistest: stop shared server: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

func sharedBackend(t testing.TB) *backend {
	t.Helper()
	setupOnce.Do(func() { shared, setupErr = setup() })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return shared
}

// setup picks the backend: REDIS_URL, then redis-server on PATH, then miniredis.
func setup() (*backend, error) {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return urlBackend(u)
	}
	if path, err := exec.LookPath("redis-server"); err == nil {
		if !mainActive.Load() {
			return nil, errors.New("redistest: REDIS_URL is unset, so a redis-server is started for these tests, " +
				"and it is only stopped if the package declares func TestMain(m *testing.M) { redistest.Main(m) }")
		}
		return processBackend(path)
	}
	fmt.Fprintln(os.Stderr, embeddedNotice)
	return embeddedBackend()
}

func urlBackend(u string) (*backend, error) {
	opts, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("redistest: parse REDIS_URL: %w", err)
	}
	return &backend{
		addr: opts.Addr,
		options: func() *redis.Options {
			o, _ := redis.ParseURL(u) // parsed once above without error
			return o
		},
	}, nil
}

func processBackend(path string) (*backend, error) {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: start redis-server: %w", err)
	}
	p, err := startOnFreePort(path, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("redistest: start redis-server: %w", err)
	}
	addr := p.addr()
	return &backend{
		addr:    addr,
		options: func() *redis.Options { return &redis.Options{Addr: addr} },
		stop: func() error {
			err := p.stop()
			return errors.Join(err, os.RemoveAll(dir))
		},
	}, nil
}

func embeddedBackend() (*backend, error) {
	m := miniredis.NewMiniRedis()
	// Let TTLs run on the wall clock, as they do in a real server.
	m.ClockTTL(true)
	if err := m.Start(); err != nil {
		return nil, fmt.Errorf("redistest: start embedded server: %w", err)
	}
	addr := m.Addr()
	return &backend{
		addr:    addr,
		options: func() *redis.Options { return &redis.Options{Addr: addr} },
		stop:    func() error { m.Close(); return nil },
	}, nil
}

// deletePrefix removes every key that starts with prefix.
func deletePrefix(ctx context.Context, rdb *redis.Client, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// sanitize keeps a test name readable in a key while making it safe as a SCAN
// pattern (no glob characters) and short.
func sanitize(name string) string {
	const maxLen = 40
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= maxLen {
			break
		}
	}
	return b.String()
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		t.Fatalf("redistest: random prefix: %v", err)
	}
	return hex.EncodeToString(buf)
}
