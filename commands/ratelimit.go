package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/state"
)

// Counters counts uses across replicas: a person's allowance per minute,
// and the first sighting of a delivery Slack may repeat.
type Counters interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
	AllowN(ctx context.Context, key string, n, limit int, window time.Duration) (bool, time.Duration, error)
	FirstSeen(ctx context.Context, kind, key string, ttl time.Duration) (bool, error)
}

// rateLimit counts a requested change against the user's limit per minute.
func (r *Router) rateLimit(ctx context.Context, c *command) (Reply, bool) {
	return r.allowance(ctx, "changes:", c.UserID, func(limit int, wait time.Duration) Reply {
		r.auditRefusal(ctx, "rate_limited", state.AuditEntry{UserID: c.UserID, Command: c.Command + " " + c.Text, Decision: "rate limited", Rule: fmt.Sprintf("%d changes per minute", limit)})
		return textReply(fmt.Sprintf(":hand: You have asked for %d changes in the last minute, the most the policy allows. Try again in %s.", limit, humanDuration(max(wait, time.Second)))).with("rate_limited")
	})
}

// allowance counts one more use of a per-person allowance per minute
// (bucket "changes:" or "denied:", of changesPerMinute). Past it, the reply
// is refused's; when the store fails, the reply says so. ok is true within
// the allowance.
func (r *Router) allowance(ctx context.Context, bucket, userID string, refused func(limit int, wait time.Duration) Reply) (Reply, bool) {
	limit := r.changesPerMinute()
	ok, wait, err := r.Counters.Allow(ctx, bucket+userID, limit, time.Minute)
	if err != nil {
		ref := state.NewHex(4)
		r.log().Error("rate limit", "err", err, "ref", ref)
		return storeDown(ref), false
	}
	if !ok {
		return refused(limit, wait), false
	}
	return Reply{}, true
}

// changesPerMinute is the policy's per-person allowance of changes (and of
// refused commands) per minute.
func (r *Router) changesPerMinute() int {
	if r.Policy != nil {
		return r.Policy.ChangesPerMinute()
	}
	return permissions.DefaultChangesPerMinute
}

// auditRefusal writes a refusal (a rate-limited change, a refused workflow
// step) to the audit trail within an allowance of as many entries per
// minute, per kind and person filed under, as the policy allows changes.
// Past it, refusals are only counted (OnUnaudited), so that being refused
// over and over cannot churn the trail. When the store cannot tell, the
// entry is written.
func (r *Router) auditRefusal(ctx context.Context, kind string, e state.AuditEntry) {
	ok, _, err := r.Counters.Allow(ctx, "audited-refusals:"+kind+":"+e.UserID, r.changesPerMinute(), time.Minute)
	if err == nil && !ok {
		if r.OnUnaudited != nil {
			r.OnUnaudited(kind)
		}
		return
	}
	r.audit(ctx, e)
}

// readsPerMinute is the per-person allowance of EnCo reads a minute: ten for
// each change the policy allows, and never fewer than one command's most
// targets, so that the largest read stays possible.
func (r *Router) readsPerMinute() int { return max(r.maxTargets(), 10*r.changesPerMinute()) }

// readAllowance counts a read that asks EnCo about n cards or numbers
// against the person's reads per minute, n times: what it costs EnCo, on
// every surface (slash command, console, Home tab). Refusals are audited
// within the allowance of audited refusals (auditRefusal).
func (r *Router) readAllowance(ctx context.Context, c *command, n int) (Reply, bool) {
	limit := r.readsPerMinute()
	n = min(max(n, 1), limit)
	ok, wait, err := r.Counters.AllowN(ctx, "reads:"+c.UserID, n, limit, time.Minute)
	if err != nil {
		ref := state.NewHex(4)
		r.log().Error("read allowance", "err", err, "ref", ref)
		return storeDown(ref), false
	}
	if ok {
		return Reply{}, true
	}
	r.auditRefusal(ctx, "rate_limited", state.AuditEntry{UserID: c.UserID, Command: truncate(c.Command+" "+c.Text, 200), Decision: "rate limited", Rule: fmt.Sprintf("%d EnCo reads per minute", limit)})
	again := humanDuration(max(wait, time.Second))
	if n == 1 {
		return textReply(fmt.Sprintf(":hand: You have used the %d EnCo reads a minute the policy allows you. Try again in %s.", limit, again)).with("rate_limited"), false
	}
	return textReply(fmt.Sprintf(":hand: That asks EnCo about %s, past the %d reads a minute the policy allows you. Try again in %s, or ask about fewer at a time.", plural(n, "number"), limit, again)).with("rate_limited"), false
}
