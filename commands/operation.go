package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
	"github.com/switchboard-bot/switchboard/state"
)

// Operations keeps operations, from their start until their deadline.
type Operations interface {
	CreateOperation(ctx context.Context, op switchboard.Operation, ttl time.Duration) error
	UpdateOperation(ctx context.Context, id string, fn func(*switchboard.Operation) error) (switchboard.Operation, error)
	ScheduleExpiry(ctx context.Context, opID string, at time.Time, keep time.Duration) error
}

// startOperation posts the parent message and stores the operation. It tells
// the requester and returns false when that is impossible.
func (r *Router) startOperation(ctx context.Context, op *switchboard.Operation, responseURL string) bool {
	ts, err := r.postParent(ctx, *op)
	if err != nil {
		var text string
		if slackpost.NotInChannel(err) {
			text = fmt.Sprintf(":warning: I can't post in <#%s> because I'm not a member. Invite me with `/invite @Switchboard` there, then run the command again. Nothing was changed.", op.ChannelID)
		} else {
			text = ":x: I could not post in this channel, so I did nothing: " + r.userError(err, "post parent message")
		}
		r.audit(ctx, state.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "not started", OperationID: op.ID, Detail: slackpost.SlackErrorCode(err)})
		r.respond(ctx, responseURL, textReply(text).Message(), true)
		r.failRunningStep(ctx, *op, text)
		return false
	}
	op.ThreadTS = ts
	op.Status = switchboard.StatusRunning
	op.ExpiresAt = op.CreatedAt.Add(r.operationTTL())
	if err := r.storeStarted(ctx, *op); err != nil {
		ref := state.NewHex(4)
		r.log().Error("create operation", "err", err, "ref", ref, "operation", op.ID)
		text := fmt.Sprintf(":x: I could not store this operation, so I did not send it to EnCo. Nothing was changed; try again later. (ref `%s`)", ref)
		r.postInThread(ctx, *op, text)
		r.failRunningStep(ctx, *op, text)
		return false
	}
	if r.Schedules != nil {
		recent := state.RecentOp{At: op.CreatedAt, Title: op.Params.Title, Status: op.Status, OperationID: op.ID}
		if err := r.Schedules.NoteRecentOp(ctx, op.UserID, recent); err != nil {
			r.log().Warn("note recent operation", "err", err, "operation", op.ID)
		}
	}
	return true
}

// postParent posts an operation's first message, or turns the first
// message of the thread it has already (where it waited for approval) into
// it.
func (r *Router) postParent(ctx context.Context, op switchboard.Operation) (string, error) {
	m := render.ParentMessage(op, state.Progress{Expected: op.Expected}, r.MaskNumbers)
	if op.ThreadTS != "" {
		return op.ThreadTS, r.Slack.UpdateMessage(ctx, op.ChannelID, op.ThreadTS, m)
	}
	return r.Slack.PostMessage(ctx, op.ChannelID, m)
}

// storeStarted stores an operation whose parent message is posted. A
// workflow step's operation is stored from its event on, and only gains its
// thread here.
func (r *Router) storeStarted(ctx context.Context, op switchboard.Operation) error {
	if !isStep(op) {
		return r.Operations.CreateOperation(ctx, op, r.operationTTL())
	}
	_, err := r.Operations.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error {
		o.ThreadTS = op.ThreadTS
		return nil
	})
	return err
}

func (r *Router) postInThread(ctx context.Context, op switchboard.Operation, text string) {
	m := textReply(text).Message()
	m.ThreadTS = op.ThreadTS
	if _, err := r.Slack.PostMessage(ctx, op.ChannelID, m); err != nil {
		r.log().Error("post in thread", "err", err, "operation", op.ID)
	}
}

// errClosed stops an update of an operation that has ended meanwhile.
var errClosed = errors.New("operation ended meanwhile")

// markFailed marks an operation failed unless it has ended meanwhile (its
// results all came in, or it expired or was cancelled): an ended operation
// is never reopened.
func (r *Router) markFailed(ctx context.Context, id string) (switchboard.Operation, error) {
	return r.Operations.UpdateOperation(ctx, id, func(o *switchboard.Operation) error {
		if o.Status != switchboard.StatusRunning && o.Status != switchboard.StatusPending {
			return errClosed
		}
		o.Status = switchboard.StatusFailed
		return nil
	})
}

// failOperation marks an operation failed before any result arrived and says so in its thread.
func (r *Router) failOperation(ctx context.Context, op switchboard.Operation, text string) {
	updated, err := r.markFailed(ctx, op.ID)
	if errors.Is(err, errClosed) {
		r.log().Warn("operation ended before its failure could be recorded; left as it is", "operation", op.ID, "failure", text)
		return
	}
	if err == nil {
		op = updated
	}
	r.postInThread(ctx, op, ":x: "+text)
	if isStep(op) {
		r.failStep(ctx, op.Params.Step, op.ID, stripMrkdwn(text))
	}
	if err := r.Slack.UpdateMessage(ctx, op.ChannelID, op.ThreadTS, render.ParentMessage(op, state.Progress{Expected: op.Expected}, r.MaskNumbers)); err != nil {
		r.log().Error("update parent", "err", err, "operation", op.ID)
	}
}
