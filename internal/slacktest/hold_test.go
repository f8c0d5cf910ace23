package slacktest_test

import (
	"context"
	"testing"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

func TestHold(t *testing.T) {
	tests := []struct {
		name        string
		giveUp      bool // the caller cancels instead of the test releasing
		wantStatus  int
		wantMessage bool
	}{
		{"released call is answered", false, 200, true},
		{"abandoned call changes nothing", true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slacktest.New(t)
			api := newAPI(fake)
			ctx := testContext(t)
			fake.Hold("chat.postMessage", 1)

			callCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, _, err := api.PostMessageContext(callCtx, "C0OPS0001", slack.MsgOptionText("held", false))
				done <- err
			}()
			if err := fake.WaitFor(ctx, func() bool { return fake.Holding() == 1 }); err != nil {
				t.Fatal(err)
			}
			// Other methods, and calls beyond the n held, are not held.
			if _, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("not held", false)); err != nil {
				t.Fatalf("second post: got %v, want it answered while the first is held", err)
			}
			if tt.giveUp {
				cancel()
			} else {
				fake.Release()
			}
			err := <-done
			if gotErr := err != nil; gotErr != tt.giveUp {
				t.Errorf("held call: got error %v, want an error only when the caller gave up", err)
			}
			if err := fake.WaitFor(ctx, func() bool { return fake.Holding() == 0 && len(fake.Calls("chat.postMessage")) == 2 }); err != nil {
				t.Fatal(err)
			}
			if got := fake.Calls("chat.postMessage")[1].Status; got != tt.wantStatus {
				t.Errorf("held call recorded with status %d, want %d", got, tt.wantStatus)
			}
			var held bool
			for _, m := range fake.Messages("C0OPS0001") {
				held = held || m.Text == "held"
			}
			if held != tt.wantMessage {
				t.Errorf("held message posted: got %v, want %v", held, tt.wantMessage)
			}
		})
	}
}
