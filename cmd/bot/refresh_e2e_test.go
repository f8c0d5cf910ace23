package main

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// withSlack adjusts the fake Slack before the bot connects to it.
func withSlack(f func(*slacktest.Server)) harnessOption {
	return func(h *harness) { f(h.slack) }
}

// TestSocketRefreshLeavesNoGap runs one replica while Slack refreshes its
// connection three times, with commands sent the whole time: none finds the
// app without a connection (Slack's "dispatch_failed"), none goes
// unacknowledged, and each is answered once.
func TestSocketRefreshLeavesNoGap(t *testing.T) {
	const refreshes = 3
	h := newHarness(t, withSlack(func(s *slacktest.Server) {
		// Each connection is warned 600 ms after it came up and closed 1 s
		// later (Slack warns seconds ahead), and opening one takes as
		// long as on a real network (an API call and a TLS handshake).
		// Refreshes this close together overlap: a connection's warning
		// can come while its predecessor still drains, and the bot holds
		// at most two, so its successor waits for that close.
		s.SetRefresh(600*time.Millisecond, time.Second)
		s.SetConnectLatency(150 * time.Millisecond)
		s.SetStrictDispatch(true)
	}))

	var (
		mu                     sync.Mutex
		sent, lost, unanswered int
		errs                   []error
		envelopes              = map[string]bool{}
	)
	var senders sync.WaitGroup
	for range 2 {
		senders.Go(func() {
			// A command every 5 ms from each sender: far shorter than
			// any gap a reconnection would leave.
			pace := time.NewTicker(5 * time.Millisecond)
			defer pace.Stop()
			for h.ctx.Err() == nil && h.slack.Refreshes() < refreshes {
				<-pace.C
				ack, err := h.slack.SlashCommand(h.ctx, slack.SlashCommand{Command: "/sim", Text: "help", UserID: opsUser, ChannelID: opsChan})
				mu.Lock()
				sent++
				switch {
				case errors.Is(err, slacktest.ErrDispatchFailed):
					lost++
				case err != nil:
					unanswered++
					errs = append(errs, err)
				case len(ack.Payload) == 0:
					unanswered++
					errs = append(errs, errors.New("empty ack for "+ack.EnvelopeID))
				default:
					envelopes[ack.EnvelopeID] = true
				}
				mu.Unlock()
			}
		})
	}
	senders.Wait()
	if err := h.ctx.Err(); err != nil {
		t.Fatalf("%d refreshes did not happen in time: %v", refreshes, err)
	}

	t.Logf("%d commands over %d refreshes; longest gap %v; peak connections %d",
		sent, h.slack.Refreshes(), h.slack.LongestGap(), h.slack.PeakConnections())
	if lost > 0 {
		t.Errorf("%d of %d commands found no connection (dispatch_failed)", lost, sent)
	}
	if unanswered > 0 {
		t.Errorf("%d of %d commands went unacknowledged: %v", unanswered, sent, errs)
	}
	if got := h.slack.DispatchFailures(); got != 0 {
		t.Errorf("the fake counted %d dispatch failures, want 0", got)
	}
	if sent < 10 {
		t.Errorf("only %d commands sent during the refreshes: the test proves little", sent)
	}
	// Each envelope was acknowledged once: a second ack would mean it ran twice.
	acks := map[string]int{}
	for _, a := range h.slack.Acks() {
		acks[a.EnvelopeID]++
	}
	for id, n := range acks {
		if n != 1 {
			t.Errorf("envelope %s acknowledged %d times, want once", id, n)
		}
	}
	if len(envelopes) != sent-lost-unanswered {
		t.Errorf("%d distinct envelopes answered, want %d", len(envelopes), sent-lost-unanswered)
	}
	// A refresh overlaps two connections, never more.
	if got := h.slack.PeakConnections(); got > 2 {
		t.Errorf("the bot held %d connections at once, want at most 2", got)
	}
}

// TestSocketTooManyWebsocketsBacksOff lets the app hold one connection only:
// on each refresh the bot's next connection is refused with
// too_many_websockets until the old one closes. The bot waits before trying
// again rather than hammering Slack, and is connected again afterwards.
func TestSocketTooManyWebsocketsBacksOff(t *testing.T) {
	h := newHarness(t, withSlack(func(s *slacktest.Server) {
		s.SetMaxConnections(1)
		s.SetRefresh(300*time.Millisecond, 1500*time.Millisecond)
	}))
	h.waitFor("a refresh", func() bool { return h.slack.Refreshes() >= 1 })
	h.waitFor("the bot connected again", func() bool {
		return h.slack.Connections() == 1 && h.main.socket.Connected() && h.slack.Refreshes() == 1
	})
	// The warning came 1.5 s before the close: a bot without a pause would
	// have been refused hundreds of times; with one that starts at 2 s it is
	// refused once or twice.
	if got := h.slack.TooManyWebsockets(); got < 1 || got > 3 {
		t.Errorf("refused %d times during one 1.5 s warning, want 1 to 3", got)
	}
}
