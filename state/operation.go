package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// maxUpdateAttempts bounds the optimistic retries of UpdateOperation. Each
// lost attempt means another writer committed, so this is only reached under
// heavy, sustained contention on one operation.
const maxUpdateAttempts = 100

// createScript stores a new operation unless its key is taken, and writes
// its expected count and status into its counters hash, where the result
// script reads them (see recordScript). KEYS[1] op, KEYS[2] prog; ARGV[1]
// the operation's JSON, ARGV[2] its TTL in milliseconds, ARGV[3] its
// expected count, ARGV[4] its status. Returns 1 when stored, 0 when the key
// was taken.
var createScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[2], 'expected', ARGV[3], 'status', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`)

// CreateOperation stores a new operation for ttl. It fails with ErrExists if
// an operation with that ID exists. A zero CreatedAt is set to now, a zero
// ExpiresAt to CreatedAt+ttl, and an empty Status to [switchboard.StatusPending].
func (s *Store) CreateOperation(ctx context.Context, op switchboard.Operation, ttl time.Duration) error {
	if op.ID == "" {
		return errors.New("create operation: empty id")
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("create operation: %w", err)
	}
	if op.CreatedAt.IsZero() {
		op.CreatedAt = time.Now().UTC()
	}
	if op.ExpiresAt.IsZero() {
		op.ExpiresAt = op.CreatedAt.Add(ttl)
	}
	if op.Status == "" {
		op.Status = switchboard.StatusPending
	}
	b, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("create operation: %w", err)
	}
	created, err := createScript.Run(ctx, s.rdb, []string{s.opKey(op.ID), s.progKey(op.ID)}, b, ttl.Milliseconds(), op.Expected, op.Status).Int()
	if err != nil {
		return fmt.Errorf("create operation: %w", err)
	}
	if created == 0 {
		return fmt.Errorf("create operation %s: %w", op.ID, ErrExists)
	}
	return nil
}

// Operation returns the operation with that ID. Its status is the one its
// counters hash keeps (see recordScript), when the hash keeps one.
func (s *Store) Operation(ctx context.Context, id string) (switchboard.Operation, bool, error) {
	var get *redis.StringCmd
	var status *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, s.opKey(id))
		status = p.HGet(ctx, s.progKey(id), "status")
		return nil
	})
	if errors.Is(get.Err(), redis.Nil) {
		return switchboard.Operation{}, false, nil
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return switchboard.Operation{}, false, fmt.Errorf("get operation: %w", err)
	}
	op, err := decodeOperation(get.Val(), status.Val())
	if err != nil {
		return switchboard.Operation{}, false, fmt.Errorf("get operation %s: %w", id, err)
	}
	return op, true, nil
}

// decodeOperation decodes an operation's JSON and gives it status, the
// copy its counters hash keeps, unless that is empty (the hash has none).
// The hash's copy is the newer: the result script marks an operation done
// in the hash alone.
func decodeOperation(raw, status string) (switchboard.Operation, error) {
	var op switchboard.Operation
	if err := json.Unmarshal([]byte(raw), &op); err != nil {
		return op, err
	}
	if status != "" {
		op.Status = status
	}
	return op, nil
}

// migrateCounters writes an operation's expected count and status into its
// counters hash when the hash lacks them: the operation was stored before
// CreateOperation put them there. It returns ErrNotFound when the operation
// does not exist.
func (s *Store) migrateCounters(ctx context.Context, id string) error {
	key, prog := s.opKey(id), s.progKey(id)
	txf := func(tx *redis.Tx) error {
		raw, err := tx.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("operation %s: %w", id, switchboard.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var op switchboard.Operation
		if err := json.Unmarshal([]byte(raw), &op); err != nil {
			return fmt.Errorf("operation %s: %w", id, err)
		}
		ttl, err := tx.PTTL(ctx, key).Result()
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSetNX(ctx, prog, "expected", op.Expected)
			p.HSetNX(ctx, prog, "status", op.Status)
			if ttl > 0 {
				p.PExpire(ctx, prog, ttl)
			}
			return nil
		})
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.rdb.Watch(ctx, txf, key)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return fmt.Errorf("migrate counters: %w", err)
			}
			return nil
		}
		if attempt == maxUpdateAttempts {
			return fmt.Errorf("migrate counters of operation %s: still conflicting after %d attempts: %w", id, attempt, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// UpdateOperation applies fn to the stored operation and saves the result,
// atomically with respect to other writers: it watches the key, and when
// another writer changed the operation in between it reads it again and calls
// fn again, so fn must be free of side effects. An error from fn aborts the
// update and is returned (wrapped). fn may not change the ID. The key keeps
// its expiry unless fn changes ExpiresAt past it, which lengthens it. It returns
// ErrNotFound when the operation does not exist.
func (s *Store) UpdateOperation(ctx context.Context, id string, fn func(*switchboard.Operation) error) (switchboard.Operation, error) {
	key := s.opKey(id)
	var updated switchboard.Operation
	txf := func(tx *redis.Tx) error {
		raw, err := tx.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return switchboard.ErrNotFound
		}
		if err != nil {
			return err
		}
		// Every change of the hash's status touches the operation's key too,
		// so watching the key watches the status.
		status, err := s.counterStatus(ctx, tx, id)
		if err != nil {
			return err
		}
		op, err := decodeOperation(raw, status)
		if err != nil {
			return err
		}
		before, beforeStatus, beforeExpected := op.ExpiresAt, op.Status, op.Expected
		if err := fn(&op); err != nil {
			return err
		}
		if op.ID != id {
			return fmt.Errorf("the update changed the id to %q", op.ID)
		}
		b, err := json.Marshal(op)
		if err != nil {
			return err
		}
		moved := !op.ExpiresAt.Equal(before) && !op.ExpiresAt.IsZero()
		ttl := time.Duration(0)
		changed := op.Status != beforeStatus || op.Expected != beforeExpected
		if changed || moved {
			if ttl, err = tx.PTTL(ctx, key).Result(); err != nil {
				return err
			}
		}
		// A new deadline lengthens the key's life, never shortens it: the
		// key must outlive the deadline by the margin ScheduleExpiry gave it,
		// so that the sweeper finds the operation to close and report.
		moved = moved && time.Until(op.ExpiresAt) > ttl
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetArgs(ctx, key, b, redis.SetArgs{KeepTTL: true})
			if moved {
				p.PExpireAt(ctx, key, op.ExpiresAt)
			}
			if changed {
				s.copyCounters(ctx, p, id, op, ttl, moved)
			}
			return nil
		})
		if err != nil {
			return err
		}
		updated = op
		return nil
	}
	for attempt := 1; ; attempt++ {
		err := s.rdb.Watch(ctx, txf, key)
		if err == nil {
			return updated, nil
		}
		if !errors.Is(err, redis.TxFailedErr) {
			return switchboard.Operation{}, fmt.Errorf("update operation %s: %w", id, err)
		}
		if attempt == maxUpdateAttempts {
			return switchboard.Operation{}, fmt.Errorf("update operation %s: still conflicting after %d attempts: %w", id, attempt, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return switchboard.Operation{}, fmt.Errorf("update operation %s: %w", id, err)
		}
	}
}

// copyCounters writes an operation's status and expected count into its
// counters hash, in the transaction that changes them, where the result
// script reads them (see recordScript). The hash takes the operation's
// expiry: its remaining ttl, or the new deadline when the transaction moves
// it.
func (s *Store) copyCounters(ctx context.Context, p redis.Pipeliner, id string, op switchboard.Operation, ttl time.Duration, moved bool) {
	prog := s.progKey(id)
	p.HSet(ctx, prog, "status", op.Status, "expected", op.Expected)
	switch {
	case moved:
		p.PExpireAt(ctx, prog, op.ExpiresAt)
	case ttl > 0:
		p.PExpire(ctx, prog, ttl)
	}
}

// counterStatus reads the status an operation's counters hash keeps; ""
// when it keeps none.
func (s *Store) counterStatus(ctx context.Context, c redis.Cmdable, id string) (string, error) {
	status, err := c.HGet(ctx, s.progKey(id), "status").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return status, err
}

// backoff waits a short, random, growing time before another optimistic
// attempt, so that conflicting writers spread out.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(min(attempt, 10)) * int64(time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
