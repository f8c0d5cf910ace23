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
// A request of weight n takes n members.
// KEYS[1] zset; ARGV[1] limit, ARGV[2] window in ms, ARGV[3] unique member,
// ARGV[4] n (at most the limit).
// Returns {1, 0} when allowed, {0, ms until n slots free} when not.
var allowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local n = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if used + n <= limit then
  for i = 1, n do
    redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. i)
  end
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local freed = redis.call('ZRANGE', KEYS[1], used + n - limit - 1, used + n - limit - 1, 'WITHSCORES')
local wait = tonumber(freed[2]) + window - now
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
	return s.AllowN(ctx, key, 1, limit, window)
}

// AllowN is Allow for a request that weighs n (a read of n SIM cards costs
// n): it fits when n more fit in limit per window, and then counts n times.
// retryAfter says when n slots will have freed. n must lie between 1 and
// limit: a larger request would never fit.
func (s *Store) AllowN(ctx context.Context, key string, n, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error) {
	if key == "" || limit < 1 || window <= 0 || n < 1 || n > limit {
		return false, 0, fmt.Errorf("rate limit: need a key, 1 ≤ n ≤ limit and a positive window, got %q, %d, %d, %v", key, n, limit, window)
	}
	member, err := NewID()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	vals, err := allowScript.Run(ctx, s.rdb, []string{s.key("rl", key)}, limit, millis(window), member, n).Int64Slice()
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
