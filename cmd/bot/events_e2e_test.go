package main

import (
	"context"
	"testing"

	"github.com/slack-go/slack/slackevents"
)

// TestEventsDispatch checks that an events_api envelope is acknowledged and
// handed to the handler registered for its inner type exactly once, even when
// Slack delivers it again, and that events nobody handles are acknowledged.
func TestEventsDispatch(t *testing.T) {
	t.Parallel()
	got := make(chan *slackevents.AppMentionEvent, 4)
	h := newHarness(t, withMain(func(m *Main) {
		m.socket.OnEvent(slackevents.AppMention, func(_ context.Context, e slackevents.EventsAPIEvent) {
			got <- e.InnerEvent.Data.(*slackevents.AppMentionEvent)
		})
	}))
	ack, err := h.slack.EventCallback(h.ctx, slackevents.AppMentionEvent{Type: "app_mention", User: opsUser, Text: "hello", Channel: opsChan})
	if err != nil {
		t.Fatalf("deliver app_mention: %v", err)
	}
	select {
	case e := <-got:
		if e.User != opsUser || e.Text != "hello" {
			t.Errorf("handler got %+v, want the mention by %s", e, opsUser)
		}
	case <-h.ctx.Done():
		t.Fatal("the handler was not called")
	}
	if _, err := h.slack.Redeliver(h.ctx, ack.EnvelopeID); err != nil {
		t.Fatalf("redeliver: %v", err)
	}
	// An unhandled event is acknowledged too; once its ack is in, the
	// redelivered mention (handled in order before it) has been judged.
	if _, err := h.slack.EventCallback(h.ctx, slackevents.ReactionAddedEvent{Type: "reaction_added", User: opsUser}); err != nil {
		t.Fatalf("deliver reaction_added: %v", err)
	}
	h.main.Router.Wait()
	if len(got) != 0 {
		t.Errorf("the handler ran again for a redelivered envelope: %+v", <-got)
	}
	if n := len(h.slack.Acks()); n != 3 {
		t.Errorf("got %d acks, want 3 (event, its redelivery, the unhandled event)", n)
	}
}
