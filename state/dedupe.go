package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// FirstSeen reports whether this is the first sighting of key, of a kind
// (e.g. "callback", "envelope", "click"), within ttl: the first caller gets
// true, every other caller until the ttl ends gets false.
func (s *Store) FirstSeen(ctx context.Context, kind, key string, ttl time.Duration) (bool, error) {
	if kind == "" || key == "" {
		return false, errors.New("first seen: empty kind or key")
	}
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("first seen: %w", err)
	}
	first, err := s.rdb.SetNX(ctx, s.seenKey(kind, key), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("first seen: %w", err)
	}
	return first, nil
}

// Forget undoes a FirstSeen, so that work which failed after being claimed is
// done again when the key is seen next.
func (s *Store) Forget(ctx context.Context, kind, key string) error {
	if err := s.rdb.Del(ctx, s.seenKey(kind, key)).Err(); err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	return nil
}

func (s *Store) seenKey(kind, key string) string { return s.key("seen", kind+":"+key) }
