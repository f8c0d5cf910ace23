package commands

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/state"
)

// gate is what every command passes first: the permission check, the audit
// trail every decision goes to, and the per-person allowances per minute.
type gate struct {
	checker  Checker
	trail    AuditTrail
	counters Counters
	policy   *permissions.Policy // the allowance per minute; nil means the default
	limits   limits              // max targets, the floor of reads per minute
	// onUnaudited, when set, is told of each refusal past the allowance of
	// audited refusals (kind "rate_limited" or "step"), for metrics.
	onUnaudited func(kind string)
	log         *slog.Logger
}

// allow checks a permission and records the decision in the audit stream.
// When it is denied, the reply says why.
func (g *gate) allow(ctx context.Context, c *command, permission string) (Reply, bool) {
	var d permissions.Decision
	if c.offChannel {
		d = g.checker.CheckOffChannel(ctx, c.UserID, permission)
	} else {
		d = g.checker.CheckCommand(ctx, c.UserID, c.ChannelID, c.Command, permission)
	}
	decision := "denied"
	if d.Allowed {
		decision = "allowed"
	}
	c.permission, c.decision, c.rule = permission, decision, d.Rule
	if !d.Allowed {
		// Refusals are audited like everything else, so one person sending
		// refused commands could fill the trail: past the same per-minute
		// allowance as changes, they are refused without an entry each.
		if reply, ok := g.allowance(ctx, "denied:", c.UserID, func(limit int, wait time.Duration) Reply {
			c.decision = "rate limited"
			return textReply(fmt.Sprintf(":hand: %d of your commands were refused in the last minute, the most the policy allows; I am not reading more from you for %s.", limit, humanDuration(max(wait, time.Second)))).with("rate_limited")
		}); !ok {
			return reply, false
		}
	}
	if err := g.trail.Audit(ctx, switchboard.AuditEntry{At: time.Now(), UserID: c.UserID, Command: c.Command + " " + c.Text, Decision: decision, Rule: d.Rule}); err != nil {
		// Every decision is recorded; without the store nothing is done.
		ref := state.NewHex(4)
		g.log.Error("audit append failed; command refused", "err", err, "ref", ref, "user", c.UserID)
		return storeDown(ref), false
	}
	if d.Allowed {
		return Reply{}, true
	}
	msg := d.Message
	if msg == "" {
		msg = fmt.Sprintf("You don't have the permission `%s`.", permission)
	}
	return textReply(":no_entry: " + msg).with("denied"), false
}

func (g *gate) audit(ctx context.Context, e switchboard.AuditEntry) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	g.log.Info("audit", "user", e.UserID, "command", e.Command, "decision", e.Decision, "rule", e.Rule, "operation", e.OperationID, "detail", e.Detail)
	if err := g.trail.Audit(ctx, e); err != nil {
		g.log.Error("audit append failed", "err", err, "user", e.UserID, "decision", e.Decision, "operation", e.OperationID)
	}
}

// storeDown is the answer when Redis does not respond: nothing was done.
func storeDown(ref string) Reply {
	return textReply(fmt.Sprintf(":hourglass: I can't reach my state store right now, so I did nothing. Please try again in a minute. (ref `%s`)", ref)).with("unavailable")
}

// Counters counts uses across replicas: a person's allowance per minute,
// and the first sighting of a delivery Slack may repeat.
type Counters interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
	AllowN(ctx context.Context, key string, n, limit int, window time.Duration) (bool, time.Duration, error)
	FirstSeen(ctx context.Context, kind, key string, ttl time.Duration) (bool, error)
}

// rateLimit counts a requested change against the user's limit per minute.
func (g *gate) rateLimit(ctx context.Context, c *command) (Reply, bool) {
	return g.allowance(ctx, "changes:", c.UserID, func(limit int, wait time.Duration) Reply {
		g.auditRefusal(ctx, "rate_limited", switchboard.AuditEntry{UserID: c.UserID, Command: c.Command + " " + c.Text, Decision: "rate limited", Rule: fmt.Sprintf("%d changes per minute", limit)})
		return textReply(fmt.Sprintf(":hand: You have asked for %d changes in the last minute, the most the policy allows. Try again in %s.", limit, humanDuration(max(wait, time.Second)))).with("rate_limited")
	})
}

// allowance counts one more use of a per-person allowance per minute
// (bucket "changes:" or "denied:", of changesPerMinute). Past it, the reply
// is refused's; when the store fails, the reply says so. ok is true within
// the allowance.
func (g *gate) allowance(ctx context.Context, bucket, userID string, refused func(limit int, wait time.Duration) Reply) (Reply, bool) {
	limit := g.changesPerMinute()
	ok, wait, err := g.counters.Allow(ctx, bucket+userID, limit, time.Minute)
	if err != nil {
		ref := state.NewHex(4)
		g.log.Error("rate limit", "err", err, "ref", ref)
		return storeDown(ref), false
	}
	if !ok {
		return refused(limit, wait), false
	}
	return Reply{}, true
}

// changesPerMinute is the policy's per-person allowance of changes (and of
// refused commands) per minute.
func (g *gate) changesPerMinute() int {
	if g.policy != nil {
		return g.policy.ChangesPerMinute()
	}
	return permissions.DefaultChangesPerMinute
}

// auditRefusal writes a refusal (a rate-limited change or read, a refused
// workflow step) to the audit trail within an allowance of as many entries
// per minute, per kind and person filed under, as the policy allows
// changes. Past it, refusals are only counted (onUnaudited), so that being
// refused over and over cannot churn the trail. When the store cannot
// tell, the entry is written.
func (g *gate) auditRefusal(ctx context.Context, kind string, e switchboard.AuditEntry) {
	ok, _, err := g.counters.Allow(ctx, "audited-refusals:"+kind+":"+e.UserID, g.changesPerMinute(), time.Minute)
	if err == nil && !ok {
		if g.onUnaudited != nil {
			g.onUnaudited(kind)
		}
		return
	}
	g.audit(ctx, e)
}

// readsPerMinute is the per-person allowance of EnCo reads a minute: ten for
// each change the policy allows, and never fewer than one command's most
// targets, so that the largest read stays possible.
func (g *gate) readsPerMinute() int { return max(g.limits.maxTargets(), 10*g.changesPerMinute()) }

// readAllowance counts a read that asks EnCo about n cards or numbers
// against the person's reads per minute, n times: what it costs EnCo, on
// every surface (slash command, console, Home tab). Refusals are audited
// within the allowance of audited refusals (auditRefusal).
func (g *gate) readAllowance(ctx context.Context, c *command, n int) (Reply, bool) {
	limit := g.readsPerMinute()
	n = min(max(n, 1), limit)
	ok, wait, err := g.counters.AllowN(ctx, "reads:"+c.UserID, n, limit, time.Minute)
	if err != nil {
		ref := state.NewHex(4)
		g.log.Error("read allowance", "err", err, "ref", ref)
		return storeDown(ref), false
	}
	if ok {
		return Reply{}, true
	}
	g.auditRefusal(ctx, "rate_limited", switchboard.AuditEntry{UserID: c.UserID, Command: truncate(c.Command+" "+c.Text, 200), Decision: "rate limited", Rule: fmt.Sprintf("%d EnCo reads per minute", limit)})
	again := humanDuration(max(wait, time.Second))
	if n == 1 {
		return textReply(fmt.Sprintf(":hand: You have used the %d EnCo reads a minute the policy allows you. Try again in %s.", limit, again)).with("rate_limited"), false
	}
	return textReply(fmt.Sprintf(":hand: That asks EnCo about %s, past the %d reads a minute the policy allows you. Try again in %s, or ask about fewer at a time.", plural(n, "number"), limit, again)).with("rate_limited"), false
}

// auditApprovalRefusal audits a refused approve, deny or cancel of an
// approval request within the allowance of audited refusals.
func (g *gate) auditApprovalRefusal(ctx context.Context, e switchboard.AuditEntry) {
	g.auditRefusal(ctx, "approval", e)
}
