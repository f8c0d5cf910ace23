package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
	"github.com/switchboard-bot/switchboard/state"
)

// TestMain runs the package's parallel tests four at a time per core
// unless -parallel says otherwise: they spend their time waiting on the
// fakes, Redis and the bot's own timers, not on the processor, so running
// only one per core (go test's default) leaves the machine idle.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(4*runtime.GOMAXPROCS(0)))
	}
	redistest.Main(m)
}

// Test users and channels. The policy below gives them their roles.
const (
	opsUser   = "U0OPS00001" // sim-operators: read, activate, deactivate, reactivate
	opsUser2  = "U0OPS00002" // also a sim operator
	guestUser = "U0GUEST001" // no SIM permission
	groupUser = "U0GROUP001" // sim.read through user group S0SIMREAD1
	opsChan   = "C0OPS00001"
	otherChan = "C0OTHER001"
)

const testPolicy = `roles:
  - name: sim-operators
    members: [` + opsUser + `, ` + opsUser2 + `]
    permissions: [sim.read, sim.activate, sim.deactivate, sim.reactivate]
  - name: sim-readers
    members: [S0SIMREAD1]
    permissions: [sim.read]
  - name: everyone
    members: ["*"]
    permissions: [fmu.self]
`

// syncBuffer collects the bot's log output safely across goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness runs the real Main against the fake Slack, the EnCo sandbox and
// real Redis, wired through the same Config as production.
type harness struct {
	t      *testing.T
	ctx    context.Context
	slack  *slacktest.Server
	enco   *sandbox.Sandbox
	main   *Main
	logs   *syncBuffer
	cfg    Config
	prefix string
	// store reads the bot's state through a client of its own, so that it
	// still answers after the bot has shut down.
	store *state.Store
	stop  func(t *testing.T)
	// beforeRun adjusts the opened Main before it starts serving.
	beforeRun []func(*Main)
	// commands adjust the commands' configuration before they are wired.
	commands []func(*commands.Config)
	// listener is the bot's HTTP listener, bound before it starts.
	listener net.Listener
}

// withCommands adjusts the commands' configuration before they are wired.
func withCommands(f func(*commands.Config)) harnessOption {
	return func(h *harness) { h.commands = append(h.commands, f) }
}

// adjustCommands applies the withCommands options.
func (h *harness) adjustCommands(c *commands.Config) {
	for _, f := range h.commands {
		f(c)
	}
}

// withMain adjusts the opened Main before it serves (race-free: nothing runs yet).
func withMain(f func(*Main)) harnessOption {
	return func(h *harness) { h.beforeRun = append(h.beforeRun, f) }
}

type harnessOption func(*harness)

func withPolicy(yaml string) harnessOption {
	return func(h *harness) {
		if yaml == "" {
			h.cfg.PolicyFile = ""
			return
		}
		path := filepath.Join(h.t.TempDir(), "policy.yml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			h.t.Fatal(err)
		}
		h.cfg.PolicyFile = path
	}
}

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	_, prefix := redistest.New(t)
	h := newFakes(t, ctx, prefix)
	h.listen()
	withPolicy(testPolicy)(h)
	for _, o := range opts {
		o(h)
	}
	h.start()
	return h
}

// newFakes makes the fake Slack and the EnCo sandbox, and the configuration
// that points a bot at them and at the real Redis, as an operator would.
func newFakes(t *testing.T, ctx context.Context, prefix string) *harness {
	h := &harness{t: t, ctx: ctx, slack: slacktest.New(t), enco: sandbox.New(t), logs: &syncBuffer{}, prefix: prefix}
	h.slack.SetUserGroup("S0SIMREAD1", groupUser)
	// The app has the scopes its manifest asks for, and no others.
	h.slack.GrantScopes(manifestBotScopes(t)...)
	h.cfg = Config{
		SlackBotToken:     h.slack.BotToken,
		SlackAppToken:     h.slack.AppToken,
		SlackAPIURL:       h.slack.URL,
		EncoBaseURL:       h.enco.URL,
		EncoClientID:      h.enco.ClientID,
		EncoClientSecret:  h.enco.ClientSecret,
		EncoM2MAPIKey:     h.enco.APIKey,
		RedisURL:          "redis://" + redistest.Addr(t) + "/0",
		CallbackSecret:    "test-callback-secret-0123456789",
		SlackPostInterval: 20 * time.Millisecond,
		LogLevel:          "debug",
		LogFormat:         "json",
	}
	h.useRedis(h.cfg.RedisURL)
	return h
}

// useRedis points the bot and the test's own store client at the Redis at
// url (redis://host:port/db).
func (h *harness) useRedis(url string) {
	h.t.Helper()
	h.cfg.RedisURL = url
	opts, err := redis.ParseURL(url)
	if err != nil {
		h.t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	h.t.Cleanup(func() { _ = rdb.Close() })
	h.store = state.New(rdb, h.prefix)
}

// runMain serves m until the returned stop ends it the way SIGTERM does;
// stop fails the test when Run errs or does not return within 20 s.
func runMain(ctx context.Context, m *Main) (stop func(t *testing.T)) {
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- m.Run(runCtx) }()
	var once sync.Once
	return func(t *testing.T) {
		once.Do(func() {
			cancel()
			select {
			case err := <-stopped:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("Run did not return within 20 s of its context ending")
			}
			m.Close()
		})
	}
}

func (h *harness) start() {
	t := h.t
	t.Helper()
	h.main = &Main{Config: h.cfg, Listener: h.listener, LogOutput: h.logs, KeyPrefix: h.prefix, Commands: h.adjustCommands}
	if err := h.main.Open(h.ctx); err != nil {
		h.main.Close()
		t.Fatalf("Open: %v", err)
	}
	for _, f := range h.beforeRun {
		f(h.main)
	}
	h.stop = runMain(h.ctx, h.main)
	t.Cleanup(h.shutdown)
	if err := h.slack.WaitConnected(h.ctx, 1); err != nil {
		t.Fatalf("bot did not connect to Slack: %v\nlogs:\n%s", err, h.logs)
	}
	h.waitFor("the bot to report itself healthy", func() bool { return h.main.socket.Connected() })
	// The bot configures its M2M callback URL at start-up.
	h.waitFor("M2M callback configured", func() bool {
		for _, r := range h.enco.Requests() {
			if r.Path == "/m2m/1.0.0/configure/callback" {
				return true
			}
		}
		return false
	})
}

func (h *harness) shutdown() { h.stop(h.t) }

// listen binds the bot's HTTP listener on a port of its own, and points
// HTTP_ADDR and PUBLIC_URL at it.
func (h *harness) listen() {
	h.t.Helper()
	h.listener = listenLoopback(h.t)
	h.cfg.HTTPAddr = h.listener.Addr().String()
	h.cfg.PublicURL = "http://" + h.cfg.HTTPAddr
}

// listenLoopback binds 127.0.0.1:0 for a bot's HTTP server, closed at the
// end of the test if the bot has not taken it.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// command sends a slash command through the socket and returns the ack.
func (h *harness) command(user, channel, text string) (slacktest.Ack, ackReply) {
	h.t.Helper()
	cmd, rest, _ := strings.Cut(text, " ")
	ack, err := h.slack.SlashCommand(h.ctx, slack.SlashCommand{Command: cmd, Text: rest, UserID: user, ChannelID: channel})
	if err != nil {
		h.t.Fatalf("slash command %q: %v", text, err)
	}
	var r ackReply
	if len(ack.Payload) > 0 {
		if err := json.Unmarshal(ack.Payload, &r); err != nil {
			h.t.Fatalf("ack payload %s: %v", ack.Payload, err)
		}
	}
	return ack, r
}

// ackReply is the slash-command acknowledgement payload.
type ackReply struct {
	ResponseType string          `json:"response_type"`
	Text         string          `json:"text"`
	Blocks       json.RawMessage `json:"blocks"`
}

// button finds a button's value in the ack's blocks.
func (r ackReply) button(t *testing.T, actionID string) string {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(r.Blocks, &blocks); err != nil {
		t.Fatalf("blocks %s: %v", r.Blocks, err)
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value
			}
		}
	}
	t.Fatalf("no %q button in %s", actionID, r.Blocks)
	return ""
}

// click sends a button click and returns its ack (whose ResponseURL the bot answers through).
func (h *harness) click(user, channel, actionID, value string) slacktest.Ack {
	h.t.Helper()
	cb := slack.InteractionCallback{
		Type:    slack.InteractionTypeBlockActions,
		User:    slack.User{ID: user},
		Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: channel}}},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{
			ActionID: actionID, Value: value, BlockID: "confirm:" + value,
		}}},
	}
	ack, err := h.slack.BlockAction(h.ctx, cb)
	if err != nil {
		h.t.Fatalf("click %s: %v", actionID, err)
	}
	return ack
}

// waitFor waits until cond holds, re-checking whenever the fake Slack records a call.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 15*time.Second)
	defer cancel()
	eventually(h.t, ctx, what, cond, func() string { return "logs:\n" + h.logs.String() })
}

// tracked waits until the operation the callback token names has stored
// what EnCo answered its request with (an M2M tracking number, a call's
// session id): from then on its callbacks are recorded, not parked.
func (h *harness) tracked(what, token string) {
	h.t.Helper()
	h.waitFor(what, func() bool {
		op, ok := h.operationOfToken(token)
		if ok && op.Params.Batch > 0 {
			// Sent in batches: every request's tracking number is stored.
			s, err := h.store.SendingOf(h.ctx, op.ID, "")
			return err == nil && s.AllSent
		}
		return ok && (op.Params.Tracking != "" || op.Params.Session != "")
	})
}

// operationOfToken reads the operation a callback token names from the store.
func (h *harness) operationOfToken(token string) (switchboard.Operation, bool) {
	id, ok, err := h.store.OperationForToken(h.ctx, token)
	if err != nil || !ok {
		return switchboard.Operation{}, false
	}
	op, ok, err := h.store.Operation(h.ctx, id)
	return op, err == nil && ok
}

// callbackToken returns the token a sandbox callback carries: M2M's
// X-Callback-Token header, or the last element of an FMU or call callback's
// URL path.
func callbackToken(cb sandbox.Callback) string {
	if tok := cb.Header.Get("X-Callback-Token"); tok != "" {
		return tok
	}
	return cb.URL[strings.LastIndexByte(cb.URL, '/')+1:]
}

// m2mCallback is an M2M callback the sandbox made, with what identifies it.
type m2mCallback struct {
	sandbox.Callback
	Token, Tracking string
}

// trackedM2M waits until the sandbox has made n M2M callbacks and the bot has
// stored each one's tracking number, and returns them, oldest first.
func (h *harness) trackedM2M(n int) []m2mCallback {
	h.t.Helper()
	var out []m2mCallback
	h.waitFor(fmt.Sprintf("%d M2M callbacks made", n), func() bool {
		out = out[:0]
		for _, c := range h.enco.Callbacks() {
			if c.Kind != "m2m" {
				continue
			}
			var body struct{ TrackingNumber string }
			if err := json.Unmarshal(c.Body, &body); err != nil {
				h.t.Fatalf("sandbox M2M callback %s: %v", c.Body, err)
			}
			out = append(out, m2mCallback{Callback: c, Token: c.Header.Get("X-Callback-Token"), Tracking: body.TrackingNumber})
		}
		return len(out) >= n
	})
	for _, c := range out {
		h.tracked("the tracking number stored", c.Token)
	}
	return out
}

// encoCalls returns the sandbox requests whose path starts with prefix.
func (h *harness) encoCalls(prefix string) []sandbox.Request {
	var out []sandbox.Request
	for _, r := range h.enco.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// answerCase is a command and the words its answer must contain.
type answerCase struct {
	name, user, text string
	want             []string
}

// wantAnswers sends each command in channel and checks its answer.
func (h *harness) wantAnswers(t *testing.T, channel string, cases []answerCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, reply := h.command(tt.user, channel, tt.text)
			for _, w := range tt.want {
				if !strings.Contains(reply.Text, w) {
					t.Errorf("answer = %q, want it to mention %q", reply.Text, w)
				}
			}
		})
	}
}
