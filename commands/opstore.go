package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// Results takes what an operation brings: the token its callbacks carry,
// the results the bot got itself, and the messages it posts.
type Results interface {
	BindToken(ctx context.Context, token, opID string, ttl time.Duration) error
	RecordResult(ctx context.Context, opID string, r state.Result, posts state.Effects) (state.Progress, error)
	Enqueue(ctx context.Context, m state.Outgoing) (string, error)
}

// expiryKeep is how long an operation's keys outlive its deadline, so that
// the expiry sweeper can still name the targets that never answered.
const expiryKeep = time.Hour

// bindCallbackToken makes the unguessable token that authenticates the
// operation's callbacks, valid until a while after the operation's deadline,
// and schedules that deadline, so that targets which never answer are named.
func (r *Router) bindCallbackToken(ctx context.Context, op switchboard.Operation) (string, error) {
	token, err := state.NewToken()
	if err == nil {
		err = r.Results.BindToken(ctx, token, op.ID, r.operationTTL()+expiryKeep)
	}
	if err == nil {
		err = r.scheduleExpiry(ctx, op)
	}
	return token, err
}

// scheduleExpiry arranges for the operation to be closed at its deadline,
// naming in its thread whatever never answered.
func (r *Router) scheduleExpiry(ctx context.Context, op switchboard.Operation) error {
	return r.Operations.ScheduleExpiry(ctx, op.ID, op.ExpiresAt, expiryKeep)
}

// recordResult stores a result the bot got synchronously and queues its
// posts as a callback's would be: the parent's progress, the reply in the
// thread when reply is set, and with the last result the summary when
// summary is set.
func (r *Router) recordResult(ctx context.Context, op switchboard.Operation, res state.Result, reply, summary bool) error {
	if res.At.IsZero() {
		res.At = time.Now()
	}
	// The store marks the operation done with its last result.
	_, err := r.Results.RecordResult(ctx, op.ID, res, render.ThreadPosts(op, res, reply, summary))
	return err
}

// begin prepares an operation that runs without a confirmation click, as
// confirm does for one that waits for it.
func (r *Router) begin(c *command, op switchboard.Operation, title string) switchboard.Operation {
	op.ID = state.NewHex(16)
	c.operation = op.ID
	op.UserID = c.UserID
	op.ChannelID = c.ChannelID
	op.Status = switchboard.StatusPending
	op.CreatedAt = time.Now()
	op.Params.Title = title
	return op
}

// storeFailure logs a state-store failure after the acknowledgement and
// words it for the requester.
func (r *Router) storeFailure(err error, what string) string {
	ref := state.NewHex(4)
	r.log().Error(what, "err", err, "ref", ref)
	return fmt.Sprintf("My state store did not answer; try again in a minute. (ref `%s`)", ref)
}
