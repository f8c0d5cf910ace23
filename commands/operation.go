package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
	"github.com/switchboard-bot/switchboard/state"
)

// operator carries an operation from its parent message to its results: it
// posts and stores it, binds its callbacks, records the results the bot gets
// itself, and fails it (and its workflow step) when it cannot go on. It also
// words the errors of EnCo and Slack for the person who asked.
type operator struct {
	slack   slackpost.Slack
	store   Operations
	results Results
	recent  recentOps // nil: no list of recent operations
	gate    *gate
	mask    bool
	ttl     time.Duration // how long an operation waits for its callbacks (0 means 24 hours)
	log     *slog.Logger
}

// recentOps keeps each person's recent operations, for the Home tab.
type recentOps interface {
	NoteRecentOp(ctx context.Context, user string, op state.RecentOp) error
}

// Operations keeps operations, from their start until their deadline.
type Operations interface {
	CreateOperation(ctx context.Context, op switchboard.Operation, ttl time.Duration) error
	UpdateOperation(ctx context.Context, id string, fn func(*switchboard.Operation) error) (switchboard.Operation, error)
	ScheduleExpiry(ctx context.Context, opID string, at time.Time, keep time.Duration) error
}

// startOperation posts the parent message and stores the operation. It tells
// the requester and returns false when that is impossible.
func (ops *operator) startOperation(ctx context.Context, op *switchboard.Operation, responseURL string) bool {
	ts, err := ops.postParent(ctx, *op)
	if err != nil {
		var text string
		if slackpost.NotInChannel(err) {
			text = fmt.Sprintf(":warning: I can't post in <#%s> because I'm not a member. Invite me with `/invite @Switchboard` there, then run the command again. Nothing was changed.", op.ChannelID)
		} else {
			text = ":x: I could not post in this channel, so I did nothing: " + ops.userError(err, "post parent message")
		}
		ops.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "not started", OperationID: op.ID, Detail: slackpost.SlackErrorCode(err)})
		ops.respond(ctx, responseURL, textReply(text).Message(), true)
		ops.failRunningStep(ctx, *op, text)
		return false
	}
	op.ThreadTS = ts
	op.Status = switchboard.StatusRunning
	op.ExpiresAt = op.CreatedAt.Add(ops.operationTTL())
	if err := ops.storeStarted(ctx, *op); err != nil {
		ref := state.NewHex(4)
		ops.log.Error("create operation", "err", err, "ref", ref, "operation", op.ID)
		text := fmt.Sprintf(":x: I could not store this operation, so I did not send it to EnCo. Nothing was changed; try again later. (ref `%s`)", ref)
		ops.postInThread(ctx, *op, text)
		ops.failRunningStep(ctx, *op, text)
		return false
	}
	if ops.recent != nil {
		recent := state.RecentOp{At: op.CreatedAt, Title: op.Params.Title, Status: op.Status, OperationID: op.ID}
		if err := ops.recent.NoteRecentOp(ctx, op.UserID, recent); err != nil {
			ops.log.Warn("note recent operation", "err", err, "operation", op.ID)
		}
	}
	return true
}

// postParent posts an operation's first message, or turns the first
// message of the thread it has already (where it waited for approval) into
// it.
func (ops *operator) postParent(ctx context.Context, op switchboard.Operation) (string, error) {
	m := render.ParentMessage(op, switchboard.Progress{Expected: op.Expected}, ops.mask)
	if op.ThreadTS != "" {
		return op.ThreadTS, ops.slack.UpdateMessage(ctx, op.ChannelID, op.ThreadTS, m)
	}
	return ops.slack.PostMessage(ctx, op.ChannelID, m)
}

// storeStarted stores an operation whose parent message is posted. A
// workflow step's operation is stored from its event on, and only gains its
// thread here.
func (ops *operator) storeStarted(ctx context.Context, op switchboard.Operation) error {
	if !isStep(op) {
		return ops.store.CreateOperation(ctx, op, ops.operationTTL())
	}
	_, err := ops.store.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error {
		o.ThreadTS = op.ThreadTS
		o.Params.Batch = op.Params.Batch
		return nil
	})
	return err
}

func (ops *operator) postInThread(ctx context.Context, op switchboard.Operation, text string) {
	m := textReply(text).Message()
	m.ThreadTS = op.ThreadTS
	if _, err := ops.slack.PostMessage(ctx, op.ChannelID, m); err != nil {
		ops.log.Error("post in thread", "err", err, "operation", op.ID)
	}
}

// errClosed stops an update of an operation that has ended meanwhile.
var errClosed = errors.New("operation ended meanwhile")

// markFailed marks an operation failed unless it has ended meanwhile (its
// results all came in, or it expired or was cancelled): an ended operation
// is never reopened.
func (ops *operator) markFailed(ctx context.Context, id string) (switchboard.Operation, error) {
	return ops.store.UpdateOperation(ctx, id, func(o *switchboard.Operation) error {
		if o.Status != switchboard.StatusRunning && o.Status != switchboard.StatusPending {
			return errClosed
		}
		o.Status = switchboard.StatusFailed
		return nil
	})
}

// failOperation marks an operation failed before any result arrived and says so in its thread.
func (ops *operator) failOperation(ctx context.Context, op switchboard.Operation, text string) {
	updated, err := ops.markFailed(ctx, op.ID)
	if errors.Is(err, errClosed) {
		ops.log.Warn("operation ended before its failure could be recorded; left as it is", "operation", op.ID, "failure", text)
		return
	}
	if err == nil {
		op = updated
	}
	ops.postInThread(ctx, op, ":x: "+text)
	if isStep(op) {
		ops.failStep(ctx, op.Params.Step, op.ID, stripMrkdwn(text))
	}
	if err := ops.slack.UpdateMessage(ctx, op.ChannelID, op.ThreadTS, render.ParentMessage(op, switchboard.Progress{Expected: op.Expected}, ops.mask)); err != nil {
		ops.log.Error("update parent", "err", err, "operation", op.ID)
	}
}

func (ops *operator) operationTTL() time.Duration {
	return cmp.Or(ops.ttl, 24*time.Hour)
}

func (ops *operator) respond(ctx context.Context, responseURL string, m render.Message, replace bool) {
	if responseURL == "" {
		return
	}
	if err := ops.slack.Respond(ctx, responseURL, m, replace); err != nil {
		ops.log.Error("respond", "err", err)
	}
}

// tellUser shows a message to one person: through the response URL when there
// is one, else as an ephemeral message in the channel.
func (ops *operator) tellUser(ctx context.Context, cb slack.InteractionCallback, text string) {
	m := textReply(text).Message()
	if err := ops.slack.PostEphemeral(ctx, cb.Channel.ID, cb.User.ID, m); err != nil {
		ops.log.Error("ephemeral", "err", err, "user", cb.User.ID)
	}
}

// userError turns an API error into words for the person in Slack. A
// service's own refusal (4xx) is shown; anything else is a generic line with a
// reference, the details go to the log.
func (ops *operator) userError(err error, what string) string {
	ref := state.NewHex(4)
	ops.log.Error(what, "err", err, "ref", ref)
	if errors.Is(err, enco.ErrCredentialsRefused) {
		return fmt.Sprintf("EnCo refused the bot's own credentials, so nothing was sent. An operator must give the bot valid EnCo credentials (`ENCO_TOKEN`, or `ENCO_CLIENT_ID` and `ENCO_CLIENT_SECRET`); trying again will not help until then. (ref `%s`)", ref)
	}
	if text, ok := encoRefusal(err, ref); ok {
		return text
	}
	var ee *enco.Error
	if errors.As(err, &ee) && ee.StatusCode >= 400 && ee.StatusCode < 500 && ee.StatusCode != 401 && ee.StatusCode != 403 && ee.StatusCode != 429 && ee.Message != "" {
		return fmt.Sprintf("EnCo refused it: %s (HTTP %d, ref `%s`)", render.Escape(truncate(ee.Message, 300)), ee.StatusCode, ref)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("EnCo did not answer in time (ref `%s`). Nothing is known to have changed; check the status before trying again.", ref)
	}
	return fmt.Sprintf("EnCo could not be reached or failed (ref `%s`). Try again later; an operator can find the details under that reference.", ref)
}

// Results takes what an operation brings: the token its callbacks carry,
// the results the bot got itself, and the messages it posts.
type Results interface {
	BindToken(ctx context.Context, token, opID string, ttl time.Duration) error
	RecordResult(ctx context.Context, opID string, r switchboard.Result, posts switchboard.Effects) (switchboard.Progress, error)
	Enqueue(ctx context.Context, m switchboard.Outgoing) (string, error)
}

// expiryKeep is how long an operation's keys outlive its deadline, so that
// the expiry sweeper can still name the targets that never answered.
const expiryKeep = time.Hour

// bindCallbackToken makes the unguessable token that authenticates the
// operation's callbacks, valid until a while after the operation's deadline,
// and schedules that deadline, so that targets which never answer are named.
func (ops *operator) bindCallbackToken(ctx context.Context, op switchboard.Operation) (string, error) {
	token, err := state.NewToken()
	if err == nil {
		err = ops.results.BindToken(ctx, token, op.ID, ops.operationTTL()+expiryKeep)
	}
	if err == nil {
		err = ops.scheduleExpiry(ctx, op)
	}
	return token, err
}

// scheduleExpiry arranges for the operation to be closed at its deadline,
// naming in its thread whatever never answered.
func (ops *operator) scheduleExpiry(ctx context.Context, op switchboard.Operation) error {
	return ops.store.ScheduleExpiry(ctx, op.ID, op.ExpiresAt, expiryKeep)
}

// recordResult stores a result the bot got synchronously and queues its
// posts as a callback's would be: the parent's progress, the reply in the
// thread when reply is set, and with the last result the summary when
// summary is set.
func (ops *operator) recordResult(ctx context.Context, op switchboard.Operation, res switchboard.Result, reply, summary bool) error {
	if res.At.IsZero() {
		res.At = time.Now()
	}
	// The store marks the operation done with its last result.
	_, err := ops.results.RecordResult(ctx, op.ID, res, render.ThreadPosts(op, res, reply, summary))
	return err
}

// begin prepares an operation that runs without a confirmation click, as
// confirm does for one that waits for it.
func begin(c *command, op switchboard.Operation, title string) switchboard.Operation {
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
func (ops *operator) storeFailure(err error, what string) string {
	ref := state.NewHex(4)
	ops.log.Error(what, "err", err, "ref", ref)
	return fmt.Sprintf("My state store did not answer; try again in a minute. (ref `%s`)", ref)
}

// failRunningStep fails the step of a running operation that could not go
// on (its parent could not be posted or stored), marking it failed.
func (ops *operator) failRunningStep(ctx context.Context, op switchboard.Operation, why string) {
	if !isStep(op) {
		return
	}
	if _, err := ops.markFailed(ctx, op.ID); errors.Is(err, errClosed) {
		return // it ended meanwhile, and its ending completes the step
	} else if err != nil {
		ops.log.Error("mark workflow step failed", "err", err, "operation", op.ID)
	}
	ops.failStep(ctx, op.Params.Step, op.ID, stripMrkdwn(why))
}

// failStep queues the completion of a step execution with an error.
func (ops *operator) failStep(ctx context.Context, exec, opID, why string) {
	if exec == "" {
		return
	}
	if _, err := ops.results.Enqueue(ctx, render.StepFailure(exec, opID, why)); err != nil {
		ops.log.Error("queue workflow step failure", "err", err, "execution", exec, "operation", opID)
	}
}

// fmuError words an FMU API error. A change EnCo answered with
// "success": false comes back as a 2xx *enco.Error whose reason is EnCo's.
func (ops *operator) fmuError(err error, what string) string {
	var ee *enco.Error
	if errors.As(err, &ee) && ee.StatusCode >= 200 && ee.StatusCode < 300 && ee.Message != "" {
		ops.log.Info(what+" refused", "err", err)
		return "EnCo refused it: " + render.Escape(truncate(ee.Message, 300))
	}
	return ops.userError(err, what)
}

// slackError says a Slack call failed, for a person, and logs the details
// under a reference.
func (ops *operator) slackError(err error, what string) string {
	ref := state.NewHex(4)
	ops.log.Error(what, "err", err, "ref", ref)
	if code := slackpost.SlackErrorCode(err); code != "" {
		return fmt.Sprintf("Slack refused it (%s, ref `%s`).", render.Escape(code), ref)
	}
	return fmt.Sprintf("Slack could not be reached (ref `%s`). Try again later; an operator can find the details under that reference.", ref)
}
