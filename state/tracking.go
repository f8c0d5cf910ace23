package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// MaxParkedBytes caps the bytes of early callbacks one operation may hold,
// whatever its number of targets: a callback in the documented shape is a
// few hundred bytes, so this leaves room for thousands while an abuser with
// a stolen token holds at most this much Redis memory per operation.
const MaxParkedBytes = 1 << 20

// parkScript appends a payload to an operation's parked callbacks unless
// that would pass the count or the byte cap, and refreshes the TTL. The hash
// holds "n" (how many), "bytes" (their total size) and the payloads under
// "1", "2", ….
// KEYS[1] hash; ARGV[1] payload, ARGV[2] ttl in ms, ARGV[3] count cap,
// ARGV[4] byte cap. Returns 1 when stored, 0 when full.
var parkScript = redis.NewScript(`
local c = redis.call('HMGET', KEYS[1], 'n', 'bytes')
local n, bytes = tonumber(c[1]) or 0, tonumber(c[2]) or 0
if n + 1 > tonumber(ARGV[3]) or bytes + #ARGV[1] > tonumber(ARGV[4]) then
  return 0
end
redis.call('HSET', KEYS[1], 'n', n + 1, 'bytes', bytes + #ARGV[1], tostring(n + 1), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// takeParkedScript returns an operation's parked payloads, oldest first,
// and deletes them. KEYS[1] hash.
var takeParkedScript = redis.NewScript(`
local n = tonumber(redis.call('HGET', KEYS[1], 'n')) or 0
local out = {}
for i = 1, n do
  out[i] = redis.call('HGET', KEYS[1], tostring(i)) or ''
end
redis.call('DEL', KEYS[1])
return out
`)

// Park keeps a callback that arrived before its operation's tracking
// number was known, under the operation its callback token names, for ttl
// after the last one parked. An operation holds at most maxCount parked
// callbacks (its number of targets: one callback per device) and
// MaxParkedBytes of them; past that Park returns ErrParkFull. Keying by the
// operation, not by the tracking number the body claims, means a callback
// can only ever be delivered into the operation of the token that sent it.
//
// A callback can race with the tracking number, so both sides follow one
// order: the requester stores the tracking number in the operation and then
// calls TakeParked; the callback receiver, after reading the operation
// without one, calls Park and then reads the operation again, and if the
// tracking number is there now it calls TakeParked itself. Whichever
// TakeParked runs after the Park gets the payload, and only one does.
func (s *Store) Park(ctx context.Context, opID string, payload []byte, ttl time.Duration, maxCount int) error {
	if opID == "" {
		return errors.New("park callback: empty operation id")
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("park callback: %w", err)
	}
	stored, err := parkScript.Run(ctx, s.rdb, []string{s.parkKey(opID)},
		payload, millis(ttl), maxCount, MaxParkedBytes).Int()
	if err != nil {
		return fmt.Errorf("park callback: %w", err)
	}
	if stored == 0 {
		return fmt.Errorf("park callback for operation %s: %w", opID, switchboard.ErrParkFull)
	}
	return nil
}

// TakeParked returns, oldest first, the callbacks parked for an operation
// and deletes them, atomically: concurrent callers never get the same
// payload.
func (s *Store) TakeParked(ctx context.Context, opID string) ([][]byte, error) {
	if opID == "" {
		return nil, nil
	}
	vals, err := takeParkedScript.Run(ctx, s.rdb, []string{s.parkKey(opID)}).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("take parked callbacks: %w", err)
	}
	if len(vals) == 0 {
		return nil, nil
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, nil
}

func (s *Store) parkKey(opID string) string { return s.prefix + "park:{" + opID + "}" }
