package slacktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// frame is the part of a socket-mode frame these tests read.
type frame struct {
	Type       string `json:"type"`
	Reason     string `json:"reason"`
	EnvelopeID string `json:"envelope_id"`
}

// readFrames reads conn until it closes, passing each frame on.
func readFrames(conn *websocket.Conn, frames chan<- frame) {
	defer close(frames)
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var f frame
		if json.Unmarshal(data, &f) == nil {
			frames <- f
		}
	}
}

// TestRefreshAsSlackDoesIt: a socket up for the refresh period gets a
// warning, keeps receiving envelopes until refresh_requested, then none, and
// is closed once the envelope it had is acknowledged.
func TestRefreshAsSlackDoesIt(t *testing.T) {
	fake := slacktest.New(t)
	ctx := testContext(t)
	fake.SetRefresh(100*time.Millisecond, 300*time.Millisecond)
	fake.SetStrictDispatch(true)
	conn := dialRaw(ctx, t, fake)
	frames := make(chan frame, 16)
	go readFrames(conn, frames)
	if f := receive(ctx, t, frames); f.Type != "hello" {
		t.Fatalf("first frame %q, want hello", f.Type)
	}
	if f := receive(ctx, t, frames); f.Type != "disconnect" || f.Reason != "warning" {
		t.Fatalf("got %+v, want a disconnect warning", f)
	}

	// Between the warning and refresh_requested the socket still serves.
	acked := make(chan error, 1)
	go func() {
		_, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim", Text: "help"})
		acked <- err
	}()
	f := receive(ctx, t, frames)
	if f.Type != "slash_commands" {
		t.Fatalf("got %+v after the warning, want the slash command", f)
	}
	if f2 := receive(ctx, t, frames); f2.Type != "disconnect" || f2.Reason != "refresh_requested" {
		t.Fatalf("got %+v, want refresh_requested", f2)
	}
	// From refresh_requested on, an envelope finds no socket.
	if _, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim", Text: "help"}); !errors.Is(err, slacktest.ErrDispatchFailed) {
		t.Errorf("command after refresh_requested: got %v, want ErrDispatchFailed", err)
	}
	if got := fake.DispatchFailures(); got != 1 {
		t.Errorf("DispatchFailures() = %d, want 1", got)
	}
	// The socket stays open for the ack it owes.
	if err := conn.WriteJSON(map[string]string{"envelope_id": f.EnvelopeID}); err != nil {
		t.Fatal(err)
	}
	if err := receive(ctx, t, acked); err != nil {
		t.Errorf("command delivered before refresh_requested: %v", err)
	}
	for range frames { // then Slack closes it
	}
	if err := fake.WaitFor(ctx, func() bool { return fake.Connections() == 0 }); err != nil {
		t.Fatal(err)
	}
	if gap := fake.LongestGap(); gap <= 0 {
		t.Errorf("LongestGap() = %v after the only socket closed, want > 0", gap)
	}
}

// TestTooManyWebsockets: a socket past the app's limit gets
// too_many_websockets instead of hello, and is closed.
func TestTooManyWebsockets(t *testing.T) {
	fake := slacktest.New(t)
	ctx := testContext(t)
	fake.SetMaxConnections(2)
	for range 2 {
		dialRaw(ctx, t, fake)
	}
	if err := fake.WaitConnected(ctx, 2); err != nil {
		t.Fatal(err)
	}
	conn := dialRaw(ctx, t, fake)
	var f frame
	if err := conn.ReadJSON(&f); err != nil {
		t.Fatal(err)
	}
	if f.Type != "disconnect" || f.Reason != "too_many_websockets" {
		t.Errorf("third socket got %+v, want a too_many_websockets disconnect", f)
	}
	if _, _, err := conn.ReadMessage(); err == nil {
		t.Errorf("third socket still open")
	}
	if got := fake.TooManyWebsockets(); got != 1 {
		t.Errorf("TooManyWebsockets() = %d, want 1", got)
	}
	if got := fake.Connections(); got != 2 {
		t.Errorf("Connections() = %d, want 2", got)
	}
}

// TestDispatchFailuresCountedWhileWaiting: without strict dispatch an
// envelope waits for a socket, and still counts as one Slack would have
// failed.
func TestDispatchFailuresCountedWhileWaiting(t *testing.T) {
	fake := slacktest.New(t)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a wait that ends with the context", err)
	}
	if got := fake.DispatchFailures(); got != 1 {
		t.Errorf("DispatchFailures() = %d, want 1", got)
	}
}
