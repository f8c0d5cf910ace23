package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Slack paces messages per channel (about one a second). Every replica's
// sender asks for a slot before it posts, so that replicas sharing a channel
// keep that pace together rather than each on its own.
//
//	key              type    TTL                          written by / read by
//	P pace:<channel> string  until the channel's next     slackpost's sender: the next free slot, in
//	                         free slot, plus a minute     milliseconds on the Redis clock

// nextSlotScript hands out the channel's next free slot and moves the slot
// one interval on. Times are on the Redis clock, so replicas with skewed
// clocks agree. KEYS[1] pace key; ARGV[1] interval in ms. Returns the wait
// in ms until the slot (0 when it is free now).
var nextSlotScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then
  slot = now
end
local nextFree = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', nextFree), 'PX', nextFree - now + 60000)
return slot - now
`)

// holdSlotsScript moves the channel's next free slot to at least ARGV[1] ms
// from now. KEYS[1] pace key. Returns 0.
var holdSlotsScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ = now + tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < until_ then
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX', until_ - now + 60000)
end
return 0
`)

// NextSlot reserves the next moment a message may be sent to channel and
// returns how long to wait for it. Slots of one channel are at least interval
// apart, whichever replica takes them; a slot taken and not used is simply
// lost, which only slows the channel by one interval.
func (s *Store) NextSlot(ctx context.Context, channel string, interval time.Duration) (time.Duration, error) {
	if channel == "" || interval <= 0 {
		return 0, fmt.Errorf("next slot: need a channel and a positive interval, got %q, %v", channel, interval)
	}
	wait, err := nextSlotScript.Run(ctx, s.rdb, []string{s.key("pace", channel)}, millis(interval)).Int64()
	if err != nil {
		return 0, fmt.Errorf("next slot for %s: %w", channel, err)
	}
	return time.Duration(max(wait, 0)) * time.Millisecond, nil
}

// HoldSlots keeps every replica from posting to channel for d, for example
// after Slack answered 429 with a Retry-After. Slots already handed out are
// not taken back; their holders are expected to honour the same answer.
func (s *Store) HoldSlots(ctx context.Context, channel string, d time.Duration) error {
	if channel == "" {
		return errors.New("hold slots: empty channel")
	}
	if d <= 0 {
		return nil
	}
	if err := holdSlotsScript.Run(ctx, s.rdb, []string{s.key("pace", channel)}, millis(d)).Err(); err != nil {
		return fmt.Errorf("hold slots for %s: %w", channel, err)
	}
	return nil
}
