package slacktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// testContext bounds a test's waits.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newAPI returns a slack-go Web API client pointed at the fake.
func newAPI(fake *slacktest.Server) *slack.Client {
	return slack.New(fake.BotToken, slack.OptionAPIURL(fake.URL), slack.OptionAppLevelToken(fake.AppToken))
}

// bot is a slack-go socket-mode client connected to the fake, standing in for
// the bot: it acks every request with what handle returns.
type bot struct {
	api    *slack.Client
	hellos chan struct{}
}

// startRecordingBot starts a bot that acknowledges every event with an
// empty payload and hands the event to the returned channel.
func startRecordingBot(t *testing.T, fake *slacktest.Server) <-chan socketmode.Event {
	t.Helper()
	events := make(chan socketmode.Event, 1)
	startBot(t, fake, func(evt socketmode.Event) any {
		events <- evt
		return nil
	})
	return events
}

func startBot(t *testing.T, fake *slacktest.Server, handle func(socketmode.Event) any) *bot {
	t.Helper()
	b := &bot{api: newAPI(fake), hellos: make(chan struct{}, 16)}
	client := socketmode.New(b.api)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = client.RunContext(ctx) })
	wg.Go(func() {
		for {
			var evt socketmode.Event
			select {
			case <-ctx.Done():
				return
			case evt = <-client.Events:
			}
			switch evt.Type {
			case socketmode.EventTypeHello:
				b.hellos <- struct{}{}
			case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
				var payload any
				if handle != nil {
					payload = handle(evt)
				}
				_ = client.Ack(*evt.Request, payload)
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return b
}

// waitHellos waits until the bot has received n hello messages in all.
func (b *bot) waitHellos(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-b.hellos:
		case <-ctx.Done():
			t.Fatalf("got %d hello messages, want %d", i, n)
		}
	}
}

// receive returns the next value from ch, failing the test when ctx ends first.
func receive[T any](ctx context.Context, t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		var zero T
		t.Fatalf("nothing received: %v", ctx.Err())
		return zero
	}
}

// dialRaw opens a socket-mode connection with a bare websocket client, to see
// the frames on the wire.
func dialRaw(ctx context.Context, t *testing.T, fake *slacktest.Server) *websocket.Conn {
	t.Helper()
	_, wsURL, err := newAPI(fake).StartSocketModeContext(ctx)
	if err != nil {
		t.Fatalf("apps.connections.open: %v", err)
	}
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	return conn
}

func assertJSONEqual(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if !sameJSON(got, []byte(want)) {
		t.Errorf("%s: got %s, want %s", what, got, want)
	}
}

// sameJSON reports whether a and b are valid JSON for the same value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xa) == string(yb)
}

func TestRawProtocol(t *testing.T) {
	fake := slacktest.New(t)
	ctx := testContext(t)
	conn := dialRaw(ctx, t, fake)
	pinged := make(chan string, 16)
	conn.SetPingHandler(func(data string) error {
		select {
		case pinged <- data:
		default:
		}
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})

	var hello struct {
		Type           string `json:"type"`
		NumConnections int    `json:"num_connections"`
		ConnectionInfo struct {
			AppID string `json:"app_id"`
		} `json:"connection_info"`
	}
	if err := conn.ReadJSON(&hello); err != nil {
		t.Fatalf("read hello: %v", err)
	}
	if hello.Type != "hello" || hello.NumConnections != 1 || hello.ConnectionInfo.AppID != fake.AppID {
		t.Errorf("got hello %+v, want type hello, 1 connection, app %s", hello, fake.AppID)
	}
	if err := fake.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}

	type result struct {
		ack slacktest.Ack
		err error
	}
	done := make(chan result, 1)
	go func() {
		ack, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/fmu", Text: "private", UserID: "U0AAAAAAA", ChannelID: "C0OPS0001"})
		done <- result{ack, err}
	}()
	var env struct {
		EnvelopeID             string             `json:"envelope_id"`
		Type                   string             `json:"type"`
		AcceptsResponsePayload bool               `json:"accepts_response_payload"`
		Payload                slack.SlashCommand `json:"payload"`
	}
	// Reading also answers the pings that arrive meanwhile.
	if err := conn.ReadJSON(&env); err != nil {
		t.Fatalf("read envelope: %v", err)
	}
	if env.EnvelopeID == "" || env.Type != "slash_commands" || !env.AcceptsResponsePayload {
		t.Errorf("got envelope id %q type %q accepts_response_payload %v, want an id, slash_commands, true",
			env.EnvelopeID, env.Type, env.AcceptsResponsePayload)
	}
	if env.Payload.Command != "/fmu" || env.Payload.Text != "private" || env.Payload.TeamID != fake.TeamID {
		t.Errorf("got payload %+v, want /fmu private in team %s", env.Payload, fake.TeamID)
	}
	if err := conn.WriteJSON(map[string]any{"envelope_id": env.EnvelopeID, "payload": map[string]string{"text": "done"}}); err != nil {
		t.Fatalf("write ack: %v", err)
	}
	res := receive(ctx, t, done)
	if res.err != nil {
		t.Fatalf("SlashCommand: %v", res.err)
	}
	if res.ack.EnvelopeID != env.EnvelopeID {
		t.Errorf("got ack for %q, want %q", res.ack.EnvelopeID, env.EnvelopeID)
	}
	assertJSONEqual(t, "ack payload", res.ack.Payload, `{"text":"done"}`)

	// From here on a reader answers pings while the test waits for them.
	type read struct {
		data []byte
		err  error
	}
	reads := make(chan read, 16)
	var reader sync.WaitGroup
	reader.Go(func() {
		for {
			_, data, err := conn.ReadMessage()
			reads <- read{data, err}
			if err != nil {
				return
			}
		}
	})
	t.Cleanup(func() {
		_ = conn.Close()
		reader.Wait()
	})
	if got := receive(ctx, t, pinged); got == "" {
		t.Errorf("got ping payload %q, want a non-empty one", got)
	}
	if err := fake.WaitFor(ctx, func() bool { return fake.Pongs() > 0 }); err != nil {
		t.Errorf("no pong recorded: %v", err)
	}

	fake.Disconnect("refresh_requested")
	if got := fake.Connections(); got != 0 {
		t.Errorf("got %d connections after Disconnect, want 0", got)
	}
	r := receive(ctx, t, reads)
	if r.err != nil {
		t.Fatalf("read disconnect: %v", r.err)
	}
	assertJSONEqual(t, "disconnect", r.data, `{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"slacktest"}}`)
	if r = receive(ctx, t, reads); !websocket.IsCloseError(r.err, websocket.CloseNormalClosure) {
		t.Errorf("after disconnect got %v, want a normal close", r.err)
	}
}

func TestSocketURLIsSingleUse(t *testing.T) {
	fake := slacktest.New(t)
	ctx := testContext(t)
	_, wsURL, err := newAPI(fake).StartSocketModeContext(ctx)
	if err != nil {
		t.Fatalf("apps.connections.open: %v", err)
	}
	if !strings.HasPrefix(wsURL, "ws://127.0.0.1:") {
		t.Errorf("got socket URL %q, want a ws:// URL on loopback", wsURL)
	}
	first, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("first dial: %v", err)
	}
	_ = resp.Body.Close()
	defer first.Close()
	_, resp, err = websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err == nil {
		t.Fatal("second dial with the same URL: got a connection, want a refusal")
	}
	if resp == nil || resp.StatusCode != 401 {
		t.Errorf("second dial: got response %v, want status 401", resp)
	}
}

func TestSlashCommand(t *testing.T) {
	fake := slacktest.New(t)
	fake.SetChannel("C0OPS0001", "ops")
	fake.SetUser(slack.User{ID: "U0AAAAAAA", Name: "alice"})
	events := make(chan socketmode.Event, 1)
	b := startBot(t, fake, func(evt socketmode.Event) any {
		events <- evt
		return map[string]string{"response_type": "ephemeral", "text": "usage: /sim status <id>"}
	})
	ctx := testContext(t)
	if err := fake.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	b.waitHellos(ctx, t, 1)

	ack, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim", Text: "help", UserID: "U0AAAAAAA", ChannelID: "C0OPS0001"})
	if err != nil {
		t.Fatalf("SlashCommand: %v", err)
	}
	evt := receive(ctx, t, events)
	if evt.Type != socketmode.EventTypeSlashCommand {
		t.Fatalf("got event type %q, want %q", evt.Type, socketmode.EventTypeSlashCommand)
	}
	cmd, isCmd := evt.Data.(slack.SlashCommand)
	if !isCmd {
		t.Fatalf("got event data %T, want slack.SlashCommand", evt.Data)
	}
	for _, tc := range []struct {
		field, got, want string
	}{
		{"command", cmd.Command, "/sim"},
		{"text", cmd.Text, "help"},
		{"user_id", cmd.UserID, "U0AAAAAAA"},
		{"user_name", cmd.UserName, "alice"},
		{"channel_id", cmd.ChannelID, "C0OPS0001"},
		{"channel_name", cmd.ChannelName, "ops"},
		{"team_id", cmd.TeamID, fake.TeamID},
		{"api_app_id", cmd.APIAppID, fake.AppID},
		{"response_url", cmd.ResponseURL, fake.URL + "response/" + ack.EnvelopeID},
		{"envelope_id", evt.Request.EnvelopeID, ack.EnvelopeID},
	} {
		t.Run(tc.field, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	if cmd.TriggerID == "" {
		t.Error("got an empty trigger_id, want one filled in")
	}
	if !evt.Request.AcceptsResponsePayload {
		t.Error("got accepts_response_payload false, want true for a slash command")
	}
	if ack.ResponseURL != cmd.ResponseURL {
		t.Errorf("got Ack.ResponseURL %q, want %q", ack.ResponseURL, cmd.ResponseURL)
	}
	assertJSONEqual(t, "ack payload", ack.Payload, `{"response_type":"ephemeral","text":"usage: /sim status <id>"}`)
	if ack.Latency <= 0 {
		t.Errorf("got latency %v, want > 0", ack.Latency)
	}
	if err := fake.WaitFor(ctx, func() bool { return fake.Pongs() > 0 }); err != nil {
		t.Errorf("the slack-go client answered no ping: %v", err)
	}
}

func TestBlockAction(t *testing.T) {
	fake := slacktest.New(t)
	events := startRecordingBot(t, fake)
	ctx := testContext(t)
	ack, err := fake.BlockAction(ctx, slack.InteractionCallback{
		User:    slack.User{ID: "U0BBBBBBB"},
		Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "C0OPS0001"}}},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{
			{ActionID: "confirm", BlockID: "confirm-block", Value: "op-123"},
		}},
	})
	if err != nil {
		t.Fatalf("BlockAction: %v", err)
	}
	evt := receive(ctx, t, events)
	if evt.Type != socketmode.EventTypeInteractive {
		t.Fatalf("got event type %q, want %q", evt.Type, socketmode.EventTypeInteractive)
	}
	cb, isCallback := evt.Data.(slack.InteractionCallback)
	if !isCallback {
		t.Fatalf("got event data %T, want slack.InteractionCallback", evt.Data)
	}
	if cb.Type != slack.InteractionTypeBlockActions {
		t.Errorf("got type %q, want %q", cb.Type, slack.InteractionTypeBlockActions)
	}
	if n := len(cb.ActionCallback.BlockActions); n != 1 {
		t.Fatalf("got %d block actions, want 1", n)
	}
	action := cb.ActionCallback.BlockActions[0]
	if action.ActionID != "confirm" || action.Value != "op-123" || action.ActionTs == "" {
		t.Errorf("got action %q value %q ts %q, want confirm, op-123 and a timestamp", action.ActionID, action.Value, action.ActionTs)
	}
	if cb.User.ID != "U0BBBBBBB" || cb.Channel.ID != "C0OPS0001" || cb.Team.ID != fake.TeamID {
		t.Errorf("got user %q channel %q team %q, want U0BBBBBBB, C0OPS0001, %s", cb.User.ID, cb.Channel.ID, cb.Team.ID, fake.TeamID)
	}
	if want := fake.URL + "response/" + ack.EnvelopeID; cb.ResponseURL != want {
		t.Errorf("got response_url %q, want %q", cb.ResponseURL, want)
	}
	if len(ack.Payload) != 0 {
		t.Errorf("got ack payload %s, want none", ack.Payload)
	}
}

func TestEventCallback(t *testing.T) {
	fake := slacktest.New(t)
	events := startRecordingBot(t, fake)
	ctx := testContext(t)
	_, err := fake.EventCallback(ctx, map[string]string{
		"type": "app_mention", "user": "U0AAAAAAA", "text": "<@U0SWBOT00> help",
		"channel": "C0OPS0001", "ts": "1700000000.000100", "event_ts": "1700000000.000100",
	})
	if err != nil {
		t.Fatalf("EventCallback: %v", err)
	}
	evt := receive(ctx, t, events)
	apiEvent, isAPIEvent := evt.Data.(slackevents.EventsAPIEvent)
	if evt.Type != socketmode.EventTypeEventsAPI || !isAPIEvent {
		t.Fatalf("got event %q with %T, want %q with slackevents.EventsAPIEvent", evt.Type, evt.Data, socketmode.EventTypeEventsAPI)
	}
	mention, isMention := apiEvent.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !isMention {
		t.Fatalf("got inner event %T, want *slackevents.AppMentionEvent", apiEvent.InnerEvent.Data)
	}
	if mention.Text != "<@U0SWBOT00> help" || apiEvent.TeamID != fake.TeamID {
		t.Errorf("got text %q team %q, want the mention in team %s", mention.Text, apiEvent.TeamID, fake.TeamID)
	}
}

func TestReconnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(*slacktest.Server)
	}{
		{"disconnect message", func(s *slacktest.Server) { s.Disconnect("refresh_requested") }},
		{"dropped connection", (*slacktest.Server).DropConnections},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := slacktest.New(t)
			b := startBot(t, fake, nil)
			ctx := testContext(t)
			b.waitHellos(ctx, t, 1)

			tc.cut(fake)
			if err := fake.WaitConnected(ctx, 1); err != nil {
				t.Fatalf("client did not reconnect: %v", err)
			}
			b.waitHellos(ctx, t, 1)
			if got := len(fake.Calls("apps.connections.open")); got != 2 {
				t.Errorf("got %d apps.connections.open calls, want 2", got)
			}
			if _, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/fmu", UserID: "U0AAAAAAA"}); err != nil {
				t.Errorf("SlashCommand after reconnect: %v", err)
			}
		})
	}
}

func TestRoundRobin(t *testing.T) {
	fake := slacktest.New(t)
	got := make(chan string, 8)
	for _, name := range []string{"replica-a", "replica-b"} {
		startBot(t, fake, func(socketmode.Event) any {
			got <- name
			return nil
		})
	}
	ctx := testContext(t)
	if err := fake.WaitConnected(ctx, 2); err != nil {
		t.Fatal(err)
	}
	var order []string
	for range 4 {
		if _, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/fmu", UserID: "U0AAAAAAA"}); err != nil {
			t.Fatalf("SlashCommand: %v", err)
		}
		order = append(order, receive(ctx, t, got))
	}
	for i := 1; i < len(order); i++ {
		if order[i] == order[i-1] {
			t.Fatalf("got deliveries %v, want the replicas to take turns", order)
		}
	}
}

func TestRedeliver(t *testing.T) {
	fake := slacktest.New(t)
	requests := make(chan *socketmode.Request, 2)
	startBot(t, fake, func(evt socketmode.Event) any {
		requests <- evt.Request
		return nil
	})
	ctx := testContext(t)
	first, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim", Text: "status 32470000001"})
	if err != nil {
		t.Fatalf("SlashCommand: %v", err)
	}
	second, err := fake.Redeliver(ctx, first.EnvelopeID)
	if err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	if second.EnvelopeID != first.EnvelopeID {
		t.Errorf("got redelivered envelope %q, want %q", second.EnvelopeID, first.EnvelopeID)
	}
	r1, r2 := receive(ctx, t, requests), receive(ctx, t, requests)
	if r1.RetryAttempt != 0 || r2.RetryAttempt != 1 || r2.RetryReason != "timeout" {
		t.Errorf("got retry attempts %d then %d (reason %q), want 0 then 1 (timeout)", r1.RetryAttempt, r2.RetryAttempt, r2.RetryReason)
	}
	if !sameJSON(r1.Payload, r2.Payload) {
		t.Errorf("got payloads %s and %s, want the same payload twice", r1.Payload, r2.Payload)
	}
	if acks := fake.Acks(); len(acks) != 2 || acks[0].EnvelopeID != first.EnvelopeID || acks[1].EnvelopeID != first.EnvelopeID {
		t.Errorf("got acks %+v, want two acks of %s", acks, first.EnvelopeID)
	}
	if _, err := fake.Redeliver(ctx, "no-such-envelope"); err == nil {
		t.Error("Redeliver of an unknown envelope: got no error, want one")
	}
}

func TestDeliverErrors(t *testing.T) {
	t.Run("no socket connected", func(t *testing.T) {
		fake := slacktest.New(t)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/fmu"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want an error wrapping context.DeadlineExceeded", err)
		}
	})
	t.Run("connection lost before the ack", func(t *testing.T) {
		fake := slacktest.New(t)
		ctx := testContext(t)
		conn := dialRaw(ctx, t, fake)
		if err := fake.WaitConnected(ctx, 1); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/fmu"})
			done <- err
		}()
		for { // read hello, then the envelope, and never ack it
			var frame struct {
				Type string `json:"type"`
			}
			if err := conn.ReadJSON(&frame); err != nil {
				t.Fatalf("read: %v", err)
			}
			if frame.Type == "slash_commands" {
				break
			}
		}
		fake.DropConnections()
		err := receive(ctx, t, done)
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want an error saying the connection closed", err)
		}
	})
}

func TestCleanupClosesSockets(t *testing.T) {
	var conn *websocket.Conn
	t.Run("server", func(t *testing.T) {
		fake := slacktest.New(t)
		ctx := testContext(t)
		_, wsURL, err := newAPI(fake).StartSocketModeContext(ctx)
		if err != nil {
			t.Fatalf("apps.connections.open: %v", err)
		}
		c, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		_ = resp.Body.Close()
		conn = c
		if err := fake.WaitConnected(ctx, 1); err != nil {
			t.Fatal(err)
		}
	})
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue // the hello
		}
		var netErr interface{ Timeout() bool }
		if errors.As(err, &netErr) && netErr.Timeout() {
			t.Fatalf("got %v, want the socket closed by the test cleanup", err)
		}
		break
	}
}
