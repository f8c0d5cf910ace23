package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// redisReach follows whether the bot can reach Redis, from its client's own
// dials, and says so in the log once when Redis stops answering and once
// when it answers again. While Redis is out of reach, the lines that only
// repeat it (go-redis's pool giving up on a dial, a background loop's failed
// round, a command's "try again") are written at debug level: each loop
// retries every second or so, and an outage would otherwise fill the log.
type redisReach struct {
	// log writes the two lines, past the filter that lowers the repeats.
	log *slog.Logger

	mu   sync.Mutex
	down bool
	// where names the place the failing dials went (an address, or a host
	// that does not resolve), so that only errors of those dials are
	// taken for repeats.
	where string
}

func (r *redisReach) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		switch {
		case err == nil:
			r.reached(addr)
		case ctx.Err() == nil: // a dial cut short by its caller says nothing about Redis
			r.failed(addr, err)
		}
		return conn, err
	}
}

func (r *redisReach) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (r *redisReach) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (r *redisReach) failed(addr string, err error) {
	r.mu.Lock()
	was := r.down
	r.down, r.where = true, dialPlace(err)
	r.mu.Unlock()
	if !was {
		r.log.Error("Redis does not answer; waiting for it (commands ask users to try again meanwhile, and this is said again when it answers)", "addr", dialAddr(addr), "err", err)
	}
}

func (r *redisReach) reached(addr string) {
	r.mu.Lock()
	was := r.down
	r.down, r.where = false, ""
	r.mu.Unlock()
	if was {
		r.log.Info("Redis answers again", "addr", dialAddr(addr))
	}
}

// failoverAddr is the address go-redis's failover client gives its dials:
// a placeholder, as it asks the sentinels for the primary's address only
// while it dials.
const failoverAddr = "FailoverClient"

// dialAddr names the address of a dial for the log.
func dialAddr(addr string) string {
	if addr == failoverAddr {
		return "the primary the sentinels name"
	}
	return addr
}

// isDown reports whether the last dial failed.
func (r *redisReach) isDown() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down
}

// repeats reports whether err is a failed dial to where Redis is out of
// reach, which the log has said already.
func (r *redisReach) repeats(err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down && r.where != "" && dialPlace(err) == r.where
}

// dialPlace names where a failed dial went: the address it was refused or
// timed out at, or the host name that did not resolve; "" when err is not a
// failed dial.
func dialPlace(err error) string {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return ""
	}
	if op.Addr != nil {
		return op.Addr.String()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "host " + dns.Name
	}
	return ""
}

// quietOutage is the bot's log handler: it writes at debug level the
// records whose error only repeats a Redis outage already said.
type quietOutage struct {
	slog.Handler
	reach *redisReach
}

func (h quietOutage) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level > slog.LevelDebug && h.repeatsOutage(rec) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		rec = rec.Clone()
		rec.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, rec)
}

func (h quietOutage) repeatsOutage(rec slog.Record) bool {
	if !h.reach.isDown() {
		return false
	}
	found := false
	rec.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && h.reach.repeats(err) {
			found = true
		}
		return !found
	})
	return found
}

func (h quietOutage) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietOutage{h.Handler.WithAttrs(attrs), h.reach}
}

func (h quietOutage) WithGroup(name string) slog.Handler {
	return quietOutage{h.Handler.WithGroup(name), h.reach}
}

// redisLogger passes go-redis's own messages to the bot's log. While Redis
// is known to be out of reach, its failures are repeats and go at debug
// level: the pool's "failed to dial", and, with Sentinel, each round of
// asking the sentinels ("sentinel: GetMasterAddrByName … failed: …"),
// which the failover client retries every second or two.
type redisLogger struct {
	log   *slog.Logger
	reach *redisReach
}

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	level := slog.LevelInfo
	if l.reach != nil && l.reach.isDown() && repeatsFailure(msg) {
		level = slog.LevelDebug
	}
	l.log.Log(ctx, level, "redis client", "detail", msg)
}

// repeatsFailure reports whether a go-redis message is one of its failures
// to reach Redis or a sentinel.
func repeatsFailure(msg string) bool {
	return strings.Contains(msg, "failed to dial") ||
		strings.HasPrefix(msg, "sentinel: ") && strings.Contains(msg, " failed: ")
}
