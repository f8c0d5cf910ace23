package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// Expiry index
//
//	key        type  TTL   written by / read by
//	P expiries zset  none  commands schedule an operation's deadline (member: operation id, score: Unix ms);
//	                       notify's sweeper claims due members and removes them once handled
//
// An operation's own keys vanish when their TTL ends, and with them the
// record of which targets never answered. ScheduleExpiry therefore keeps an
// operation's keys for a while after its deadline, so that the sweeper can
// still read them, say in the thread who never answered, and mark the
// operation expired.

func (s *Store) expiriesKey() string { return s.prefix + "expiries" }

// PendingOperations counts the operations still waiting for results: those
// scheduled for expiry that neither completed nor expired yet.
func (s *Store) PendingOperations(ctx context.Context) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.expiriesKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("count pending operations: %w", err)
	}
	return n, nil
}

// ScheduleExpiry records that the operation stops waiting for results at at,
// and keeps its keys (the operation and its results) until at+keep so that
// the expiry can be reported. It returns ErrNotFound when the operation does
// not exist.
func (s *Store) ScheduleExpiry(ctx context.Context, opID string, at time.Time, keep time.Duration) error {
	if opID == "" {
		return errors.New("schedule expiry: empty operation id")
	}
	if err := checkTTL(keep); err != nil {
		return fmt.Errorf("schedule expiry: %w", err)
	}
	until := at.Add(keep)
	var extended *redis.BoolCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		extended = p.PExpireAt(ctx, s.opKey(opID), until)
		p.PExpireAt(ctx, s.resKey(opID), until)
		p.PExpireAt(ctx, s.progKey(opID), until)
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule expiry: %w", err)
	}
	if !extended.Val() {
		return fmt.Errorf("schedule expiry of operation %s: %w", opID, switchboard.ErrNotFound)
	}
	if err := s.rdb.ZAdd(ctx, s.expiriesKey(), redis.Z{Score: float64(at.UnixMilli()), Member: opID}).Err(); err != nil {
		return fmt.Errorf("schedule expiry: %w", err)
	}
	return nil
}

// claimScript hands out up to ARGV[2] members of the index whose deadline is
// at or before ARGV[1], and pushes each one's score to ARGV[3] so that no
// other caller gets it until then. KEYS[1] the index.
var claimScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], id)
end
return due
`)

// ClaimExpiries returns up to n operations whose deadline is at or before
// now. Each is handed to one caller: the others see it again only after
// lease, so that an operation whose sweeper died is picked up by another.
func (s *Store) ClaimExpiries(ctx context.Context, now time.Time, n int, lease time.Duration) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	if err := checkTTL(lease); err != nil {
		return nil, fmt.Errorf("claim expiries: %w", err)
	}
	ids, err := claimScript.Run(ctx, s.rdb, []string{s.expiriesKey()},
		now.UnixMilli(), n, now.Add(lease).UnixMilli()).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("claim expiries: %w", err)
	}
	return ids, nil
}

// ExpireOperation marks a running or pending operation expired and, in the
// same transaction, queues the messages that say so and removes it from the
// expiry index. (A pending operation is stored only while it waits for a
// confirmation that has a deadline, as a workflow step's does.) build gets
// the operation, with the status it had, and its results as they are at that
// moment, and returns the messages; it may be called more than once (when a
// result arrives meanwhile) and must have no side effects. When build returns
// nil the operation is not due after all (its deadline moved: a step's
// confirmation arrived and the operation now waits for its results), and
// nothing changes. expired is false, and nothing is queued, when the
// operation is neither running nor pending (it finished, failed or expired
// already) or no longer exists; the index entry is removed in that case too.
// A post queued in the operation's thread is noted in its counters, as the
// record script notes a result's reply (see ThreadPostQueuedAfter).
func (s *Store) ExpireOperation(ctx context.Context, opID string, build func(switchboard.Operation, []switchboard.Result) []switchboard.Outgoing) (op switchboard.Operation, expired bool, err error) {
	if opID == "" {
		return switchboard.Operation{}, false, errors.New("expire operation: empty id")
	}
	opKey, resKey := s.opKey(opID), s.resKey(opID)
	txf := func(tx *redis.Tx) error {
		op, expired = switchboard.Operation{}, false
		raw, err := tx.Get(ctx, opKey).Result()
		if errors.Is(err, redis.Nil) {
			return s.unindex(ctx, tx, opID)
		}
		if err != nil {
			return err
		}
		status, err := s.counterStatus(ctx, tx, opID)
		if err != nil {
			return err
		}
		if op, err = decodeOperation(raw, status); err != nil {
			return fmt.Errorf("operation %s: %w", opID, err)
		}
		if op.Status != switchboard.StatusRunning && op.Status != switchboard.StatusPending {
			return s.unindex(ctx, tx, opID)
		}
		resRaw, err := tx.HGetAll(ctx, resKey).Result()
		if err != nil {
			return err
		}
		results, err := resultsFromHash(opID, resRaw)
		if err != nil {
			return err
		}
		ttl, err := tx.PTTL(ctx, opKey).Result()
		if err != nil {
			return err
		}
		msgs := build(op, results)
		if msgs == nil {
			return nil
		}
		op.Status = switchboard.StatusExpired
		for _, m := range msgs {
			if m.Kind == "" {
				return errors.New("queued message with empty kind")
			}
		}
		b, err := json.Marshal(op)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetArgs(ctx, opKey, b, redis.SetArgs{KeepTTL: true})
			s.copyCounters(ctx, p, opID, op, ttl, false)
			for _, m := range msgs {
				if isThreadPost(m, opID) {
					// Eval, not EvalSha: a script missing from Redis's cache
					// cannot be loaded again in the middle of a transaction.
					queueThreadPostScript.Eval(ctx, p, []string{s.outboxKey(), s.progKey(opID)}, outgoingFields(m)...)
					continue
				}
				p.XAdd(ctx, &redis.XAddArgs{Stream: s.outboxKey(), Values: outgoingFields(m)})
			}
			p.ZRem(ctx, s.expiriesKey(), opID)
			return nil
		})
		if err == nil {
			expired = true
		}
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.rdb.Watch(ctx, txf, opKey, resKey)
		if err == nil {
			return op, expired, nil
		}
		if !errors.Is(err, redis.TxFailedErr) {
			return switchboard.Operation{}, false, fmt.Errorf("expire operation %s: %w", opID, err)
		}
		if attempt == maxUpdateAttempts {
			return switchboard.Operation{}, false, fmt.Errorf("expire operation %s: still conflicting after %d attempts: %w", opID, attempt, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return switchboard.Operation{}, false, fmt.Errorf("expire operation %s: %w", opID, err)
		}
	}
}

// unindex drops an operation from the expiry index inside a watched transaction.
func (s *Store) unindex(ctx context.Context, tx *redis.Tx, opID string) error {
	_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, s.expiriesKey(), opID)
		return nil
	})
	return err
}

// resultsFromHash decodes a res:{id} hash in the order Results returns.
func resultsFromHash(opID string, m map[string]string) ([]switchboard.Result, error) {
	out := make([]switchboard.Result, 0, len(m))
	for target, raw := range m {
		var r switchboard.Result
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return nil, fmt.Errorf("results of operation %s, target %s: %w", opID, target, err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b switchboard.Result) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Target, b.Target)
	})
	return out, nil
}
