package slacksocket_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
	"github.com/switchboard-bot/switchboard/slacksocket"
)

// run starts c until the test ends, acknowledging every envelope with an
// empty payload, and returns the lifecycle events it reported.
func run(t *testing.T, c *slacksocket.Client) (runErr <-chan error, lifecycle <-chan socketmode.EventType) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	types := make(chan socketmode.EventType, 64)
	var wg sync.WaitGroup
	wg.Go(func() { errc <- c.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-c.Events():
				if evt.Request != nil && evt.Request.EnvelopeID != "" {
					_ = c.AckCtx(ctx, evt.Request.EnvelopeID, nil)
					continue
				}
				select {
				case types <- evt.Type:
				default:
				}
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return errc, types
}

func newClient(fake *slacktest.Server, appToken string) *slacksocket.Client {
	return slacksocket.New(slack.New(fake.BotToken, slack.OptionAPIURL(fake.URL), slack.OptionAppLevelToken(appToken)))
}

// TestRefreshesOverlap: across refreshes the app always has a live
// connection, and the client never holds more than two.
func TestRefreshesOverlap(t *testing.T) {
	fake := slacktest.New(t)
	fake.SetRefresh(300*time.Millisecond, time.Second)
	fake.SetConnectLatency(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c := newClient(fake, fake.AppToken)
	run(t, c)
	if err := fake.WaitFor(ctx, func() bool { return fake.Refreshes() >= 3 }); err != nil {
		t.Fatal(err)
	}
	if gap := fake.LongestGap(); gap != 0 {
		t.Errorf("longest time without a connection: %v, want none", gap)
	}
	if got := fake.PeakConnections(); got > 2 {
		t.Errorf("held %d connections at once, want at most 2", got)
	}
	if !c.Connected() {
		t.Errorf("Connected() = false after the refreshes")
	}
}

// TestRefusedToken: a token Slack refuses ends RunContext with an error
// and an invalid_auth event, without retrying.
func TestRefusedToken(t *testing.T) {
	fake := slacktest.New(t)
	c := newClient(fake, "xapp-1-wrong")
	errc, types := run(t, c)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("RunContext returned nil for a refused token")
		}
	case <-ctx.Done():
		t.Fatal("RunContext still retrying a refused token")
	}
	for sawInvalidAuth := false; !sawInvalidAuth; {
		select {
		case typ := <-types:
			sawInvalidAuth = typ == socketmode.EventTypeInvalidAuth
		case <-ctx.Done():
			t.Fatal("no invalid_auth event")
		}
	}
	if got := len(fake.Calls("apps.connections.open")); got != 1 {
		t.Errorf("apps.connections.open called %d times, want once", got)
	}
}

// TestAckWithoutConnection: an ack with no connection up waits, and fails
// when its context ends.
func TestAckWithoutConnection(t *testing.T) {
	fake := slacktest.New(t)
	c := newClient(fake, fake.AppToken)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := c.AckCtx(ctx, "E1", nil); !errors.Is(err, slacksocket.ErrNotConnected) {
		t.Errorf("got %v, want ErrNotConnected", err)
	}
}

// TestOversizedAck: an ack Slack would drop silently is refused.
func TestOversizedAck(t *testing.T) {
	fake := slacktest.New(t)
	c := newClient(fake, fake.AppToken)
	big := map[string]string{"text": string(make([]byte, 21*1024))}
	if err := c.AckCtx(t.Context(), "E1", big); err == nil {
		t.Error("a 21 KiB ack was accepted")
	}
}

// TestAckCarriesItsPayload: an answer already encoded reaches Slack as it
// was, in the envelope's ack.
func TestAckCarriesItsPayload(t *testing.T) {
	fake := slacktest.New(t)
	c := newClient(fake, fake.AppToken)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.RunContext(runCtx) }()
	defer func() { stop(); <-done }()
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case evt := <-c.Events():
				if evt.Type == socketmode.EventTypeSlashCommand {
					_ = c.AckCtx(runCtx, evt.Request.EnvelopeID, json.RawMessage(`{"text":"a \"quoted\" answer"}`))
				}
			}
		}
	}()
	if err := fake.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ack, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim", Text: "help"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Text string }
	if err := json.Unmarshal(ack.Payload, &got); err != nil || got.Text != `a "quoted" answer` {
		t.Errorf("ack payload %s (%v), want the answer as sent", ack.Payload, err)
	}
}
