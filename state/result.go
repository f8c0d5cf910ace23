package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// recordScript stores a result unless its target already has one, and keeps
// the counters with it. The result keys take the operation's remaining TTL.
// With a new result it also queues the messages that report it and appends
// its audit entry, so that a result is never stored without its posts and
// its audit line (nor posted twice), and, when that result is the last one
// expected, it queues the messages that close the operation, marks the
// operation done and takes it out of the expiry index: completion is part of
// the same atomic step, so no caller has to retry an optimistic update on
// the hot path.
//
// Only a running operation takes results. A finished one (failed,
// cancelled, expired) refuses every result; a done one still answers a
// duplicate as such, but a result for a new target is refused because
// every target has answered. An operation takes at most Expected distinct
// results.
//
// The operation's status and expected count are kept in its counters hash,
// so that a result need not read the operation (which can hold thousands of
// targets): CreateOperation writes them there with the operation, and every
// change of status (UpdateOperation, ExpireOperation, the completion here)
// writes the hash's copy in the same atomic step as the operation. The
// script never reads the operation's JSON. The hash's status is the
// operation's: the completion here writes it to the hash alone, and the
// store's reads of an operation take the status from the hash (see
// Operation); the completion touches the operation's key all the same, so
// that an UpdateOperation watching it tries again. An operation stored
// before the hash kept these fields (the hash lacks them) is answered
// recordUnmigrated, and RecordResult copies them over and runs the script
// again.
//
// A progress message is queued only when none of the operation's waits in
// the queue: the counters hash is marked while one does, and the deliverer
// takes the mark off when it reads the counters to render (TakeProgress).
// A burst of a thousand results thus queues a handful of progress messages,
// not a thousand. The counters hash also keeps the stream id of the newest
// post queued in the operation's thread (a message of kind "post" with a
// thread and the operation's id), so that the deliverer can tell in one
// read whether a reply waits behind a progress message (see
// ThreadPostQueuedAfter).
//
// KEYS[1] op, KEYS[2] res, KEYS[3] prog, KEYS[4] outbox, KEYS[5] expiries,
// KEYS[6] audit. ARGV[1] target, ARGV[2] result JSON, ARGV[3] "1" for
// success, ARGV[4] operation id, ARGV[5] audit length cap (0: none),
// ARGV[6] audit oldest id kept ("": no age limit), ARGV[7] the most failed
// results that queue their messages for every new result (0: all); then
// four lists, each
// as its length and its items: the messages for every new result, the
// progress message (none or one), the messages for the last result, and
// the audit entry's field strings (an empty list: no audit entry). A
// message is the number of its field strings, then the fields. The
// messages are queued in that order: a result's reply goes before the
// parent's progress, since a channel takes one message a second.
// Returns nil when the operation does not exist, else
// {done, failed, expected, outcome} where outcome is one of the record*
// constants below.
var recordScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then
  return false
end
local c = redis.call('HMGET', KEYS[3], 'done', 'failed', 'expected', 'status')
local done, failed = tonumber(c[1]) or 0, tonumber(c[2]) or 0
local expected, status = tonumber(c[3]), c[4]
if not expected or not status then
  return {done, failed, 0, 4}
end
if status ~= 'running' and status ~= 'done' then
  return {done, failed, expected, 2}
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return {done, failed, expected, 0}
end
if status == 'done' or (expected > 0 and done + failed >= expected) then
  return {done, failed, expected, 3}
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] == '1' then
  done = done + 1
else
  failed = failed + 1
end
redis.call('HSET', KEYS[3], 'done', done, 'failed', failed, 'expected', expected)
local complete = expected > 0 and done + failed == expected
local i = 8
local reply
local capEach = tonumber(ARGV[7])
for list = 1, 3 do
  local count = tonumber(ARGV[i])
  i = i + 1
  local queue = true
  if list == 1 then
    queue = capEach == 0 or ARGV[3] == '1' or failed <= capEach
  elseif list == 2 then
    queue = count > 0 and redis.call('HSETNX', KEYS[3], 'queued', 1) == 1
  elseif list == 3 then
    queue = complete
  end
  for _ = 1, count do
    local n = tonumber(ARGV[i])
    if queue then
      local id = redis.call('XADD', KEYS[4], '*', unpack(ARGV, i + 1, i + n))
      if ARGV[i + 2] == 'post' then
        local thread, own = false, false
        for f = i + 3, i + n - 1, 2 do
          if ARGV[f] == 'thread_ts' then
            thread = true
          elseif ARGV[f] == 'op' then
            own = ARGV[f + 1] == ARGV[4]
          end
        end
        if thread and own then
          reply = id
        end
      end
    end
    i = i + n + 1
  end
end
if reply then
  redis.call('HSET', KEYS[3], 'reply', reply)
end
local n = tonumber(ARGV[i])
if n > 0 then
  if ARGV[5] ~= '0' then
    redis.call('XADD', KEYS[6], 'MAXLEN', ARGV[5], '*', unpack(ARGV, i + 1, i + n))
  else
    redis.call('XADD', KEYS[6], '*', unpack(ARGV, i + 1, i + n))
  end
  if ARGV[6] ~= '' then
    redis.call('XTRIM', KEYS[6], 'MINID', ARGV[6])
  end
end
if complete then
  redis.call('HSET', KEYS[3], 'status', 'done')
  redis.call('ZREM', KEYS[5], ARGV[4])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return {done, failed, expected, 1}
`)

// The outcomes recordScript reports.
const (
	recordDuplicate = 0
	recordStored    = 1
	recordClosed    = 2
	recordFull      = 3
	// recordUnmigrated: the operation's counters hash lacks its expected
	// count and status (it was stored before the hash kept them).
	recordUnmigrated = 4
)

// RecordResult stores the result for one target of an operation; the first
// result for a target wins, and a duplicate (a callback delivered twice)
// changes nothing and returns First=false. With a new result, the effects
// take place: posts are added to the outgoing queue and the audit entry to
// the audit trail, and the last expected result marks the operation done.
// Storing, counting, queueing, auditing and completing are one atomic step.
//
// It returns ErrNotFound when the operation does not exist, ErrClosed when
// it is not running (nor done), and ErrAllAnswered for a new target once
// Expected results are in; in those cases nothing is written.
//
// The script touches the operation's keys, the queue and the audit trail
// together, so the store needs a single Redis server (or primary), not a
// Redis Cluster.
func (s *Store) RecordResult(ctx context.Context, opID string, r switchboard.Result, fx switchboard.Effects) (switchboard.Progress, error) {
	if opID == "" || r.Target == "" {
		return switchboard.Progress{}, errors.New("record result: empty operation id or target")
	}
	if r.At.IsZero() {
		r.At = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return switchboard.Progress{}, fmt.Errorf("record result: %w", err)
	}
	okArg := "0"
	if r.OK {
		okArg = "1"
	}
	maxLen, minID := s.auditLimits()
	keys := []string{s.opKey(opID), s.resKey(opID), s.progKey(opID), s.outboxKey(), s.expiriesKey(), s.auditKey()}
	// Room for the usual call (a reply, a progress edit, a summary and an
	// audit entry) without growing: this runs for every callback.
	args := make([]any, 0, 64)
	args = append(args, r.Target, b, okArg, opID, maxLen, minID, max(fx.EachUpTo, 0))
	var progress []switchboard.Outgoing
	if fx.Progress != nil {
		progress = []switchboard.Outgoing{*fx.Progress}
	}
	for _, msgs := range [...][]switchboard.Outgoing{fx.Each, progress, fx.Last} {
		args = append(args, len(msgs))
		for _, m := range msgs {
			if m.Kind == "" {
				return switchboard.Progress{}, errors.New("record result: queued message with empty kind")
			}
			args = appendCounted(args, func(dst []any) []any { return appendOutgoingFields(dst, m) })
		}
	}
	if fx.Audit != nil {
		args = appendCounted(args, func(dst []any) []any { return appendAuditFields(dst, *fx.Audit) })
	} else {
		args = append(args, 0)
	}
	val, err := s.record.run(ctx, keys, args...)
	if outcome, ok := scriptOutcome(val); err == nil && ok && outcome == recordUnmigrated {
		if err := s.migrateCounters(ctx, opID); err != nil {
			return switchboard.Progress{}, fmt.Errorf("record result: %w", err)
		}
		val, err = s.record.run(ctx, keys, args...)
	}
	vals, _ := val.([]any)
	if errors.Is(err, redis.Nil) {
		return switchboard.Progress{}, fmt.Errorf("record result for operation %s: %w", opID, switchboard.ErrNotFound)
	}
	if err != nil {
		return switchboard.Progress{}, fmt.Errorf("record result: %w", err)
	}
	if len(vals) != 4 {
		return switchboard.Progress{}, fmt.Errorf("record result: script returned %d values, want 4", len(vals))
	}
	var n [4]int64
	for i, v := range vals {
		var ok bool
		if n[i], ok = v.(int64); !ok {
			return switchboard.Progress{}, fmt.Errorf("record result: script returned %T, want an integer", v)
		}
	}
	p := switchboard.Progress{Done: int(n[0]), Failed: int(n[1]), Expected: int(n[2])}
	switch n[3] {
	case recordStored:
		p.First = true
		if p.Complete() {
			// The script marked the operation done in its counters hash,
			// which the store reads; the JSON follows, for a replica of
			// the previous version, which reads the status there. The
			// result is recorded whether or not this write succeeds: a
			// later update writes the hash's status into the JSON too.
			_, _ = s.UpdateOperation(ctx, opID, func(*switchboard.Operation) error { return nil })
		}
	case recordDuplicate:
	case recordClosed:
		return p, fmt.Errorf("record result for operation %s: %w", opID, switchboard.ErrClosed)
	case recordFull:
		return p, fmt.Errorf("record result for operation %s: %w", opID, switchboard.ErrAllAnswered)
	default:
		return p, fmt.Errorf("record result: script returned outcome %d", n[3])
	}
	return p, nil
}

// appendCounted appends to args the number of items fill appends, then the
// items: the script's form for a message or an audit entry.
func appendCounted(args []any, fill func([]any) []any) []any {
	at := len(args)
	args = fill(append(args, 0))
	args[at] = len(args) - at - 1
	return args
}

// Results returns an operation's results in the order they happened (by At,
// then target); none for an unknown operation.
func (s *Store) Results(ctx context.Context, opID string) ([]switchboard.Result, error) {
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

// ResultTargets returns the targets an operation has results for; none for
// an unknown operation. Once the operation is done, the list no longer
// changes.
func (s *Store) ResultTargets(ctx context.Context, opID string) ([]string, error) {
	targets, err := s.rdb.HKeys(ctx, s.resKey(opID)).Result()
	if err != nil {
		return nil, fmt.Errorf("get result targets: %w", err)
	}
	return targets, nil
}

// scriptOutcome is the outcome in the record script's answer, if it has one.
func scriptOutcome(val any) (int64, bool) {
	vals, _ := val.([]any)
	if len(vals) != 4 {
		return 0, false
	}
	n, ok := vals[3].(int64)
	return n, ok
}
