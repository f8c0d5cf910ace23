package state

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// allowScript is a sliding-window log: a sorted set holds one member per
// request allowed in the last window, scored by its time in milliseconds on
// the Redis clock (so replicas with skewed clocks agree).
// KEYS[1] zset; ARGV[1] limit, ARGV[2] window in ms, ARGV[3] unique member.
// Returns {1, 0} when allowed, {0, ms until a slot frees} when not.
var allowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then
  wait = 1
end
return {0, wait}
`)

// Allow reports whether one more request under key (e.g. a user id and a
// command) fits in limit requests per window. It is a sliding window: a
// request counts for exactly window after it was allowed, so no burst of
// 2×limit can straddle a window boundary. Refused requests are not counted.
// When refused, retryAfter says when the oldest counted request leaves the
// window.
func (s *Store) Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error) {
	if key == "" || limit < 1 || window <= 0 {
		return false, 0, fmt.Errorf("rate limit: need a key, a limit ≥ 1 and a positive window, got %q, %d, %v", key, limit, window)
	}
	member, err := NewID()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	vals, err := allowScript.Run(ctx, s.rdb, []string{s.key("rl", key)}, limit, millis(window), member).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	if len(vals) != 2 {
		return false, 0, fmt.Errorf("rate limit: script returned %d values, want 2", len(vals))
	}
	if vals[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(vals[1]) * time.Millisecond, nil
}
