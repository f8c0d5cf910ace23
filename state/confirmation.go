package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Confirmation actions, matching the action_id of the buttons.
const (
	ActionConfirm = "confirm"
	ActionCancel  = "cancel"
	ActionApprove = "approve"
)

// Confirmation is a click the bot waits for (confirm, cancel or approve). It
// is consumed at most once and expires.
type Confirmation struct {
	ID          string            `json:"id"`
	OperationID string            `json:"operation_id"`
	UserID      string            `json:"user_id"` // who may click
	Action      string            `json:"action"`
	CreatedAt   time.Time         `json:"created_at"`
	ExpiresAt   time.Time         `json:"expires_at"`
	Data        map[string]string `json:"data,omitempty"`
}

// SaveConfirmation stores a pending click for ttl. It fails with ErrExists if
// the ID is taken. A zero CreatedAt is set to now, a zero ExpiresAt to
// CreatedAt+ttl.
func (s *Store) SaveConfirmation(ctx context.Context, c Confirmation, ttl time.Duration) error {
	if c.ID == "" {
		return errors.New("save confirmation: empty id")
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("save confirmation: %w", err)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.CreatedAt.Add(ttl)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("save confirmation: %w", err)
	}
	saved, err := s.rdb.SetNX(ctx, s.key("conf", c.ID), b, ttl).Result()
	if err != nil {
		return fmt.Errorf("save confirmation: %w", err)
	}
	if !saved {
		return fmt.Errorf("save confirmation %s: %w", c.ID, ErrExists)
	}
	return nil
}

// PeekConfirmation returns a pending click without consuming it, e.g. to
// check who clicked before consuming.
func (s *Store) PeekConfirmation(ctx context.Context, id string) (Confirmation, bool, error) {
	raw, ok, err := s.getString(ctx, s.key("conf", id))
	if err != nil {
		return Confirmation{}, false, fmt.Errorf("peek confirmation: %w", err)
	}
	return decodeConfirmation(raw, ok)
}

// ConsumeConfirmation takes a pending click and deletes it in one step
// (GETDEL): however many callers race, only one gets ok=true.
func (s *Store) ConsumeConfirmation(ctx context.Context, id string) (Confirmation, bool, error) {
	raw, err := s.rdb.GetDel(ctx, s.key("conf", id)).Result()
	ok := true
	if errors.Is(err, redis.Nil) {
		ok, err = false, nil
	}
	if err != nil {
		return Confirmation{}, false, fmt.Errorf("consume confirmation: %w", err)
	}
	return decodeConfirmation(raw, ok)
}

func decodeConfirmation(raw string, ok bool) (Confirmation, bool, error) {
	if !ok {
		return Confirmation{}, false, nil
	}
	var c Confirmation
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return Confirmation{}, false, fmt.Errorf("decode confirmation: %w", err)
	}
	return c, true, nil
}

// NoteConfirmation adds key=value to the Data of a confirmation still
// pending, keeping its expiry. found is false when it is no longer pending
// (consumed or expired): a note never brings a confirmation back.
func (s *Store) NoteConfirmation(ctx context.Context, id, key, value string) (found bool, err error) {
	k := s.key("conf", id)
	txf := func(tx *redis.Tx) error {
		raw, err := tx.Get(ctx, k).Result()
		if errors.Is(err, redis.Nil) {
			found = false
			return nil
		}
		if err != nil {
			return err
		}
		c, _, err := decodeConfirmation(raw, true)
		if err != nil {
			return err
		}
		if c.Data == nil {
			c.Data = map[string]string{}
		}
		c.Data[key] = value
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		// XX: a key that expired meanwhile stays gone.
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetArgs(ctx, k, b, redis.SetArgs{Mode: "XX", KeepTTL: true})
			return nil
		})
		if errors.Is(err, redis.Nil) {
			found = false
			return nil
		}
		found = err == nil
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.rdb.Watch(ctx, txf, k)
		if err == nil {
			return found, nil
		}
		if !errors.Is(err, redis.TxFailedErr) {
			return false, fmt.Errorf("note confirmation %s: %w", id, err)
		}
		if attempt == maxUpdateAttempts {
			return false, fmt.Errorf("note confirmation %s: still conflicting after %d attempts: %w", id, attempt, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return false, fmt.Errorf("note confirmation %s: %w", id, err)
		}
	}
}
