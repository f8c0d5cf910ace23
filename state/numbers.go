package state

import (
	"context"
	"fmt"
	"time"
)

// FreezeNumber remembers that a FlexIO number was released and stays out
// of EnCo's pool until until (EnCo's 15-day freeze), so that a reservation
// of it is refused before anyone confirms it. EnCo's API does not tell
// which numbers are frozen; the bot knows those it released itself.
func (s *Store) FreezeNumber(ctx context.Context, number string, until time.Time) error {
	ttl := time.Until(until)
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("freeze number: %w", err)
	}
	if err := s.rdb.Set(ctx, s.key("frozen", number), until.UTC().Format(time.RFC3339), ttl).Err(); err != nil {
		return fmt.Errorf("freeze number: %w", err)
	}
	return nil
}

// NumberFrozenUntil reports until when a number the bot released is frozen;
// ok is false when it is not (or no longer) frozen.
func (s *Store) NumberFrozenUntil(ctx context.Context, number string) (until time.Time, ok bool, err error) {
	v, ok, err := s.getString(ctx, s.key("frozen", number))
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("number frozen until: %w", err)
		}
		return time.Time{}, false, err
	}
	until, err = time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("number frozen until: stored %q: %w", v, err)
	}
	return until, time.Now().Before(until), nil
}
