package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Result is the outcome for one target of an operation.
type Result struct {
	Target string    `json:"target"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// Progress counts an operation's results after a RecordResult.
type Progress struct {
	Done     int  // results that succeeded
	Failed   int  // results that failed
	Expected int  // the operation's Expected
	First    bool // this call stored a new result (false for a duplicate)
}

// Finished returns how many results arrived, successful or not.
func (p Progress) Finished() int { return p.Done + p.Failed }

// Complete reports whether every expected result has arrived.
func (p Progress) Complete() bool { return p.Expected > 0 && p.Finished() >= p.Expected }

// recordScript stores a result unless its target already has one, and keeps
// the counters with it. The result keys take the operation's remaining TTL.
// With a new result it also queues the messages that report it, so that a
// result is never stored without its posts (nor posted twice), and, when that
// result is the last one expected, the messages that close the operation.
// A completed operation also leaves the expiry index: nothing is pending.
// KEYS[1] op, KEYS[2] res, KEYS[3] prog, KEYS[4] outbox, KEYS[5] expiries; ARGV[1] target,
// ARGV[2] result JSON, ARGV[3] "1" for success, ARGV[4] the number of
// messages for every new result, each as the number of its field strings and
// the fields, then the number of messages for the last result and those,
// then the operation id.
// Returns nil when the operation does not exist, else
// {done, failed, expected, first}.
var recordScript = redis.NewScript(`
local raw = redis.call('GET', KEYS[1])
if not raw then
  return false
end
local expected = tonumber(cjson.decode(raw)['expected']) or 0
local first = redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
if first == 1 then
  if ARGV[3] == '1' then
    redis.call('HINCRBY', KEYS[3], 'done', 1)
  else
    redis.call('HINCRBY', KEYS[3], 'failed', 1)
  end
  local i = 5
  for _ = 1, tonumber(ARGV[4]) do
    local n = tonumber(ARGV[i])
    redis.call('XADD', KEYS[4], '*', unpack(ARGV, i + 1, i + n))
    i = i + n + 1
  end
  local c = redis.call('HMGET', KEYS[3], 'done', 'failed')
  local complete = expected > 0 and (tonumber(c[1]) or 0) + (tonumber(c[2]) or 0) == expected
  local last = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, last do
    local n = tonumber(ARGV[i])
    if complete then
      redis.call('XADD', KEYS[4], '*', unpack(ARGV, i + 1, i + n))
    end
    i = i + n + 1
  end
  if complete then
    redis.call('ZREM', KEYS[5], ARGV[i])
  end
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[2], ttl)
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
end
local p = redis.call('HMGET', KEYS[3], 'done', 'failed')
return {tonumber(p[1]) or 0, tonumber(p[2]) or 0, expected, first}
`)

// Posts are the messages RecordResult queues along with a new result.
type Posts struct {
	// Each is queued with every new result (the reply in the thread, the
	// parent's progress, a copy for a notification channel).
	Each []Outgoing
	// Last is queued too when the new result is the last one expected (the
	// summary that closes the thread).
	Last []Outgoing
}

// RecordResult stores the result for one target of an operation; the first
// result for a target wins, and a duplicate (a callback delivered twice)
// changes nothing and returns First=false. With a new result, the posts are
// added to the outgoing queue. Storing, counting and queueing are one atomic
// step. It returns ErrNotFound when the operation does not exist.
//
// The script touches the operation's keys and the queue together, so the
// store needs a single Redis server (or primary), not a Redis Cluster.
func (s *Store) RecordResult(ctx context.Context, opID string, r Result, posts Posts) (Progress, error) {
	if opID == "" || r.Target == "" {
		return Progress{}, errors.New("record result: empty operation id or target")
	}
	if r.At.IsZero() {
		r.At = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return Progress{}, fmt.Errorf("record result: %w", err)
	}
	okArg := "0"
	if r.OK {
		okArg = "1"
	}
	keys := []string{s.opKey(opID), s.resKey(opID), s.progKey(opID), s.outboxKey(), s.expiriesKey()}
	args := []any{r.Target, b, okArg}
	for _, msgs := range [][]Outgoing{posts.Each, posts.Last} {
		args = append(args, len(msgs))
		for _, m := range msgs {
			if m.Kind == "" {
				return Progress{}, errors.New("record result: queued message with empty kind")
			}
			f := outgoingFields(m)
			args = append(args, len(f))
			args = append(args, f...)
		}
	}
	args = append(args, opID)
	vals, err := recordScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if errors.Is(err, redis.Nil) {
		return Progress{}, fmt.Errorf("record result for operation %s: %w", opID, ErrNotFound)
	}
	if err != nil {
		return Progress{}, fmt.Errorf("record result: %w", err)
	}
	if len(vals) != 4 {
		return Progress{}, fmt.Errorf("record result: script returned %d values, want 4", len(vals))
	}
	return Progress{
		Done:     int(vals[0]),
		Failed:   int(vals[1]),
		Expected: int(vals[2]),
		First:    vals[3] == 1,
	}, nil
}

// Results returns an operation's results in the order they happened (by At,
// then target); none for an unknown operation.
func (s *Store) Results(ctx context.Context, opID string) ([]Result, error) {
	m, err := s.rdb.HGetAll(ctx, s.resKey(opID)).Result()
	if err != nil {
		return nil, fmt.Errorf("get results: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	out, err := resultsFromHash(opID, m)
	if err != nil {
		return nil, fmt.Errorf("get results: %w", err)
	}
	return out, nil
}
