package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
	"github.com/switchboard-bot/switchboard/state"
)

// The two-person rule: an operation the policy lists under require_approval
// (by default sim.terminate) runs only once a second person who holds the
// same permission approves it. The request is posted in the channel with an
// approve button; the requester cannot approve it, and it expires.

func (r *Router) approvalTTL() time.Duration { return orDur(r.ApprovalTTL, time.Hour) }

// requestApproval posts the approval request in the channel after the
// requester confirmed.
func (r *Router) requestApproval(ctx context.Context, cb slack.InteractionCallback, op switchboard.Operation) {
	id := newID(16)
	ttl := r.approvalTTL()
	lines := make([]string, 0, maxPromptLines+1)
	for _, t := range op.Targets[:min(len(op.Targets), maxPromptLines)] {
		lines = append(lines, deviceLabel(enco.TargetDevice(t), r.MaskNumbers))
	}
	if len(op.Targets) > maxPromptLines {
		// The requester's confirmation attached the full list to this
		// channel already.
		lines = append(lines, leftOut(maxPromptLines, len(op.Targets))+" The full list was attached to this channel with the request.")
	}
	text := fmt.Sprintf(":lock: <@%s> asks: *%s*", op.UserID, op.Params.Title)
	var b strings.Builder
	b.WriteString(text)
	for _, l := range lines {
		b.WriteString("\n• " + l)
	}
	approve := slack.NewButtonBlockElement(ActionApprove, id, plain("Approve"))
	approve.Style = slack.StyleDanger
	cancel := slack.NewButtonBlockElement(ActionCancel, id, plain("Cancel"))
	msg := render.Message{
		Text: fmt.Sprintf("%s — a second person holding %s must approve.", text, op.Kind),
		Blocks: []slack.Block{
			section(b.String()),
			contextLine(fmt.Sprintf("A second person holding `%s` must approve; the requester cannot. Expires in %s.", op.Kind, humanDuration(ttl))),
			slack.NewActionBlock("approve:"+id, approve, cancel),
		},
	}
	ts, err := r.Slack.PostMessage(ctx, op.ChannelID, msg)
	if err != nil {
		text := ":x: I could not post the approval request, so nothing was changed: " + r.userError(err, "post approval request")
		if slackpost.NotInChannel(err) {
			text = fmt.Sprintf(":warning: I can't post in <#%s> because I'm not a member. Invite me with `/invite @Switchboard` there, then run the command again. Nothing was changed.", op.ChannelID)
		}
		r.respond(ctx, cb.ResponseURL, textReply(text).Message(), true)
		return
	}
	opJSON, err := json.Marshal(op)
	if err != nil {
		panic(err) // a struct of strings always encodes
	}
	now := time.Now()
	conf := state.Confirmation{
		ID: id, OperationID: op.ID, UserID: op.UserID, Action: ActionApprove,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
		Data: map[string]string{"op": string(opJSON), "ts": ts},
	}
	if err := r.Store.SaveConfirmation(ctx, conf, ttl); err != nil {
		ref := newID(4)
		r.log().Error("save approval", "err", err, "ref", ref, "operation", op.ID)
		r.closeApproval(ctx, op.ChannelID, ts, fmt.Sprintf(":x: Approval request withdrawn: I can't reach my state store. Nothing was changed. (ref `%s`)", ref))
		r.respond(ctx, cb.ResponseURL, storeDown(ref).Message(), true)
		return
	}
	r.audit(ctx, state.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "approval requested", OperationID: op.ID, Detail: op.Params.Title})
	r.respond(ctx, cb.ResponseURL, textReply(fmt.Sprintf(":lock: Waiting for approval: %s needs a second person holding `%s`. I posted the request in <#%s>.", op.Params.Title, op.Kind, op.ChannelID)).Message(), true)
}

// approvalClick handles approve and cancel on an approval request.
func (r *Router) approvalClick(ctx context.Context, cb slack.InteractionCallback, action string, conf state.Confirmation) {
	user := cb.User.ID
	var op switchboard.Operation
	if err := json.Unmarshal([]byte(conf.Data["op"]), &op); err != nil {
		r.log().Error("approval holds no operation", "err", err, "approval", conf.ID)
		return
	}
	ts := conf.Data["ts"]
	switch action {
	case ActionConfirm:
		return // approval requests have no confirm button
	case ActionApprove:
		if user == conf.UserID {
			r.audit(ctx, state.AuditEntry{UserID: user, Command: op.Kind, Decision: "approval refused", Rule: "the requester cannot approve their own request", OperationID: op.ID})
			r.tellUser(ctx, cb, fmt.Sprintf(":no_entry: You asked for this, so you can't approve it. Another person holding `%s` must.", op.Kind))
			return
		}
		if d := r.Checker.Check(ctx, user, op.ChannelID, op.Kind); !d.Allowed {
			r.audit(ctx, state.AuditEntry{UserID: user, Command: op.Kind, Decision: "approval refused", Rule: d.Rule, OperationID: op.ID})
			r.tellUser(ctx, cb, fmt.Sprintf(":no_entry: Only someone holding `%s` can approve this. %s", op.Kind, d.Message))
			return
		}
	case ActionCancel:
		if user != conf.UserID {
			if d := r.Checker.Check(ctx, user, op.ChannelID, op.Kind); !d.Allowed {
				r.tellUser(ctx, cb, fmt.Sprintf(":no_entry: Only <@%s> or someone holding `%s` can cancel this.", conf.UserID, op.Kind))
				return
			}
		}
	}
	if _, ok, err := r.Store.ConsumeConfirmation(ctx, conf.ID); err != nil {
		ref := newID(4)
		r.log().Error("consume approval", "err", err, "ref", ref)
		r.tellUser(ctx, cb, storeDown(ref).Text)
		return
	} else if !ok {
		r.tellUser(ctx, cb, ":hourglass: This request was already approved, cancelled, or has expired.")
		return
	}
	if action == ActionCancel {
		r.audit(ctx, state.AuditEntry{UserID: user, Command: op.Kind, Decision: "approval cancelled", OperationID: op.ID})
		r.closeApproval(ctx, op.ChannelID, ts, fmt.Sprintf(":no_entry_sign: Cancelled by <@%s>: %s, requested by <@%s>. Nothing was changed.", user, op.Params.Title, op.UserID))
		return
	}
	r.audit(ctx, state.AuditEntry{UserID: user, Command: op.Kind, Decision: "approved", OperationID: op.ID, Detail: "requested by " + op.UserID})
	r.closeApproval(ctx, op.ChannelID, ts, fmt.Sprintf(":white_check_mark: Approved by <@%s>: %s, requested by <@%s>. Results follow in a thread below.", user, op.Params.Title, op.UserID))
	op.Params.Title += fmt.Sprintf(" (approved by <@%s>)", user)
	op.CreatedAt = time.Now()
	r.execute(ctx, op, cb.ResponseURL)
}

// closeApproval replaces the approval request, buttons and all, with its outcome.
func (r *Router) closeApproval(ctx context.Context, channel, ts, text string) {
	if ts == "" {
		return
	}
	if err := r.Slack.UpdateMessage(ctx, channel, ts, textReply(text).Message()); err != nil {
		r.log().Error("update approval request", "err", err, "channel", channel)
	}
}

// rateLimit counts a requested change against the user's limit per minute.
func (r *Router) rateLimit(ctx context.Context, c *command) (Reply, bool) {
	return r.allowance(ctx, "changes:", c.UserID, func(limit int, wait time.Duration) Reply {
		r.audit(ctx, state.AuditEntry{UserID: c.UserID, Command: c.Command + " " + c.Text, Decision: "rate limited", Rule: fmt.Sprintf("%d changes per minute", limit)})
		return textReply(fmt.Sprintf(":hand: You have asked for %d changes in the last minute, the most the policy allows. Try again in %s.", limit, humanDuration(max(wait, time.Second)))).with("rate_limited")
	})
}

// allowance counts one more use of a per-person allowance per minute
// (bucket "changes:" or "denied:", of changesPerMinute). Past it, the reply
// is refused's; when the store fails, the reply says so. ok is true within
// the allowance.
func (r *Router) allowance(ctx context.Context, bucket, userID string, refused func(limit int, wait time.Duration) Reply) (Reply, bool) {
	limit := r.changesPerMinute()
	ok, wait, err := r.Store.Allow(ctx, bucket+userID, limit, time.Minute)
	if err != nil {
		ref := newID(4)
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
