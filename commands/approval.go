package commands

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
	"github.com/switchboard-bot/switchboard/state"
)

// The two-person rule: an operation the policy lists under require_approval
// (by default sim.terminate) runs only once a second person who holds the
// same permission approves it. The request is posted in the channel with an
// approve button; the requester cannot approve it, and it expires.

func (ck *clicks) approvalTTL() time.Duration { return cmp.Or(ck.ttl, time.Hour) }

// requestApproval posts the approval request in the channel after the
// requester confirmed. The approval is stored before the request is posted,
// so that an approver who clicks the moment it appears finds it; the
// request's ts, known once it is posted, is noted in the approval then (a
// click that comes first closes the request by the ts its payload carries).
func (ck *clicks) requestApproval(ctx context.Context, cb slack.InteractionCallback, op switchboard.Operation) {
	id := state.NewHex(16)
	ttl := ck.approvalTTL()
	lines := make([]string, 0, maxPromptLines+1)
	for _, t := range op.Targets[:min(len(op.Targets), maxPromptLines)] {
		lines = append(lines, deviceLabel(enco.TargetDevice(t), ck.mask))
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
	conf := newConfirmation(id, ActionApprove, op, time.Now(), ttl)
	if err := ck.confirmations.SaveConfirmation(ctx, conf, ttl); err != nil {
		ref := state.NewHex(4)
		ck.log.Error("save approval", "err", err, "ref", ref, "operation", op.ID)
		ck.ops.respond(ctx, cb.ResponseURL, storeDown(ref).Message(), true)
		return
	}
	ck.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "approval requested", OperationID: op.ID, Detail: op.Params.Title})
	answered := textReply(fmt.Sprintf(":lock: %s needed a second person holding `%s`; the request I posted in <#%s> has been answered there already.", op.Params.Title, op.Kind, op.ChannelID)).Message()
	ts, err := ck.slack.PostMessage(ctx, op.ChannelID, msg)
	if err != nil {
		// Withdraw the approval, unless a click took it: then Slack posted
		// the request in spite of the error.
		if _, ok, cerr := ck.confirmations.ConsumeConfirmation(ctx, id); cerr != nil {
			ck.log.Error("withdraw approval", "err", cerr, "operation", op.ID)
		} else if !ok {
			ck.log.Warn("post approval request failed, but the request was answered", "err", err, "operation", op.ID)
			ck.ops.respond(ctx, cb.ResponseURL, answered, true)
			return
		}
		ck.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "approval withdrawn", Rule: "the request could not be posted", OperationID: op.ID})
		text := ":x: I could not post the approval request, so nothing was changed: " + ck.ops.userError(err, "post approval request")
		if slackpost.NotInChannel(err) {
			text = fmt.Sprintf(":warning: I can't post in <#%s> because I'm not a member. Invite me with `/invite @Switchboard` there, then run the command again. Nothing was changed.", op.ChannelID)
		}
		ck.ops.respond(ctx, cb.ResponseURL, textReply(text).Message(), true)
		return
	}
	switch pending, err := ck.confirmations.NoteConfirmation(ctx, id, "ts", ts); {
	case err != nil:
		// The approval stands; a click closes the request by its own ts.
		ck.log.Warn("note the approval request's ts", "err", err, "operation", op.ID)
	case !pending:
		ck.ops.respond(ctx, cb.ResponseURL, answered, true)
		return
	}
	ck.ops.respond(ctx, cb.ResponseURL, textReply(fmt.Sprintf(":lock: Waiting for approval: %s needs a second person holding `%s`. I posted the request in <#%s>.", op.Params.Title, op.Kind, op.ChannelID)).Message(), true)
}

// approvalClick handles approve and cancel on an approval request.
func (ck *clicks) approvalClick(ctx context.Context, cb slack.InteractionCallback, action string, conf state.Confirmation) {
	user := cb.User.ID
	op, err := confirmedOperation(conf)
	if err != nil {
		ck.log.Error("approval holds no operation", "err", err, "approval", conf.ID)
		return
	}
	// The ts is noted once the request is posted; a click that came first
	// carries it (a button click tells the message it is on). Only a click
	// in the operation's own channel can be on the request.
	ts := conf.Data["ts"]
	if ts == "" {
		if cb.Channel.ID != op.ChannelID {
			ck.ops.tellUser(ctx, cb, fmt.Sprintf(":hourglass: This approval request is still being posted in <#%s>; use the buttons there once it appears. Nothing was changed.", op.ChannelID))
			return
		}
		ts = cmp.Or(cb.Container.MessageTs, cb.Message.Timestamp)
	}
	switch action {
	case ActionConfirm:
		return // approval requests have no confirm button
	case ActionApprove:
		if user == conf.UserID {
			ck.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "approval refused", Rule: "the requester cannot approve their own request", OperationID: op.ID})
			ck.ops.tellUser(ctx, cb, fmt.Sprintf(":no_entry: You asked for this, so you can't approve it. Another person holding `%s` must.", op.Kind))
			return
		}
		if d := ck.gate.checker.Check(ctx, user, op.ChannelID, op.Kind); !d.Allowed {
			ck.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "approval refused", Rule: d.Rule, OperationID: op.ID})
			ck.ops.tellUser(ctx, cb, fmt.Sprintf(":no_entry: Only someone holding `%s` can approve this. %s", op.Kind, d.Message))
			return
		}
	case ActionCancel:
		if user != conf.UserID {
			if d := ck.gate.checker.Check(ctx, user, op.ChannelID, op.Kind); !d.Allowed {
				ck.ops.tellUser(ctx, cb, fmt.Sprintf(":no_entry: Only <@%s> or someone holding `%s` can cancel this.", conf.UserID, op.Kind))
				return
			}
		}
	}
	if _, ok, err := ck.confirmations.ConsumeConfirmation(ctx, conf.ID); err != nil {
		ref := state.NewHex(4)
		ck.log.Error("consume approval", "err", err, "ref", ref)
		ck.ops.tellUser(ctx, cb, storeDown(ref).Text)
		return
	} else if !ok {
		ck.ops.tellUser(ctx, cb, ":hourglass: This request was already approved, cancelled, or has expired.")
		return
	}
	if action == ActionCancel {
		ck.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "approval cancelled", OperationID: op.ID})
		ck.closeApproval(ctx, op.ChannelID, ts, fmt.Sprintf(":no_entry_sign: Cancelled by <@%s>: %s, requested by <@%s>. Nothing was changed.", user, op.Params.Title, op.UserID))
		return
	}
	ck.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "approved", OperationID: op.ID, Detail: "requested by " + op.UserID})
	ck.closeApproval(ctx, op.ChannelID, ts, fmt.Sprintf(":white_check_mark: Approved by <@%s>: %s, requested by <@%s>. Results follow in a thread below.", user, op.Params.Title, op.UserID))
	op.Params.Title += fmt.Sprintf(" (approved by <@%s>)", user)
	op.CreatedAt = time.Now()
	ck.exec.execute(ctx, op, cb.ResponseURL)
}

// closeApproval replaces the approval request, buttons and all, with its outcome.
func (ck *clicks) closeApproval(ctx context.Context, channel, ts, text string) {
	if ts == "" {
		return
	}
	if err := ck.slack.UpdateMessage(ctx, channel, ts, textReply(text).Message()); err != nil {
		ck.log.Error("update approval request", "err", err, "channel", channel)
	}
}
