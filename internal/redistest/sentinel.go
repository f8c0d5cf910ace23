package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the sentinel of a SentinelGroup monitors its primary under.
const SentinelMaster = "mymaster"

// Sentinel timings of a SentinelGroup: the primary is judged down after
// sentinelDownAfter without an answer (long enough that a primary slowed
// down by a busy machine is not taken for dead), so a failover completes
// within a few seconds of the primary dying.
const (
	sentinelDownAfter       = time.Second
	sentinelFailoverTimeout = 2 * time.Second
)

// SentinelGroup is a private Redis Sentinel deployment for one test: a
// primary, one replica of it and one sentinel watching them, each a
// redis-server from PATH on a free loopback port, all stopped when the test
// ends. The sentinel judges a primary down quickly, so a test can kill the
// primary and see the replica promoted within a few seconds.
type SentinelGroup struct {
	t                          testing.TB
	primary, replica, sentinel *process
}

// StartSentinelGroup starts the primary, waits for the replica to be in
// sync with it, then starts the sentinel and waits until the sentinel knows
// the replica (so it has someone to promote). It skips the test when
// redis-server is not on PATH.
func StartSentinelGroup(t testing.TB) *SentinelGroup {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redistest: redis-server is not on PATH; the Sentinel tests need real servers they can kill")
	}
	g := &SentinelGroup{t: t}
	t.Cleanup(g.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	g.primary, err = startOnFreePort(path, t.TempDir())
	if err != nil {
		t.Fatalf("redistest: start the primary: %v", err)
	}
	g.replica, err = startOnFreePort(path, t.TempDir(),
		"--replicaof", "127.0.0.1", strconv.Itoa(g.primary.port),
		// Sync at once rather than after the default five seconds.
		"--repl-diskless-sync-delay", "0")
	if err != nil {
		t.Fatalf("redistest: start the replica: %v", err)
	}
	if err := waitFor(ctx, "the replica to sync with the primary", func(ctx context.Context) (bool, error) {
		info, err := command(ctx, g.replica.addr(), "INFO", "replication")
		return strings.Contains(info, "master_link_status:up"), err
	}); err != nil {
		t.Fatalf("redistest: %v", err)
	}

	dir := t.TempDir()
	g.sentinel, err = onFreePort(func(port int) (*process, error) {
		conf := filepath.Join(dir, "sentinel.conf") // the sentinel rewrites it as it learns
		text := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
loglevel warning
sentinel monitor %s 127.0.0.1 %d 1
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s %d
`, port, dir, SentinelMaster, g.primary.port, SentinelMaster, sentinelDownAfter.Milliseconds(), SentinelMaster, sentinelFailoverTimeout.Milliseconds())
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, err
		}
		return startArgs(path, port, []string{conf, "--sentinel"})
	})
	if err != nil {
		t.Fatalf("redistest: start the sentinel: %v", err)
	}
	if err := waitFor(ctx, "the sentinel to discover the replica", func(ctx context.Context) (bool, error) {
		out, err := command(ctx, g.sentinel.addr(), "SENTINEL", "REPLICAS", SentinelMaster)
		return strings.Contains(out, g.replica.addr()) || strings.Contains(out, strconv.Itoa(g.replica.port)), err
	}); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return g
}

// URL is REDIS_URL in go-redis's failover form: the sentinel's address and
// the name of the primary it watches.
func (g *SentinelGroup) URL() string {
	return "redis://" + g.sentinel.addr() + "/0?master_name=" + SentinelMaster
}

// PrimaryAddr and ReplicaAddr are the addresses the group started with;
// after a failover the replica is the primary.
func (g *SentinelGroup) PrimaryAddr() string { return g.primary.addr() }

// ReplicaAddr: see PrimaryAddr.
func (g *SentinelGroup) ReplicaAddr() string { return g.replica.addr() }

// KillPrimary ends the primary with SIGKILL, as a crash would: no shutdown,
// nothing flushed.
func (g *SentinelGroup) KillPrimary() { g.primary.kill() }

// PauseReplica stops the replica's process (SIGSTOP) until ResumeReplica:
// the primary still counts it as connected, but it acknowledges nothing.
func (g *SentinelGroup) PauseReplica() {
	g.t.Helper()
	if err := g.replica.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		g.t.Fatalf("redistest: pause the replica: %v", err)
	}
}

// ResumeReplica continues a paused replica.
func (g *SentinelGroup) ResumeReplica() {
	g.t.Helper()
	if err := g.replica.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		g.t.Fatalf("redistest: resume the replica: %v", err)
	}
}

// WaitPromoted waits until the sentinel names the replica as the primary.
func (g *SentinelGroup) WaitPromoted(ctx context.Context) error {
	return waitFor(ctx, "the sentinel to promote the replica", func(ctx context.Context) (bool, error) {
		sc := redis.NewSentinelClient(&redis.Options{Addr: g.sentinel.addr(), MaxRetries: -1})
		defer sc.Close()
		addr, err := sc.GetMasterAddrByName(ctx, SentinelMaster).Result()
		if err != nil || len(addr) != 2 {
			return false, err
		}
		return net.JoinHostPort(addr[0], addr[1]) == g.replica.addr(), nil
	})
}

// stop ends the sentinel first, so it does not react to the others going.
func (g *SentinelGroup) stop() {
	for _, p := range []*process{g.sentinel, g.replica, g.primary} {
		if p == nil {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGCONT) // a paused replica cannot exit
		if err := p.stop(); err != nil {
			g.t.Errorf("redistest: %v", err)
		}
	}
}

// command sends one command to addr over a fresh connection and returns the
// reply as text.
func command(ctx context.Context, addr string, args ...any) (string, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	v, err := rdb.Do(ctx, args...).Result()
	return fmt.Sprint(v), err
}

// waitFor polls cond every 20 ms until it holds or ctx ends; the last error
// cond returned explains a timeout.
func waitFor(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s (last error: %v)", what, last)
		case <-tick.C:
		}
	}
}
