package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Slack retries a socket-mode envelope when its acknowledgement did not
// reach it. The bot handles each envelope once (FirstSeen), and keeps the
// answer it gave to a slash command so that the retry gets the same answer
// rather than an empty one: the person then sees the reply they would have
// seen, and nothing is done twice.
//
//	key              type    TTL              written by / read by
//	P ack:<envelope> string  given at saving  commands' socket: the JSON payload of a slash
//	                                          command's acknowledgement

// SaveAck keeps the acknowledgement payload of a socket-mode envelope for ttl.
func (s *Store) SaveAck(ctx context.Context, envelopeID string, payload []byte, ttl time.Duration) error {
	if envelopeID == "" {
		return errors.New("save ack: empty envelope id")
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("save ack: %w", err)
	}
	if err := s.rdb.Set(ctx, s.key("ack", envelopeID), payload, ttl).Err(); err != nil {
		return fmt.Errorf("save ack: %w", err)
	}
	return nil
}

// SavedAck returns the acknowledgement payload kept for an envelope.
func (s *Store) SavedAck(ctx context.Context, envelopeID string) ([]byte, bool, error) {
	v, ok, err := s.getString(ctx, s.key("ack", envelopeID))
	if err != nil {
		return nil, false, fmt.Errorf("saved ack: %w", err)
	}
	if !ok {
		return nil, false, nil
	}
	return []byte(v), true, nil
}
