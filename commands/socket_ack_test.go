package commands

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
	"github.com/switchboard-bot/switchboard/slacksocket"
)

// heldCounters holds every FirstSeen until release is closed, as a Redis
// that does not answer would (past any deadline of the caller's), and then
// answers "first" once per key.
type heldCounters struct {
	release chan struct{}
	mu      sync.Mutex
	seen    map[string]bool
	// marked is told of each check once it has been answered.
	marked chan struct{}
}

func (h *heldCounters) Allow(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}

func (h *heldCounters) AllowN(context.Context, string, int, int, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}

func (h *heldCounters) FirstSeen(_ context.Context, kind, key string, _ time.Duration) (bool, error) {
	<-h.release
	h.mu.Lock()
	defer h.mu.Unlock()
	first := !h.seen[kind+key]
	h.seen[kind+key] = true
	h.marked <- struct{}{}
	return first, nil
}

// TestFirstDeliveryAckDoesNotWaitForRedis: the ack of a slash command's
// first delivery does not wait for the shared envelope check, and a repeat
// of it waits for the check and runs nothing.
func TestFirstDeliveryAckDoesNotWaitForRedis(t *testing.T) {
	fake := slacktest.New(t)
	counters := &heldCounters{release: make(chan struct{}), seen: map[string]bool{}, marked: make(chan struct{}, 8)}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(counters.release) }) }
	defer release()
	api := slack.New(fake.BotToken, slack.OptionAPIURL(fake.URL), slack.OptionAppLevelToken(fake.AppToken))
	s := &Socket{Router: New(Config{State: Stores{Counters: counters}}), Client: slacksocket.New(api)}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	defer func() { release(); stop(); <-done }()
	if err := fake.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}

	ack, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim", Text: "help", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatalf("first delivery not acknowledged while the envelope check is held: %v", err)
	}
	if len(ack.Payload) == 0 {
		t.Fatal("first delivery acknowledged without its answer")
	}
	release()
	// Slack repeats an envelope only after it has waited for its ack; by
	// then the first delivery's mark is in.
	select {
	case <-counters.marked:
	case <-ctx.Done():
		t.Fatal("the first delivery's envelope check never ran")
	}

	again, err := fake.Redeliver(ctx, ack.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Payload) != 0 {
		t.Errorf("the repeat was answered anew (%s): it ran twice", again.Payload)
	}
}
