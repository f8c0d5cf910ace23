package slackpost

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/render"
)

func TestPacedSlackKeepsTheChannelsPace(t *testing.T) {
	s := newStore(t)
	log := newSlotLog(s)
	sl := &fakeSlack{}
	const interval = 100 * time.Millisecond
	// Two replicas' command paths and a deliverer share the channel.
	p1 := PacedSlack{Slack: sl, Pacer: log, Interval: interval}
	p2 := PacedSlack{Slack: sl, Pacer: log, Interval: interval}
	d := newDeliverer(s, sl, "a")
	d.Store = log
	d.PaceInterval = interval
	run(t, d)
	enqueue(t, s, posts("C1", 2)...)
	ctx := context.Background()
	for _, p := range []PacedSlack{p1, p2, p1} {
		if _, err := p.PostMessage(ctx, "C1", render.Message{Text: "parent"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p2.UpdateMessage(ctx, "C1", "1.1", render.Message{Text: "parent, updated"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "every message", func() bool { return len(sl.calls("")) == 6 })
	wantPaced(t, "C1", sl.calls(""), log, "C1", interval)
}

func TestPacedSlackWaitsOutRateLimits(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		limits     int
		wantErr    bool
		attempts   int
		wantCalls  int
	}{
		{"short Retry-After is waited out", 300 * time.Millisecond, 2, false, 0, 3},
		{"a busy channel is waited out up to ten attempts", 100 * time.Millisecond, 9, false, 0, 10},
		{"longer than MaxWait is returned", 2 * time.Second, 1, true, 0, 1},
		{"gives up after Attempts", 300 * time.Millisecond, 5, true, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			var n atomic.Int32
			sl := &fakeSlack{answer: func(context.Context, slackCall) error {
				if int(n.Add(1)) <= tt.limits {
					return &slack.RateLimitedError{RetryAfter: tt.retryAfter}
				}
				return nil
			}}
			p := PacedSlack{Slack: sl, Pacer: s, Interval: 10 * time.Millisecond, MaxWait: time.Second, Attempts: tt.attempts}
			start := time.Now()
			_, err := p.PostMessage(context.Background(), "C1", render.Message{Text: "parent"})
			var rl *slack.RateLimitedError
			if gotErr := errors.As(err, &rl); gotErr != tt.wantErr {
				t.Errorf("got error %v, want a rate-limit error: %v", err, tt.wantErr)
			}
			if got := sl.attempted(); got != tt.wantCalls {
				t.Errorf("Slack calls: got %d, want %d", got, tt.wantCalls)
			}
			if !tt.wantErr {
				if elapsed := time.Since(start); elapsed < time.Duration(tt.limits)*tt.retryAfter {
					t.Errorf("posted after %v, want after %d waits of %v", elapsed, tt.limits, tt.retryAfter)
				}
			}
		})
	}
}
