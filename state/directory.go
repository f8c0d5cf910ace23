package state

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard-bot/switchboard"
)

// SetDirectoryEntry replaces a user's directory override, the entry a
// directory admin set, which overrides the policy file's. It does not expire.
func (s *Store) SetDirectoryEntry(ctx context.Context, userID string, e switchboard.Entry) error {
	if userID == "" {
		return errors.New("set directory entry: empty user id")
	}
	// Both fields are always written, so one HSET replaces the whole entry.
	if err := s.rdb.HSet(ctx, s.key("dir", userID), "mobile", e.Mobile, "fixed", e.Fixed).Err(); err != nil {
		return fmt.Errorf("set directory entry: %w", err)
	}
	return nil
}

// DirectoryEntry returns a user's directory override.
func (s *Store) DirectoryEntry(ctx context.Context, userID string) (switchboard.Entry, bool, error) {
	m, err := s.rdb.HGetAll(ctx, s.key("dir", userID)).Result()
	if err != nil {
		return switchboard.Entry{}, false, fmt.Errorf("get directory entry: %w", err)
	}
	if len(m) == 0 {
		return switchboard.Entry{}, false, nil
	}
	return switchboard.Entry{Mobile: m["mobile"], Fixed: m["fixed"]}, true, nil
}

// DeleteDirectoryEntry removes a user's directory override, so that the
// policy file's entry applies again. Deleting a missing entry is not an error.
func (s *Store) DeleteDirectoryEntry(ctx context.Context, userID string) error {
	if err := s.rdb.Del(ctx, s.key("dir", userID)).Err(); err != nil {
		return fmt.Errorf("delete directory entry: %w", err)
	}
	return nil
}
