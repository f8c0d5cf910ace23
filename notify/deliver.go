package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/state"
)

// Kinds of queued Slack messages.
const (
	// KindPost posts Text (in ThreadTS's thread when set) in Channel.
	KindPost = "post"
	// KindProgress re-renders the parent message (Channel, TS) of OperationID
	// from the results stored at the time it is delivered, so a burst of
	// progress entries for one operation costs one chat.update.
	KindProgress = "progress"
	// KindSummary posts the closing summary of OperationID in its thread,
	// rendered from the results stored when it is delivered.
	KindSummary = "summary"
)

// DelivererStore is the shared state the deliverer needs.
type DelivererStore interface {
	EnsureGroup(ctx context.Context) error
	Claim(ctx context.Context, consumer string, n int, block, minIdle time.Duration) ([]state.Outgoing, error)
	Ack(ctx context.Context, ids ...string) error
	Operation(ctx context.Context, id string) (state.Operation, bool, error)
	Results(ctx context.Context, opID string) ([]state.Result, error)
	FirstSeen(ctx context.Context, kind, key string, ttl time.Duration) (bool, error)
	Forget(ctx context.Context, kind, key string) error
}

// Deliverer posts the queued messages to Slack. Every replica runs one; the
// queue's consumer group hands each entry to one of them, and an entry is
// acknowledged only once Slack accepted it (or refused it for good), so a
// replica that dies mid-delivery leaves its entries to another.
type Deliverer struct {
	Store DelivererStore
	Slack Slack
	// Consumer names this replica in the consumer group.
	Consumer string
	// MinIdle is how long an entry may stay unacknowledged with another
	// consumer before this one takes it over (0 means 30 s).
	MinIdle time.Duration
	// Block is how long one read waits for new entries (0 means 2 s).
	Block       time.Duration
	MaskNumbers bool
	Log         *slog.Logger
	// OnPost, when set, is called after each Slack call with its outcome (for metrics).
	OnPost func(kind string, err error)
}

func (d *Deliverer) log() *slog.Logger {
	if d.Log == nil {
		return slog.Default()
	}
	return d.Log
}

// Run delivers until ctx ends. Store errors are retried with a pause; they
// never stop the loop.
func (d *Deliverer) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := d.Store.EnsureGroup(ctx); err != nil {
			d.log().Warn("delivery queue unavailable", "err", err)
			if !sleep(ctx, backoff) {
				break
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		break
	}
	for ctx.Err() == nil {
		msgs, err := d.Store.Claim(ctx, d.Consumer, 16, orDuration(d.Block, 2*time.Second), orDuration(d.MinIdle, 30*time.Second))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			d.log().Warn("delivery queue read failed", "err", err)
			if !sleep(ctx, backoff) {
				break
			}
			backoff = min(backoff*2, 5*time.Second)
			// The group may be gone if Redis restarted empty.
			_ = d.Store.EnsureGroup(ctx)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, m := range msgs {
			if err := d.deliver(ctx, m); err != nil {
				// Left unacknowledged: this or another replica retries it after MinIdle.
				d.log().Warn("delivery postponed", "err", err, "entry", m.ID, "operation", m.OperationID)
				continue
			}
			if err := d.Store.Ack(ctx, m.ID); err != nil {
				d.log().Warn("ack delivered entry", "err", err, "entry", m.ID)
			}
		}
	}
	return nil
}

// deliver makes the Slack call for one entry, retrying rate limits and
// passing trouble until ctx ends. It returns nil when the entry is done with
// (delivered, or refused by Slack for good).
func (d *Deliverer) deliver(ctx context.Context, m state.Outgoing) error {
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := d.call(ctx, m)
		if d.OnPost != nil {
			d.OnPost(m.Kind, err)
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errSkip):
			return nil
		case Permanent(err):
			d.log().Error("slack refused a message for good", "err", err, "kind", m.Kind, "channel", m.Channel, "operation", m.OperationID)
			return nil
		}
		wait, limited := RetryAfter(err)
		if !limited {
			wait = backoff + rand.N(backoff/2)
			backoff = min(backoff*2, 30*time.Second)
		}
		d.log().Info("slack call retried", "err", err, "attempt", attempt, "wait", wait, "kind", m.Kind)
		if attempt >= 8 && !limited {
			return fmt.Errorf("giving up for now after %d attempts: %w", attempt, err)
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

var errSkip = errors.New("nothing to post")

func (d *Deliverer) call(ctx context.Context, m state.Outgoing) error {
	switch m.Kind {
	case KindPost:
		msg := Message{Text: m.Text, ThreadTS: m.ThreadTS}
		if len(m.Blocks) > 0 {
			var bs slack.Blocks
			if err := json.Unmarshal(m.Blocks, &bs); err == nil {
				msg.Blocks = bs.BlockSet
			}
		}
		_, err := d.Slack.PostMessage(ctx, m.Channel, msg)
		return err
	case KindSummary:
		op, p, err := d.progress(ctx, m.OperationID)
		if err != nil {
			return err
		}
		_, err = d.Slack.PostMessage(ctx, op.ChannelID, Message{Text: summaryText(op, p), ThreadTS: op.ThreadTS})
		return err
	case KindProgress:
		op, p, err := d.progress(ctx, m.OperationID)
		if err != nil {
			return err
		}
		// Entries queued for the same progress render the same message: post it once.
		key := fmt.Sprintf("%s:%d:%d:%s", op.ID, p.Done, p.Failed, op.Status)
		first, err := d.Store.FirstSeen(ctx, "progress", key, 24*time.Hour)
		if err != nil {
			return err
		}
		if !first {
			return errSkip
		}
		if err := d.Slack.UpdateMessage(ctx, op.ChannelID, op.ThreadTS, ParentMessage(op, p, d.MaskNumbers)); err != nil {
			_ = d.Store.Forget(ctx, "progress", key)
			return err
		}
		return nil
	}
	d.log().Error("unknown queued message kind", "kind", m.Kind, "entry", m.ID)
	return errSkip
}

// progress reads an operation and counts its results; errSkip when it is gone.
func (d *Deliverer) progress(ctx context.Context, opID string) (state.Operation, state.Progress, error) {
	op, ok, err := d.Store.Operation(ctx, opID)
	if err != nil {
		return op, state.Progress{}, err
	}
	if !ok {
		return op, state.Progress{}, errSkip
	}
	results, err := d.Store.Results(ctx, opID)
	if err != nil {
		return op, state.Progress{}, err
	}
	p := state.Progress{Expected: op.Expected}
	for _, r := range results {
		if r.OK {
			p.Done++
		} else {
			p.Failed++
		}
	}
	return op, p, nil
}

// sleep waits d or until ctx ends; it reports whether the full wait elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
