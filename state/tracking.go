package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxParked is how many early callbacks one tracking number may hold.
const MaxParked = 1000

// ErrParkFull reports that a tracking number already holds MaxParked early
// callbacks. The callback is not stored; answering the sender with a 5xx lets
// it retry later, when the mapping is likely to exist.
var ErrParkFull = errors.New("too many parked callbacks")

// parkScript appends a payload unless the list is full, and refreshes the TTL.
// KEYS[1] list; ARGV[1] payload, ARGV[2] ttl in ms, ARGV[3] capacity.
// Returns 1 when stored, 0 when full.
var parkScript = redis.NewScript(`
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// MapTracking records which operation an EnCo tracking number or session id
// belongs to, for ttl.
func (s *Store) MapTracking(ctx context.Context, trackingNumber, opID string, ttl time.Duration) error {
	if trackingNumber == "" || opID == "" {
		return errors.New("map tracking number: empty tracking number or operation id")
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("map tracking number: %w", err)
	}
	if err := s.rdb.Set(ctx, s.key("trk", trackingNumber), opID, ttl).Err(); err != nil {
		return fmt.Errorf("map tracking number: %w", err)
	}
	return nil
}

// TrackedOperation returns the operation a tracking number or session id
// belongs to.
func (s *Store) TrackedOperation(ctx context.Context, trackingNumber string) (opID string, ok bool, err error) {
	if trackingNumber == "" {
		return "", false, nil
	}
	opID, ok, err = s.getString(ctx, s.key("trk", trackingNumber))
	if err != nil {
		return "", false, fmt.Errorf("look up tracking number: %w", err)
	}
	return opID, ok, nil
}

// Park keeps a callback whose tracking number is not mapped yet, for ttl
// after the last one parked. It returns ErrParkFull when MaxParked callbacks
// already wait.
//
// A callback can race with the mapping, so both sides follow one order:
// the requester calls MapTracking and then TakeParked; the callback receiver,
// after a TrackedOperation miss, calls Park and then TrackedOperation again,
// and if the mapping now exists it calls TakeParked itself. Whichever
// TakeParked runs after the Park gets the payload, and only one does.
func (s *Store) Park(ctx context.Context, trackingNumber string, payload []byte, ttl time.Duration) error {
	if trackingNumber == "" {
		return errors.New("park callback: empty tracking number")
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("park callback: %w", err)
	}
	stored, err := parkScript.Run(ctx, s.rdb, []string{s.key("park", trackingNumber)},
		payload, millis(ttl), MaxParked).Int()
	if err != nil {
		return fmt.Errorf("park callback: %w", err)
	}
	if stored == 0 {
		return fmt.Errorf("park callback for %s: %w", trackingNumber, ErrParkFull)
	}
	return nil
}

// TakeParked returns, oldest first, the callbacks parked for a tracking number
// and deletes them, atomically: concurrent callers never get the same payload.
func (s *Store) TakeParked(ctx context.Context, trackingNumber string) ([][]byte, error) {
	if trackingNumber == "" {
		return nil, nil
	}
	key := s.key("park", trackingNumber)
	var lr *redis.StringSliceCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		lr = p.LRange(ctx, key, 0, -1)
		p.Del(ctx, key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("take parked callbacks: %w", err)
	}
	vals := lr.Val()
	if len(vals) == 0 {
		return nil, nil
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, nil
}
