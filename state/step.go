package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Workflow step completions
//
//	key               type    TTL          written by / read by
//	P step:<exec id>  string  given        slackpost's sender claims the completion of one Workflow
//	                  (queue entry id)     Builder step execution for one queue entry
//
// Slack takes one completion per step execution (functions.completeSuccess
// or functions.completeError). Several ways can lead there (the last result,
// the expiry sweeper, a cancel click), and each is queued as its own entry;
// the first entry to claim the execution is the only one ever sent, while a
// redelivery of that same entry (its sender died mid-call) may try again.

func (s *Store) stepKey(executionID string) string { return s.key("step", executionID) }

// claimStepScript sets KEYS[1] to ARGV[1] unless it holds another value.
// Returns 1 when KEYS[1] holds ARGV[1] afterwards.
var claimStepScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then
  return 1
end
return 0
`)

// ClaimStepCompletion claims the completion of a Workflow Builder step
// execution for the queue entry entryID. It reports true when this entry
// holds the claim (first to ask, or asking again), false when another entry
// completes the execution. The claim lasts ttl.
func (s *Store) ClaimStepCompletion(ctx context.Context, executionID, entryID string, ttl time.Duration) (bool, error) {
	if executionID == "" || entryID == "" {
		return false, errors.New("claim step completion: empty execution or entry id")
	}
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("claim step completion: %w", err)
	}
	n, err := claimStepScript.Run(ctx, s.rdb, []string{s.stepKey(executionID)}, entryID, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("claim step completion: %w", err)
	}
	return n == 1, nil
}
