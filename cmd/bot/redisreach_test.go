package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// levelRecord is a JSON log line with its level and what it may say of an error.
type levelRecord struct {
	Level, Msg, Err, Detail, Addr string
}

func (h *harness) levelRecords() []levelRecord {
	h.t.Helper()
	var out []levelRecord
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var rec levelRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			h.t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// count returns how many records satisfy match.
func count(recs []levelRecord, match func(levelRecord) bool) int {
	n := 0
	for _, r := range recs {
		if match(r) {
			n++
		}
	}
	return n
}

// A Redis out of reach at start is said once, not by every loop at each of
// its retries, and said again when it answers; go-redis's own messages go
// through the bot's log. Not parallel: go-redis's logger is the process's.
func TestUnreachableRedisIsSaidOnceAndAgainWhenBack(t *testing.T) {
	srv := redistest.StartServer(t)
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, prefix := redistest.New(t)
	h := newFakes(t, ctx, prefix)
	ln := listenLoopback(t)
	h.cfg.HTTPAddr = ln.Addr().String()
	h.cfg.PublicURL = "http://" + h.cfg.HTTPAddr
	h.cfg.RedisURL = "redis://" + srv.Addr() + "/0"
	m := &Main{Config: h.cfg, Listener: ln, LogOutput: h.logs, KeyPrefix: prefix, RouteRedisLog: true}
	if err := m.Open(ctx); err != nil {
		m.Close()
		t.Fatalf("Open: %v", err)
	}
	h.main = m
	stop := runMain(ctx, m)
	defer stop(t)

	mentionsRedis := func(r levelRecord) bool {
		return strings.Contains(r.Err+r.Detail+r.Addr, srv.Addr())
	}
	// Each of the three loops that read Redis fails a round, and go-redis's
	// pool gives up on its dials again and again.
	h.waitFor("the loops to fail and go-redis to give up dials", func() bool {
		recs := h.levelRecords()
		return count(recs, func(r levelRecord) bool { return r.Msg == "delivery queue unavailable" }) >= 1 &&
			count(recs, func(r levelRecord) bool { return r.Msg == "claim scheduled FMU changes" }) >= 1 &&
			count(recs, func(r levelRecord) bool { return strings.HasPrefix(r.Msg, "expiry sweep failed") }) >= 1 &&
			count(recs, func(r levelRecord) bool { return r.Msg == "redis client" && mentionsRedis(r) }) >= 3
	})
	srv.Start()
	h.waitFor("the bot to say Redis answers again", func() bool {
		return count(h.levelRecords(), func(r levelRecord) bool { return r.Msg == "Redis answers again" }) == 1
	})

	recs := h.levelRecords()
	loud := func(r levelRecord) bool { return r.Level == "WARN" || r.Level == "ERROR" }
	if n := count(recs, func(r levelRecord) bool { return loud(r) && mentionsRedis(r) }); n != 1 {
		t.Errorf("%d warnings or errors about the Redis out of reach, want 1; logs:\n%s", n, h.logs)
	}
	if n := count(recs, func(r levelRecord) bool { return loud(r) && strings.HasPrefix(r.Msg, "Redis does not answer") }); n != 1 {
		t.Errorf("said %d times that Redis does not answer, want once; logs:\n%s", n, h.logs)
	}
}
