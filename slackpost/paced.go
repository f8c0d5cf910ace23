package slackpost

import (
	"cmp"
	"context"
	"time"

	"github.com/switchboard-bot/switchboard/internal/pause"
	"github.com/switchboard-bot/switchboard/render"
)

// Pacer hands out per-channel posting slots shared by every replica
// (state.Store implements it).
type Pacer interface {
	NextSlot(ctx context.Context, channel string, interval time.Duration) (time.Duration, error)
	HoldSlots(ctx context.Context, channel string, d time.Duration) error
}

// PacedSlack is a Slack whose channel messages (PostMessage, UpdateMessage)
// keep the channel's pace together with the deliverer's and every other
// replica's, and which waits out a rate limit (Retry-After up to MaxWait)
// instead of failing. It is for the messages commands post directly, such as
// an operation's parent message: without it, a parent posted right before
// the first results of another operation in the same channel would be
// refused with 429. A 429 is safe to retry: Slack did not take the message.
type PacedSlack struct {
	Slack
	Pacer Pacer
	// Interval spaces messages in one channel; 0 turns pacing off.
	Interval time.Duration
	// MaxWait is the longest Retry-After waited out (0 means 10 s); a longer
	// one is returned to the caller as the error it is.
	MaxWait time.Duration
	// Attempts is how many times one message is tried while Slack answers
	// 429 (0 means 10). A busy channel answers 429 now and then even when
	// every replica keeps the pace; a command's first message should wait
	// its turn rather than fail the command.
	Attempts int
}

// PostMessage implements Slack.
func (p PacedSlack) PostMessage(ctx context.Context, channel string, m render.Message) (string, error) {
	var ts string
	err := p.paced(ctx, channel, func() error {
		var err error
		ts, err = p.Slack.PostMessage(ctx, channel, m)
		return err
	})
	return ts, err
}

// UpdateMessage implements Slack.
func (p PacedSlack) UpdateMessage(ctx context.Context, channel, ts string, m render.Message) error {
	return p.paced(ctx, channel, func() error { return p.Slack.UpdateMessage(ctx, channel, ts, m) })
}

// paced waits for the channel's slot, then calls; it retries rate limits it
// may wait out. Without Redis it posts unpaced rather than not at all.
func (p PacedSlack) paced(ctx context.Context, channel string, call func() error) error {
	for attempt := 1; ; attempt++ {
		if p.Interval > 0 && p.Pacer != nil {
			if wait, err := p.Pacer.NextSlot(ctx, channel, p.Interval); err == nil && !pause.For(ctx, wait) {
				return ctx.Err()
			}
		}
		err := call()
		wait, limited := RetryAfter(err)
		if !limited || attempt >= cmp.Or(p.Attempts, 10) || wait > cmp.Or(p.MaxWait, 10*time.Second) {
			return err
		}
		wait = max(wait, 250*time.Millisecond)
		if p.Pacer != nil {
			_ = p.Pacer.HoldSlots(ctx, channel, wait) // best effort: the wait below is ours anyway
		}
		if !pause.For(ctx, wait) {
			return err
		}
	}
}
