package slackpost

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/pause"
	"github.com/switchboard-bot/switchboard/render"
)

// DelivererStore is the shared state the deliverer needs.
type DelivererStore interface {
	EnsureGroup(ctx context.Context) error
	Claim(ctx context.Context, consumer string, n int, block, minIdle time.Duration) ([]switchboard.Outgoing, error)
	Renew(ctx context.Context, consumer, id string) (bool, error)
	Ack(ctx context.Context, ids ...string) error
	NextSlot(ctx context.Context, channel string, interval time.Duration) (time.Duration, error)
	HoldSlots(ctx context.Context, channel string, d time.Duration) error
	Operation(ctx context.Context, id string) (switchboard.Operation, bool, error)
	ResultCounts(ctx context.Context, opID string) (switchboard.Progress, error)
	TakeProgress(ctx context.Context, opID string) (switchboard.Progress, error)
	ThreadPostQueuedAfter(ctx context.Context, after, opID string) (bool, error)
	RequeueProgress(ctx context.Context, m switchboard.Outgoing) (bool, error)
	RenderedVersion(ctx context.Context, opID string) (int64, error)
	ClaimRender(ctx context.Context, opID string, version int64, ttl time.Duration) (bool, error)
	ReleaseRender(ctx context.Context, opID string, version int64) error
	ClaimStepCompletion(ctx context.Context, executionID, entryID string, ttl time.Duration) (bool, error)
	Results(ctx context.Context, opID string) ([]switchboard.Result, error)
}

// Report makes the CSV file of every card of a change sent in batches,
// from its stored results (commands.FleetReport).
type Report func(op switchboard.Operation, results []switchboard.Result) (filename, title string, content []byte)

// Deliverer posts the queued messages to Slack. Every replica runs one; the
// queue's consumer group hands each entry to one of them, and an entry is
// acknowledged only once Slack accepted it (or refused it for good), so a
// replica that dies mid-delivery leaves its entries to another.
//
// Right before each Slack call the deliverer renews its hold on the entry
// and gives the entry up if another replica has reclaimed it meanwhile, so
// two replicas never both post one entry; what remains is the moment between
// Slack accepting a message and the acknowledgement reaching Redis (see the
// README, "Delivery guarantees").
type Deliverer struct {
	Store DelivererStore
	Slack Slack
	// Steps ends Workflow Builder steps (render.KindStep entries).
	Steps Steps
	// Report makes the files of render.KindReport entries; nil drops them.
	Report Report
	// Consumer names this replica in the consumer group.
	Consumer string
	// MinIdle is how long an entry may stay untouched with another consumer
	// before this one takes it over (0 means 30 s). It must exceed
	// CallTimeout: an entry is renewed before each call, not during it.
	MinIdle time.Duration
	// Block is how long one read waits for new entries (0 means 2 s).
	Block time.Duration
	// Batch is how many entries one read takes at most (0 means 32).
	Batch int
	// MaxHeld is how many claimed entries this replica holds at most while
	// they wait for their channel's slot (0 means 512); it stops claiming
	// while it holds that many.
	MaxHeld int
	// PaceInterval spaces the messages posted or updated in one channel, by
	// all replicas together (Slack allows about one a second per channel);
	// 0 turns pacing off.
	PaceInterval time.Duration
	// CallTimeout bounds one Slack call (0 means 20 s).
	CallTimeout time.Duration
	// ShutdownGrace is how long a Slack call under way may go on once Run's
	// context has ended, so that a message Slack is accepting gets
	// acknowledged rather than posted again by another replica (0 means 5 s).
	ShutdownGrace time.Duration
	MaskNumbers   bool
	Log           *slog.Logger
	// OnPost, when set, is called after each Slack call with its outcome
	// (Outcome's word for its error), for metrics.
	OnPost func(kind, outcome string)
}

func (d *Deliverer) log() *slog.Logger {
	if d.Log == nil {
		return slog.Default()
	}
	return d.Log
}

// renderTTL is how long the newest rendered version of a parent is kept: as
// long as an operation waits for its callbacks by default.
const renderTTL = 24 * time.Hour

var (
	// errSkip: the entry needs no Slack call (nothing changed, or its operation is gone).
	errSkip = errors.New("nothing to post")
	// errLeaseLost: another replica reclaimed the entry while this one waited.
	errLeaseLost = errors.New("entry taken over by another replica")
)

// Run delivers until ctx ends. Store errors are retried with a pause; they
// never stop the loop. A Slack call under way when ctx ends may finish
// within ShutdownGrace; Run returns once it has.
//
// Entries are delivered channel by channel: each channel has its own lane,
// which posts its entries in queue order at the channel's pace, while the
// loop keeps claiming new entries for every lane. So a channel waiting for
// its slot never holds back another channel's messages.
func (d *Deliverer) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := d.Store.EnsureGroup(ctx); err != nil {
			d.log().Warn("delivery queue unavailable", "err", err)
			if !pause.For(ctx, backoff) {
				break
			}
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		break
	}
	backoff = 100 * time.Millisecond
	l := newLanes(d, cmp.Or(d.MaxHeld, 512))
	defer l.wait()
	for ctx.Err() == nil {
		room := l.room(ctx)
		if room == 0 {
			break
		}
		msgs, err := d.Store.Claim(ctx, d.Consumer, min(cmp.Or(d.Batch, 32), room), cmp.Or(d.Block, 2*time.Second), cmp.Or(d.MinIdle, 30*time.Second))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			d.log().Warn("delivery queue read failed", "err", err)
			if !pause.For(ctx, backoff) {
				break
			}
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		l.add(ctx, msgs)
	}
	return nil
}

// handle delivers one entry and acknowledges it when it is done with.
func (d *Deliverer) handle(ctx context.Context, m switchboard.Outgoing) {
	err := d.deliver(ctx, m)
	switch {
	case errors.Is(err, errLeaseLost):
		d.log().Info("entry taken over by another replica", "entry", m.ID, "kind", m.Kind, "operation", m.OperationID)
		return
	case err != nil:
		// Left unacknowledged: this or another replica retries it after MinIdle.
		d.log().Warn("delivery postponed", "err", err, "entry", m.ID, "kind", m.Kind, "operation", m.OperationID)
		return
	}
	d.ack(ctx, m.ID)
}

// ack acknowledges entries, retrying while Redis does not answer: an entry
// Slack accepted but the queue still holds would be posted again. Once ctx
// has ended it makes one last attempt.
func (d *Deliverer) ack(ctx context.Context, ids ...string) {
	backoff := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := d.Store.Ack(actx, ids...)
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil || !pause.For(ctx, backoff) {
			d.log().Error("delivered but not acknowledged; another replica may post it again", "err", err, "entries", ids)
			return
		}
		d.log().Warn("acknowledge delivered entries; retrying", "err", err, "entries", ids)
		backoff = min(backoff*2, time.Second)
	}
}

// deliver makes the Slack call for one entry, retrying rate limits and
// passing trouble until ctx ends. It returns nil when the entry is done with
// (delivered, nothing to deliver, or refused by Slack for good).
func (d *Deliverer) deliver(ctx context.Context, m switchboard.Outgoing) error {
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		channel, err := d.attempt(ctx, m)
		switch {
		case err == nil, errors.Is(err, errSkip):
			return nil
		case errors.Is(err, errLeaseLost):
			return err
		case Permanent(err):
			d.log().Error("slack refused a message for good", "err", err, "kind", m.Kind, "channel", channel, "operation", m.OperationID)
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		wait, limited := RetryAfter(err)
		if limited {
			wait = max(wait, 250*time.Millisecond)
			// Every replica posting to this channel waits too.
			if channel != "" {
				if err := d.Store.HoldSlots(ctx, channel, wait); err != nil {
					d.log().Warn("share Slack's Retry-After with other replicas", "err", err, "channel", channel)
				}
			}
		} else {
			wait = backoff + rand.N(backoff/2)
			backoff = min(backoff*2, 30*time.Second)
		}
		if attempt >= 8 && !limited {
			return fmt.Errorf("giving up for now after %d attempts: %w", attempt, err)
		}
		d.log().Info("slack call retried", "err", err, "attempt", attempt, "wait", wait, "kind", m.Kind)
		if !pause.For(ctx, wait) {
			return ctx.Err()
		}
	}
}

// attempt tries one entry once and returns the channel it posts to.
// Store trouble is returned like a Slack failure and retried the same way.
func (d *Deliverer) attempt(ctx context.Context, m switchboard.Outgoing) (string, error) {
	switch m.Kind {
	case render.KindPost:
		msg := render.Message{Text: m.Text, ThreadTS: m.ThreadTS}
		if len(m.Blocks) > 0 {
			var bs slack.Blocks
			if err := json.Unmarshal(m.Blocks, &bs); err == nil {
				msg.Blocks = bs.BlockSet
			}
		}
		return m.Channel, d.call(ctx, m, m.Channel, func(ctx context.Context) error {
			_, err := d.Slack.PostMessage(ctx, m.Channel, msg)
			return d.observe(m.Kind, err)
		})
	case render.KindSummary:
		op, p, err := d.progress(ctx, m.OperationID)
		if err != nil {
			return m.Channel, err
		}
		channel, text, thread := cmp.Or(m.Channel, op.ChannelID), render.SummaryText(op, p), m.ThreadTS
		if channel == op.ChannelID {
			thread = op.ThreadTS
		} else {
			text += fmt.Sprintf(" Requested by <@%s> in <#%s>.", op.UserID, op.ChannelID)
		}
		return channel, d.call(ctx, m, channel, func(ctx context.Context) error {
			_, err := d.Slack.PostMessage(ctx, channel, render.Message{Text: text, ThreadTS: thread})
			return d.observe(m.Kind, err)
		})
	case render.KindProgress:
		return m.Channel, d.updateParent(ctx, m)
	case render.KindStep:
		return "", d.completeStep(ctx, m)
	case render.KindReport:
		if d.Report == nil {
			return m.Channel, errSkip
		}
		op, ok, err := d.Store.Operation(ctx, m.OperationID)
		if err != nil {
			return m.Channel, err
		}
		if !ok {
			return m.Channel, errSkip
		}
		results, err := d.Store.Results(ctx, m.OperationID)
		if err != nil {
			return m.Channel, err
		}
		name, title, content := d.Report(op, results)
		return m.Channel, d.call(ctx, m, m.Channel, func(ctx context.Context) error {
			return d.observe(m.Kind, d.Slack.UploadFile(ctx, m.Channel, m.ThreadTS, name, title, content))
		})
	case render.KindFile:
		name := "unanswered-" + m.OperationID[:min(len(m.OperationID), 8)] + ".csv"
		return m.Channel, d.call(ctx, m, m.Channel, func(ctx context.Context) error {
			return d.observe(m.Kind, d.Slack.UploadFile(ctx, m.Channel, m.ThreadTS, name, "Targets EnCo never answered for", []byte(m.Text)))
		})
	}
	d.log().Error("unknown queued message kind", "kind", m.Kind, "entry", m.ID)
	return m.Channel, errSkip
}

// updateParent renders an operation's parent from its stored results, unless
// that render (or a newer one) has been sent already.
func (d *Deliverer) updateParent(ctx context.Context, m switchboard.Outgoing) error {
	// Taking the counters also lets the next result queue a progress
	// message again (see switchboard.Effects.Progress), whatever this one does.
	op, p, err := d.counted(ctx, m.OperationID, d.Store.TakeProgress)
	if err != nil {
		return err
	}
	sent, err := d.Store.RenderedVersion(ctx, op.ID)
	if err != nil {
		return err
	}
	if renderVersion(op, p) <= sent {
		return errSkip // unchanged: no slot, no call
	}
	// The parent must not say more than its thread shows: when a result
	// counted in p has its reply queued behind this entry, go behind that
	// reply. The entry queued anew carries the mark TakeProgress took off,
	// so results recorded meanwhile do not queue one more; when one of them
	// already did, that one renders for both and nothing is queued.
	// Checked before taking a slot, so that the Slack call follows its slot
	// as closely as before.
	if m.ID != "" {
		behind, err := d.Store.ThreadPostQueuedAfter(ctx, m.ID, op.ID)
		if err != nil {
			return err
		}
		if behind {
			if _, err := d.Store.RequeueProgress(ctx, switchboard.Outgoing{Kind: render.KindProgress, Channel: m.Channel, TS: m.TS, OperationID: m.OperationID}); err != nil {
				return err
			}
			return errSkip
		}
	}
	return d.call(ctx, m, op.ChannelID, func(ctx context.Context) error {
		// The counts stay those checked above: results recorded while this
		// entry waited for its slot may have their replies queued behind it,
		// and they queued a progress entry of their own (TakeProgress let
		// them). The operation is read again for its status.
		op, ok, err := d.Store.Operation(ctx, m.OperationID)
		if err != nil {
			return err
		}
		if !ok {
			return errSkip
		}
		v := renderVersion(op, p)
		claimed, err := d.Store.ClaimRender(ctx, op.ID, v, renderTTL)
		if err != nil {
			return err
		}
		if !claimed {
			return errSkip // another replica sent this or a newer render
		}
		err = d.observe(m.Kind, d.Slack.UpdateMessage(ctx, op.ChannelID, op.ThreadTS, render.ParentMessage(op, p, d.MaskNumbers)))
		if err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if rerr := d.Store.ReleaseRender(rctx, op.ID, v); rerr != nil {
				d.log().Warn("release parent render", "err", rerr, "operation", op.ID)
			}
			return err
		}
		return nil
	})
}

// renderVersion numbers a parent render: it grows with every result, and
// with the operation's status at the end.
func renderVersion(op switchboard.Operation, p switchboard.Progress) int64 {
	rank := int64(0)
	switch op.Status {
	case switchboard.StatusDone:
		rank = 1
	case switchboard.StatusExpired, switchboard.StatusFailed, switchboard.StatusCancelled:
		rank = 2
	}
	return int64(p.Finished())*4 + rank
}

// call waits for the channel's next slot, renews the entry (giving it up if
// another replica has taken it over meanwhile), and makes the Slack call
// with its own timeout, which outlives ctx by ShutdownGrace.
func (d *Deliverer) call(ctx context.Context, m switchboard.Outgoing, channel string, slackCall func(context.Context) error) error {
	if d.PaceInterval > 0 && channel != "" {
		wait, err := d.Store.NextSlot(ctx, channel, d.PaceInterval)
		if err != nil {
			return err
		}
		if !pause.For(ctx, wait) {
			return ctx.Err()
		}
	}
	held, err := d.Store.Renew(ctx, d.Consumer, m.ID)
	if err != nil {
		return err
	}
	if !held {
		return errLeaseLost
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(d.CallTimeout, 20*time.Second))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(cmp.Or(d.ShutdownGrace, 5*time.Second))
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-cctx.Done():
		}
	})
	defer stop()
	return slackCall(cctx)
}

// Outcome words how a Slack call ended, for a metric's label: ok,
// ratelimited (HTTP 429), refused (an error trying again cannot mend) or
// failed.
func Outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case isRateLimited(err):
		return "ratelimited"
	case Permanent(err):
		return "refused"
	}
	return "failed"
}

func isRateLimited(err error) bool {
	_, limited := RetryAfter(err)
	return limited
}

// observe reports the outcome of one Slack call to OnPost and returns it.
func (d *Deliverer) observe(kind string, err error) error {
	if d.OnPost != nil {
		d.OnPost(kind, Outcome(err))
	}
	return err
}

// progress reads an operation and counts its results; errSkip when it is gone.
func (d *Deliverer) progress(ctx context.Context, opID string) (switchboard.Operation, switchboard.Progress, error) {
	return d.counted(ctx, opID, d.Store.ResultCounts)
}

// counted reads an operation and its results' counts with count.
func (d *Deliverer) counted(ctx context.Context, opID string, count func(context.Context, string) (switchboard.Progress, error)) (switchboard.Operation, switchboard.Progress, error) {
	op, ok, err := d.Store.Operation(ctx, opID)
	if err != nil {
		return op, switchboard.Progress{}, err
	}
	if !ok {
		return op, switchboard.Progress{}, errSkip
	}
	p, err := count(ctx, opID)
	if err != nil {
		return op, switchboard.Progress{}, err
	}
	p.Expected = op.Expected
	return op, p, nil
}
