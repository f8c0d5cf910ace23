package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard/internal/redistest"
)

func TestParseRedisURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		url       string
		sentinels []string // a failover client with these sentinels
		master    string
		wantErr   string
	}{
		{name: "one server", url: "redis://127.0.0.1:6379/2"},
		{name: "tls", url: "rediss://:pw@redis.example.com:6380/0"},
		{name: "sentinels", url: "redis://s1:26379/0?master_name=mymaster&addr=s2:26379&addr=s3:26379",
			sentinels: []string{"s1:26379", "s2:26379", "s3:26379"}, master: "mymaster"},
		{name: "sentinel with passwords", url: "redis://:sentinel-secret@s1:26379?master_name=m&password=primary-secret",
			sentinels: []string{"s1:26379"}, master: "m"},
		{name: "empty master name", url: "redis://s1:26379?master_name=", wantErr: "master_name is empty"},
		{name: "unknown option", url: "redis://:sentinel-secret@s1:26379?master_name=m&colour=blue", wantErr: "colour"},
		{name: "misspelt option", url: "redis://:pw-secret@127.0.0.1:6379/0?dial_timout=5s", wantErr: "unknown option dial_timout (did you mean dial_timeout?)"},
		{name: "misspelt sentinel option", url: "redis://:sentinel-secret@s1:26379?master_name=m&pool_sise=5", wantErr: "unknown option pool_sise (did you mean pool_size?)"},
		{name: "unreadable option value", url: "redis://:pw-secret@127.0.0.1:6379/0?dial_timeout=secret", wantErr: "option dial_timeout must be a duration"},
		{name: "sentinel on a unix socket", url: "unix:///run/redis.sock?master_name=m", wantErr: "redis:// or rediss://"},
		{name: "no scheme", url: "s1:26379", wantErr: "must look like"},
		// An option whose value swallowed a password: the error names the
		// option, never its value.
		{name: "addr holding a password", url: "redis://:sentinel-secret@s1:26379?master_name=m&addr=:sentinel-secret@s2:26379", wantErr: "option addr must be"},
		{name: "dial_timeout holding a password", url: "redis://s1:26379?master_name=m&dial_timeout=5s,password:primary-secret", wantErr: "option dial_timeout must be"},
		{name: "pool_size holding a password", url: "redis://s1:26379?master_name=m&pool_size=primary-secret", wantErr: "option pool_size must be"},
		{name: "skip_verify holding a password", url: "rediss://s1:26379?master_name=m&skip_verify=primary-secret", wantErr: "option skip_verify must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failover, single, err := parseRedisURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), "REDIS_URL: ") || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming REDIS_URL and saying %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q repeats a password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v, want none", err)
			}
			if tt.sentinels == nil {
				if failover != nil || single == nil {
					t.Fatalf("got a failover client for %s, want a single server", tt.url)
				}
				return
			}
			if failover == nil {
				t.Fatalf("got a single-server client for %s, want a failover client", tt.url)
			}
			if strings.Join(failover.SentinelAddrs, ",") != strings.Join(tt.sentinels, ",") || failover.MasterName != tt.master {
				t.Errorf("sentinels %v master %q, want %v %q", failover.SentinelAddrs, failover.MasterName, tt.sentinels, tt.master)
			}
		})
	}
}

// TestReplicaBarrier checks that on a Sentinel-managed primary a write
// returns only once a replica holds it, and that with no replica answering
// the bot carries on and says so.
func TestReplicaBarrier(t *testing.T) {
	t.Parallel()
	group := redistest.StartSentinelGroup(t)
	logs := &syncBuffer{}
	rdb, err := dialRedis(group.URL(), "test:barrier:", slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	replica := redis.NewClient(&redis.Options{Addr: group.ReplicaAddr()})
	defer replica.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Plain commands, a pipeline and a transaction: each is on the replica
	// the moment it returns.
	if err := rdb.Set(ctx, "test:barrier:a", "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "test:barrier:b", "1", time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "test:barrier:c", "1", time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := replica.Exists(ctx, "test:barrier:a", "test:barrier:b", "test:barrier:c").Result(); err != nil || n != 3 {
		t.Errorf("keys on the replica right after the writes returned: %d (%v), want 3", n, err)
	}
	if strings.Contains(logs.String(), "no Redis replica") {
		t.Errorf("shortfall reported with the replica up:\n%s", logs)
	}

	// The replica stops answering: the write still succeeds, with a warning.
	group.PauseReplica()
	defer group.ResumeReplica()
	if err := rdb.Set(ctx, "test:barrier:d", "1", time.Minute).Err(); err != nil {
		t.Fatalf("write with the replica paused: %v, want it to carry on with the primary alone", err)
	}
	if !strings.Contains(logs.String(), "no Redis replica acknowledged a write in time") {
		t.Errorf("no warning after a write no replica acknowledged; logs:\n%s", logs)
	}
}

func TestRedisLoggerWritesStructuredLines(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	redisLogger{slog.New(slog.NewJSONHandler(logs, nil)), nil}.Printf(context.Background(), "sentinel: new master=%q addr=%q", "mymaster", "10.0.0.2:6379")
	var line struct{ Msg, Detail string }
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
		t.Fatalf("log line %q is not JSON: %v", logs, err)
	}
	if line.Msg != "redis client" || line.Detail != `sentinel: new master="mymaster" addr="10.0.0.2:6379"` {
		t.Errorf("log line = %+v, want msg \"redis client\" with the message as detail", line)
	}
}

// TestReplicaBarrierDecidesPerCommand runs a pipeline whose first command
// answers nil (a missing key) and whose second writes: the pipeline's error
// is that nil, yet the write must still wait for a replica. With the replica
// paused, the wait runs out and says so.
func TestReplicaBarrierDecidesPerCommand(t *testing.T) {
	t.Parallel()
	group := redistest.StartSentinelGroup(t)
	logs := &syncBuffer{}
	rdb, err := dialRedis(group.URL(), "test:barrier-nil:", slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	group.PauseReplica()
	defer group.ResumeReplica()
	var set *redis.StatusCmd
	_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, "test:barrier-nil:missing")
		set = p.Set(ctx, "test:barrier-nil:x", "1", time.Minute)
		return nil
	})
	if !errors.Is(err, redis.Nil) || set.Err() != nil {
		t.Fatalf("pipeline: %v, SET: %v; want the GET's nil and the SET done", err, set.Err())
	}
	if !strings.Contains(logs.String(), "no Redis replica acknowledged a write in time") {
		t.Errorf("the write after a nil reply did not wait for a replica; logs:\n%s", logs)
	}
}

// While Redis is out of reach, go-redis's repeats of that go at debug
// level, with Sentinel too: the failover client asks the sentinels again
// every second or two and says so each time it fails. A message that is no
// failure (a new primary) stays at info.
func TestRedisLoggerLowersRepeatedSentinelFailures(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reach := &redisReach{log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	reach.failed("FailoverClient", errors.New("redis: all sentinels specified in configuration are unreachable"))
	l := redisLogger{log, reach}
	l.Printf(context.Background(), "sentinel: GetMasterAddrByName addr=%s, master=%q failed: %s", "127.0.0.1:1", "mymaster", "dial tcp 127.0.0.1:1: connect: connection refused")
	l.Printf(context.Background(), "sentinel: GetMasterAddrByName name=%q failed: %s", "mymaster", "context deadline exceeded")
	l.Printf(context.Background(), "sentinel: new master=%q addr=%q", "mymaster", "10.0.0.2:6379")
	var levels []string
	for _, raw := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var line struct{ Level string }
		if err := json.Unmarshal([]byte(raw), &line); err != nil {
			t.Fatalf("log line %q is not JSON: %v", raw, err)
		}
		levels = append(levels, line.Level)
	}
	if want := []string{"DEBUG", "DEBUG", "INFO"}; !slices.Equal(levels, want) {
		t.Errorf("levels = %v, want %v; logs:\n%s", levels, want, logs)
	}
}

// With Sentinel, go-redis dials the primary under a placeholder address;
// the log line that says Redis does not answer names what was dialled
// instead.
func TestUnreachableSentinelPrimaryIsNamedInWords(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	reach := &redisReach{log: slog.New(slog.NewJSONHandler(logs, nil))}
	reach.failed("FailoverClient", errors.New("redis: all sentinels specified in configuration are unreachable"))
	var line struct{ Msg, Addr string }
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
		t.Fatalf("log line %q is not JSON: %v", logs, err)
	}
	if line.Addr != "the primary the sentinels name" {
		t.Errorf("addr = %q, want the primary named in words, not go-redis's placeholder", line.Addr)
	}
}
