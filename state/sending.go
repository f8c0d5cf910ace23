package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// An M2M change is sent to EnCo as a durable job: its cards go in requests
// of a fixed size (batches), one after the other, and any replica can carry
// the job on when the one sending it dies. The job is claimed as FMU
// schedules are: a sorted set holds each job with the end of its holder's
// lease as its score, a replica takes a job whose lease has run out, and
// every step checks, in the same script that writes it, that the caller
// still holds the job.
//
//	key               type    TTL                      written by / read by
//	P send:{id}       hash    as the operation          fields batches, next (the first batch not yet
//	                                                    sent), inflight (the batch being sent), owner,
//	                                                    lease; t:<i> batch i's tracking number ("" when
//	                                                    EnCo refused it); n:<tracking> the batch of a
//	                                                    tracking number, read by notify for each callback
//	P {send}:jobs     zset    none; a job leaves when   jobs not yet fully sent, scored by the end of
//	                          its last batch is sent    their holder's lease (Unix ms, Redis clock)
//
// Exactly once: a batch is marked in flight before its request goes, and
// its tracking number is written with the next batch's index in one step.
// A holder that finds a batch in flight that it did not start (its former
// holder died during the request) cannot know whether EnCo got it, so it
// never sends it again: it reports it in doubt, and goes on with the next.

func (s *Store) sendKey(opID string) string { return s.prefix + "send:{" + opID + "}" }
func (s *Store) sendJobsKey() string        { return s.prefix + "{send}:jobs" }

// CreateSending stores the job of sending an operation's cards in batches
// requests, held by owner (who starts sending at once) for lease, and kept
// for ttl.
func (s *Store) CreateSending(ctx context.Context, opID string, batches int, owner string, lease, ttl time.Duration) error {
	if opID == "" || owner == "" || batches < 1 {
		return fmt.Errorf("create sending: need an operation, an owner and batches, got %q, %q, %d", opID, owner, batches)
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("create sending: %w", err)
	}
	if err := createSendingScript.Run(ctx, s.rdb, []string{s.sendJobsKey(), s.sendKey(opID)},
		opID, batches, owner, millis(lease), millis(ttl)).Err(); err != nil {
		return fmt.Errorf("create sending %s: %w", opID, err)
	}
	return nil
}

// createSendingScript: KEYS[1] jobs, KEYS[2] job hash; ARGV[1] operation,
// ARGV[2] batches, ARGV[3] owner, ARGV[4] lease ms, ARGV[5] ttl ms.
var createSendingScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = now + tonumber(ARGV[4])
redis.call('HSET', KEYS[2], 'batches', ARGV[2], 'next', 0, 'owner', ARGV[3], 'lease', lease)
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[1], lease, ARGV[1])
return 1
`)

// claimSendingScript hands one job whose lease has run out to ARGV[1] for
// ARGV[2] ms. KEYS[1] jobs; KEYS[2] the prefix of job hashes. A job whose
// hash has expired leaves the index. Returns the job's id, or false.
var claimSendingScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 8)
for _, id in ipairs(due) do
  local job = KEYS[2] .. id .. '}'
  if redis.call('EXISTS', job) == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    local lease = now + tonumber(ARGV[2])
    redis.call('HSET', job, 'owner', ARGV[1], 'lease', lease)
    redis.call('ZADD', KEYS[1], lease, id)
    return id
  end
end
return false
`)

// ClaimSending takes a job whose holder's lease has run out (its holder
// died, or stopped) for owner, for lease. It returns "" when there is none.
func (s *Store) ClaimSending(ctx context.Context, owner string, lease time.Duration) (string, error) {
	id, err := claimSendingScript.Run(ctx, s.rdb, []string{s.sendJobsKey(), s.prefix + "send:{"}, owner, millis(lease)).Text()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("claim sending: %w", err)
	}
	return id, nil
}

// Step is what a job's holder does next (see NextBatch).
type Step int

// The steps of a job.
const (
	StepLost  Step = iota // another replica holds the job now: stop
	StepSend              // send the batch: it is marked in flight
	StepDoubt             // the batch was in flight with a holder that died: report it, do not send it
	StepDone              // every batch is sent: the job is over
)

// nextBatchScript: KEYS[1] jobs, KEYS[2] job hash; ARGV[1] operation,
// ARGV[2] owner, ARGV[3] lease ms. Returns {step, batch}.
var nextBatchScript = redis.NewScript(`
local c = redis.call('HMGET', KEYS[2], 'owner', 'next', 'batches', 'inflight')
if c[1] ~= ARGV[2] then
  return {0, -1}
end
local next, batches = tonumber(c[2]), tonumber(c[3])
if next >= batches then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return {3, next}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], lease, ARGV[1])
redis.call('HSET', KEYS[2], 'lease', lease)
if c[4] and tonumber(c[4]) == next then
  redis.call('HSET', KEYS[2], 'next', next + 1, 't:' .. next, '')
  redis.call('HDEL', KEYS[2], 'inflight')
  return {2, next}
end
redis.call('HSET', KEYS[2], 'inflight', next)
return {1, next}
`)

// NextBatch moves owner's job on: it renews the lease and says which batch
// comes next and what to do with it. StepSend marks the batch in flight:
// send it, then call BatchSent. StepDoubt means a former holder died while
// that batch was in flight; it counts as sent without a tracking number.
func (s *Store) NextBatch(ctx context.Context, opID, owner string, lease time.Duration) (Step, int, error) {
	vals, err := nextBatchScript.Run(ctx, s.rdb, []string{s.sendJobsKey(), s.sendKey(opID)}, opID, owner, millis(lease)).Int64Slice()
	if err != nil {
		return StepLost, 0, fmt.Errorf("next batch of %s: %w", opID, err)
	}
	if len(vals) != 2 {
		return StepLost, 0, fmt.Errorf("next batch of %s: script returned %d values", opID, len(vals))
	}
	return Step(vals[0]), int(vals[1]), nil
}

// batchSentScript: KEYS[1] jobs, KEYS[2] job hash; ARGV[1] operation,
// ARGV[2] owner, ARGV[3] batch, ARGV[4] tracking number ("" for none),
// ARGV[5] lease ms. Returns 1, or 0 when the caller no longer holds the
// batch.
var batchSentScript = redis.NewScript(`
local c = redis.call('HMGET', KEYS[2], 'owner', 'inflight')
if c[1] ~= ARGV[2] or c[2] ~= ARGV[3] then
  return 0
end
local b = tonumber(ARGV[3])
redis.call('HSET', KEYS[2], 'next', b + 1, 't:' .. b, ARGV[4])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], 'n:' .. ARGV[4], b)
end
redis.call('HDEL', KEYS[2], 'inflight')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = now + tonumber(ARGV[5])
redis.call('ZADD', KEYS[1], lease, ARGV[1])
redis.call('HSET', KEYS[2], 'lease', lease)
return 1
`)

// BatchSent records the tracking number of batch (or "" when EnCo refused
// it) and moves the job to the next batch, in one step. It reports false
// when owner no longer holds the batch: nothing is written then.
func (s *Store) BatchSent(ctx context.Context, opID, owner string, batch int, tracking string, lease time.Duration) (bool, error) {
	ok, err := batchSentScript.Run(ctx, s.rdb, []string{s.sendJobsKey(), s.sendKey(opID)}, opID, owner, batch, tracking, millis(lease)).Int()
	if err != nil {
		return false, fmt.Errorf("batch %d of %s sent: %w", batch, opID, err)
	}
	return ok == 1, nil
}

// SendingOf tells which batch of an operation's job a tracking number
// belongs to ("" asks only whether every batch is sent).
func (s *Store) SendingOf(ctx context.Context, opID, tracking string) (switchboard.Sending, error) {
	vals, err := s.rdb.HMGet(ctx, s.sendKey(opID), "n:"+tracking, "next", "batches").Result()
	if err != nil {
		return switchboard.Sending{}, fmt.Errorf("sending of %s: %w", opID, err)
	}
	var out switchboard.Sending
	if v, ok := vals[0].(string); ok {
		if out.Batch, err = strconv.Atoi(v); err != nil {
			return switchboard.Sending{}, fmt.Errorf("sending of %s: batch %q: %w", opID, v, err)
		}
		out.Known = true
	}
	next, _ := vals[1].(string)
	batches, _ := vals[2].(string)
	n, errN := strconv.Atoi(next)
	b, errB := strconv.Atoi(batches)
	out.AllSent = errN == nil && errB == nil && n >= b
	return out, nil
}
