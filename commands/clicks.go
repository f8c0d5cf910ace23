package commands

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/slackpost"
	"github.com/switchboard-bot/switchboard/state"
)

// clicks answers the buttons of confirmations and approvals.
type clicks struct {
	gate          *gate
	ops           *operator
	lists         *lister // attaches a confirmed change's full list to its channel
	steps         *stepRunner
	exec          executor
	confirmations Confirmations
	approvals     *Approvals // nil: every confirmed change runs at once
	slack         slackpost.Slack
	limits
	log *slog.Logger
}

// executor starts a confirmed operation.
type executor interface {
	execute(ctx context.Context, op switchboard.Operation, responseURL string)
}

// click answers a confirm, cancel or approve button: the requester's
// confirmation starts the change (or asks for its approval), an approval
// goes to approvalClick.
func (ck *clicks) click(ctx context.Context, cb slack.InteractionCallback, action, id string) {
	user := cb.User.ID
	conf, ok, err := ck.confirmations.PeekConfirmation(ctx, id)
	if err != nil {
		ref := state.NewHex(4)
		ck.log.Error("peek confirmation", "err", err, "ref", ref)
		ck.ops.tellUser(ctx, cb, storeDown(ref).Text)
		return
	}
	if !ok {
		ck.ops.tellUser(ctx, cb, ":hourglass: This button has expired or was already used. Run the command again if you still want it.")
		return
	}
	if user != conf.UserID {
		ck.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: conf.Action, Decision: "click refused", Rule: "only the requester may confirm", OperationID: conf.OperationID})
		ck.log.Warn("click by someone else refused", "user", user, "requester", conf.UserID, "operation", conf.OperationID)
		ck.ops.tellUser(ctx, cb, fmt.Sprintf(":no_entry: Only <@%s>, who asked for it, can confirm or cancel this.", conf.UserID))
		return
	}
	if action == ActionConfirm {
		if reply, ok := ck.chargeConfirmedStep(ctx, conf, user); !ok {
			ck.ops.tellUser(ctx, cb, reply.Text)
			return
		}
	}
	conf, ok, err = ck.confirmations.ConsumeConfirmation(ctx, id)
	if err != nil {
		ref := state.NewHex(4)
		ck.log.Error("consume confirmation", "err", err, "ref", ref)
		ck.ops.tellUser(ctx, cb, storeDown(ref).Text)
		return
	}
	if !ok { // another click (or another replica) got there first
		ck.log.Info("confirmation already used", "operation", conf.OperationID, "user", user)
		return
	}
	op, err := confirmedOperation(conf)
	if err != nil {
		ck.log.Error("confirmation holds no operation", "err", err, "confirmation", id)
		return
	}
	if action == ActionCancel {
		ck.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "cancelled", OperationID: op.ID})
		if isStep(op) && !ck.steps.stepClosed(ctx, cb, ck.steps.closeStep(ctx, op, switchboard.StatusCancelled, fmt.Sprintf("<@%s> cancelled it (%s); nothing was changed.", user, op.Params.Title))) {
			return
		}
		ck.ops.respond(ctx, cb.ResponseURL, textReply(fmt.Sprintf(":no_entry_sign: Cancelled: %s. Nothing was changed.", op.Params.Title)).Message(), true)
		return
	}
	// The policy may have changed since the command was typed.
	if d := ck.gate.checker.Check(ctx, user, op.ChannelID, permissionOf(op)); !d.Allowed {
		ck.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "denied at confirmation", Rule: d.Rule, OperationID: op.ID})
		if isStep(op) && !ck.steps.stepClosed(ctx, cb, ck.steps.closeStep(ctx, op, switchboard.StatusFailed, fmt.Sprintf("<@%s> may not do this: %s", user, cmp.Or(d.Message, "no permission "+permissionOf(op))))) {
			return
		}
		ck.ops.respond(ctx, cb.ResponseURL, textReply(":no_entry: "+d.Message).Message(), true)
		return
	}
	ck.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "confirmed", OperationID: op.ID, Detail: op.Params.Title})
	if isStep(op) {
		if ck.approvalGate(ctx, op, cb.ResponseURL) != RunsNow {
			return
		}
		started, err := ck.steps.beginStep(ctx, op)
		if !ck.steps.stepClosed(ctx, cb, err) {
			return
		}
		where := fmt.Sprintf("in <#%s>", op.ChannelID)
		if op.ChannelID == cb.Channel.ID {
			where = "here"
		}
		ck.ops.respond(ctx, cb.ResponseURL, textReply(fmt.Sprintf(":white_check_mark: Confirmed: %s. The results arrive in a thread %s, and the workflow goes on once they are in.", op.Params.Title, where)).Message(), true)
		ck.exec.execute(ctx, started, cb.ResponseURL)
		return
	}
	switch ck.approvalGate(ctx, op, cb.ResponseURL) {
	case WaitsForApproval:
		// The request message says the list is attached with the request.
		ck.lists.attachConfirmed(ctx, op, ck.mask)
		return
	case NotRequested:
		return
	}
	ck.ops.respond(ctx, cb.ResponseURL, textReply(fmt.Sprintf(":white_check_mark: Confirmed: %s. Follow the results in the thread in <#%s>.", op.Params.Title, op.ChannelID)).Message(), true)
	ck.lists.attachConfirmed(ctx, op, ck.mask)
	op.CreatedAt = time.Now()
	ck.exec.execute(ctx, op, cb.ResponseURL)
}

// gate passes a confirmed change through the approvals; without them set
// up, every change runs at once.
func (ck *clicks) approvalGate(ctx context.Context, op switchboard.Operation, responseURL string) Verdict {
	if ck.approvals == nil {
		return RunsNow
	}
	return ck.approvals.Gate(ctx, op, len(op.Targets), responseURL)
}

// chargeConfirmedStep counts the confirmation of a workflow step against the
// confirming person's changes per minute: only their click makes the step
// their change. Other confirmations were counted when they were asked for.
func (ck *clicks) chargeConfirmedStep(ctx context.Context, conf state.Confirmation, user string) (Reply, bool) {
	op, err := confirmedOperation(conf)
	if err != nil || !isStep(op) {
		return Reply{}, true
	}
	return ck.gate.rateLimit(ctx, &command{SlashCommand: slack.SlashCommand{UserID: user, Command: "step", Text: op.Params.StepFunction}})
}
