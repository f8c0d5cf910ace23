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
	created, err := s.rdb.SetNX(ctx, s.opKey(op.ID), b, ttl).Result()
	if err != nil {
		return fmt.Errorf("create operation: %w", err)
	}
	if !created {
		return fmt.Errorf("create operation %s: %w", op.ID, ErrExists)
	}
	return nil
}

// Operation returns the operation with that ID.
func (s *Store) Operation(ctx context.Context, id string) (switchboard.Operation, bool, error) {
	raw, ok, err := s.getString(ctx, s.opKey(id))
	if err != nil {
		return switchboard.Operation{}, false, fmt.Errorf("get operation: %w", err)
	}
	if !ok {
		return switchboard.Operation{}, false, nil
	}
	var op switchboard.Operation
	if err := json.Unmarshal([]byte(raw), &op); err != nil {
		return switchboard.Operation{}, false, fmt.Errorf("get operation %s: %w", id, err)
	}
	return op, true, nil
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
		var op switchboard.Operation
		if err := json.Unmarshal([]byte(raw), &op); err != nil {
			return err
		}
		before, beforeStatus := op.ExpiresAt, op.Status
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
		if op.Status != beforeStatus || moved {
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
			if op.Status != beforeStatus {
				s.copyStatus(ctx, p, id, op.Status, ttl, moved, op.ExpiresAt)
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

// copyStatus writes an operation's new status into its counters hash, in
// the transaction that changes it, where the result script reads it (see
// recordScript). The hash takes the operation's expiry: its remaining ttl,
// or the new deadline when the transaction moves it.
func (s *Store) copyStatus(ctx context.Context, p redis.Pipeliner, id, status string, ttl time.Duration, moved bool, expiresAt time.Time) {
	prog := s.progKey(id)
	p.HSet(ctx, prog, "status", status)
	switch {
	case moved:
		p.PExpireAt(ctx, prog, expiresAt)
	case ttl > 0:
		p.PExpire(ctx, prog, ttl)
	}
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
