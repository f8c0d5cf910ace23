package state

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// renewScript restarts the idle time of a queue entry, but only while
// consumer still holds it: an entry another replica has reclaimed (its
// sender looked dead) stays with that replica. KEYS[1] outbox; ARGV[1]
// group, ARGV[2] consumer, ARGV[3] entry id. Returns 1 when renewed, 0 when
// the entry is held by another consumer or no longer pending.
var renewScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 1 and p[1][2] == ARGV[2] then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
  return 1
end
return 0
`)

// Renew tells the queue that consumer is still working on the entry id, so
// that no other consumer reclaims it for another minIdle (see Claim), and
// reports whether consumer still holds it. A sender calls it right before
// each Slack call: false means another replica took the entry over while
// this one waited (on Slack's pace or a Retry-After), and this one must
// leave it alone, or the message would be posted twice.
func (s *Store) Renew(ctx context.Context, consumer, id string) (bool, error) {
	if consumer == "" || id == "" {
		return false, errors.New("renew queue entry: empty consumer or id")
	}
	held, err := renewScript.Run(ctx, s.rdb, []string{s.outboxKey()}, outboxGroup, consumer, id).Int()
	if err != nil {
		if isNoGroup(err) {
			return false, nil // Redis lost the queue: the entry is gone
		}
		return false, fmt.Errorf("renew queue entry %s: %w", id, err)
	}
	return held == 1, nil
}

// isNoGroup reports whether Redis answered that the queue or its group does
// not exist (it restarted empty), also when the answer came through a script.
func isNoGroup(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NOGROUP")
}
