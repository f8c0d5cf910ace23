// Package slacksocket keeps a replica connected to Slack in socket mode
// without a gap when Slack refreshes a connection.
//
// Slack refreshes every socket-mode connection from time to time: it sends
// {"type":"disconnect","reason":"warning"} some seconds ahead, then
// "refresh_requested", then closes. It delivers each envelope to any one live
// connection of the app, and a slash command typed while the app has none
// fails for the person who typed it. slack-go's socketmode.Client closes its
// connection as soon as the warning comes and only then opens the next, so a
// lone replica has a gap on every refresh. This Client opens the next
// connection when the warning comes, keeps reading the old one until Slack
// closes it (an envelope delivered there meanwhile is handled and acknowledged
// on it), and holds at most MaxConns connections at once. Slack allows ten
// per app; past that it answers a new connection with "too_many_websockets",
// and the Client waits, longer each time, before it tries again.
//
// Events reach the caller as slack-go's socketmode.Event values, parsed the
// way socketmode.Client parses them, so handlers written for slack-go work
// unchanged. Each envelope is delivered once per time Slack sends it: an
// envelope Slack sends again (its retry after a late ack) comes again, and the
// caller's dedupe (by envelope ID, shared across replicas) decides.
package slacksocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// Defaults for the zero values of Client's fields.
const (
	defaultMaxConns     = 2
	defaultPingTimeout  = 30 * time.Second
	defaultDrainTimeout = 30 * time.Second
	defaultRetryMin     = 500 * time.Millisecond
	defaultRetryMax     = time.Minute
	// tooManyRetryMin is the first pause after "too_many_websockets": the
	// slots are held by other replicas or by connections still draining,
	// which free up in seconds, not milliseconds.
	tooManyRetryMin = 2 * time.Second
	helloTimeout    = 10 * time.Second
	writeTimeout    = 10 * time.Second
	// readLimit bounds one frame from Slack; envelopes are a few KiB.
	readLimit = 4 << 20
	// maxResponseSize is Slack's limit for an acknowledgement: it drops
	// larger ones silently.
	maxResponseSize = 20 * 1024
)

// ErrTooManyWebsockets is the reason Slack gives when the app already holds
// its ten connections.
var ErrTooManyWebsockets = errors.New("slack refused the connection: too_many_websockets")

// ErrNotConnected is returned by AckCtx when no connection comes up before
// its context ends.
var ErrNotConnected = errors.New("slack socket not connected")

// Client holds a replica's socket-mode connections to Slack. Make one with
// New; the zero values of its exported fields mean the defaults. Fields must
// not be changed once RunContext has started.
type Client struct {
	// MaxConns bounds the connections held at once, counting those Slack
	// has asked to refresh and that are draining (default 2: the one being
	// refreshed and its successor).
	MaxConns int
	// PingTimeout is how long a connection may go without a ping or frame
	// from Slack before it is taken for dead (default 30 s; Slack pings
	// every few seconds).
	PingTimeout time.Duration
	// DrainTimeout is how long a connection Slack asked to refresh is kept
	// for the envelopes still reaching it, once its successor is up, before
	// the Client closes it itself (default 30 s; Slack closes it sooner).
	DrainTimeout time.Duration
	// RetryMin and RetryMax bound the pause between failed attempts to
	// connect, which doubles from RetryMin up to RetryMax (defaults 500 ms and
	// one minute). After "too_many_websockets" the pause starts at 2 s.
	RetryMin, RetryMax time.Duration
	// Dialer dials the websocket; nil means a default dialer.
	Dialer *websocket.Dialer
	// Log receives the Client's own lines (a refresh, a refused connection);
	// nil discards them.
	Log *slog.Logger

	api    *slack.Client
	events chan socketmode.Event

	mu sync.Mutex
	// conns are the connections that received hello, oldest first.
	conns []*conn
	// from maps an envelope read and not yet acknowledged to the
	// connection it arrived on: its ack goes back on that one.
	from map[string]*conn
	// changed is closed and replaced whenever a connection comes, goes or
	// is asked to refresh.
	changed chan struct{}
	seq     int
}

// conn is one websocket to Slack.
type conn struct {
	id      int
	ws      *websocket.Conn
	writeMu sync.Mutex // gorilla/websocket allows one writer at a time
	done    chan struct{}
	once    sync.Once
	// retiring is set, under Client.mu, once Slack announced a refresh of
	// this connection; the Client then opens its successor.
	retiring bool
	// unacked counts envelopes read on it whose ack has not been written,
	// under Client.mu.
	unacked int
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// New makes a Client that opens its connections with api, which must carry
// the app-level token (slack.OptionAppLevelToken).
func New(api *slack.Client) *Client {
	return &Client{
		api:     api,
		events:  make(chan socketmode.Event, 64),
		from:    map[string]*conn{},
		changed: make(chan struct{}),
	}
}

// Events is where the Client puts what it reads from Slack, and the
// lifecycle events (socketmode.EventTypeHello when a connection comes up,
// EventTypeDisconnect when the last one went down, EventTypeConnectionError
// while none can be opened, EventTypeInvalidAuth). The caller must read it
// continuously while RunContext runs.
func (c *Client) Events() <-chan socketmode.Event { return c.events }

// Connected reports whether at least one connection to Slack is up.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns) > 0
}

// Live returns how many connections to Slack are up, draining ones included.
func (c *Client) Live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns)
}

func (c *Client) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

func (c *Client) maxConns() int {
	if c.MaxConns <= 0 {
		return defaultMaxConns
	}
	return c.MaxConns
}

// notifyLocked wakes RunContext. c.mu must be held.
func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// RunContext connects and keeps a connection up until ctx ends, opening each
// connection's successor as soon as Slack announces its refresh. It returns
// nil when ctx ends and an error only when Slack refuses the token, after
// every connection has been closed and every reader has stopped.
func (c *Client) RunContext(ctx context.Context) error {
	var readers sync.WaitGroup
	defer func() {
		c.mu.Lock()
		conns := c.conns
		c.mu.Unlock()
		for _, cn := range conns {
			cn.close()
		}
		readers.Wait()
	}()

	var failures int
	var tooMany bool
	for {
		c.mu.Lock()
		changed := c.changed
		active, held := 0, len(c.conns)
		for _, cn := range c.conns {
			if !cn.retiring {
				active++
			}
		}
		c.mu.Unlock()

		if active > 0 || held >= c.maxConns() {
			// Up, or at the bound: wait for a refresh or a close.
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
			}
			continue
		}

		cn, err := c.open(ctx)
		if err == nil {
			failures, tooMany = 0, false
			readers.Go(func() { c.read(ctx, cn) })
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		if fatal(err) {
			c.emit(ctx, socketmode.Event{Type: socketmode.EventTypeInvalidAuth, Data: &slack.InvalidAuthEvent{}})
			return fmt.Errorf("slack socket: %w", err)
		}
		if errors.Is(err, ErrTooManyWebsockets) && !tooMany {
			tooMany, failures = true, 0 // the pause starts over, longer
		}
		failures++
		pause := c.pause(failures, tooMany, err)
		if c.Connected() {
			// The old connection still serves: no one is cut off.
			c.log().Warn("cannot open the next Slack connection yet; the current one still serves",
				"attempt", failures, "err", redact(err), "retry_in", pause.Round(time.Millisecond).String())
		} else {
			c.emit(ctx, socketmode.Event{Type: socketmode.EventTypeConnectionError, Data: &slack.ConnectionErrorEvent{
				Attempt: failures, Backoff: pause, ErrorObj: err,
			}})
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		case <-c.closedOne(changed, tooMany):
			// One of this replica's own connections closed: a slot
			// Slack counts is free, so one try now is no stampede.
			timer.Stop()
		}
	}
}

// closedOne returns changed when a freed slot should cut a pause short (after
// "too_many_websockets"), and nil (never ready) otherwise.
func (c *Client) closedOne(changed chan struct{}, tooMany bool) <-chan struct{} {
	if !tooMany {
		return nil
	}
	return changed
}

// pause is how long to wait after the n-th failed attempt in a row:
// doubling from the minimum, capped, drawn at random in its upper half so that
// replicas refused together do not come back together, and never shorter
// than a Retry-After Slack gave.
func (c *Client) pause(n int, tooMany bool, err error) time.Duration {
	lo, hi := c.RetryMin, c.RetryMax
	if lo <= 0 {
		lo = defaultRetryMin
	}
	if hi <= 0 {
		hi = defaultRetryMax
	}
	if tooMany {
		lo = max(lo, tooManyRetryMin)
	}
	d := hi
	if n < 30 {
		d = min(hi, lo<<(n-1))
	}
	d = d/2 + rand.N(d/2+1) // #nosec G404 -- jitter needs no secret randomness
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		d = max(d, rl.RetryAfter)
	}
	return d
}

// fatal reports whether err means Slack refuses the app token, which no retry
// mends.
func fatal(err error) bool {
	switch err.Error() {
	case "invalid_auth", "account_inactive", "not_authed", "token_revoked":
		return true
	}
	codeErr, ok := errors.AsType[slack.StatusCodeError](err)
	return ok && codeErr.Code == http.StatusNotFound
}

// open asks Slack for a connection URL, dials it and waits for hello. A
// connection Slack refuses with "too_many_websockets" returns
// ErrTooManyWebsockets.
func (c *Client) open(ctx context.Context) (*conn, error) {
	_, url, err := c.api.StartSocketModeContext(ctx)
	if err != nil {
		return nil, err
	}
	dialer := c.Dialer
	if dialer == nil {
		dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: helloTimeout}
	}
	header := http.Header{"Origin": {"https://api.slack.com"}}
	ws, resp, err := dialer.DialContext(ctx, url, header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dial the socket: %w", err)
	}
	ws.SetReadLimit(readLimit)
	cn := &conn{ws: ws, done: make(chan struct{})}
	stop := context.AfterFunc(ctx, cn.close)
	defer stop()

	// The first frame is hello, or a refusal.
	_ = ws.SetReadDeadline(time.Now().Add(helloTimeout))
	var first socketmode.Request
	if err := ws.ReadJSON(&first); err != nil {
		cn.close()
		return nil, fmt.Errorf("wait for hello: %w", err)
	}
	if first.Type == socketmode.RequestTypeDisconnect && first.Reason == "too_many_websockets" {
		cn.close()
		return nil, ErrTooManyWebsockets
	}
	if first.Type != socketmode.RequestTypeHello {
		cn.close()
		return nil, fmt.Errorf("wait for hello: got %q (%s)", first.Type, first.Reason)
	}
	if ctx.Err() != nil {
		cn.close()
		return nil, ctx.Err()
	}
	c.mu.Lock()
	c.seq++
	cn.id = c.seq
	c.conns = append(c.conns, cn)
	held := len(c.conns)
	c.notifyLocked()
	c.mu.Unlock()
	c.log().Debug("slack connection up", "conn", cn.id, "held", held, "app_connections", first.NumConnections)
	c.emit(ctx, socketmode.Event{Type: socketmode.EventTypeHello, Request: &first})
	return cn, nil
}

// read reads cn until it closes, passing envelopes on as events.
func (c *Client) read(ctx context.Context, cn *conn) {
	defer c.drop(ctx, cn)
	timeout := c.PingTimeout
	if timeout <= 0 {
		timeout = defaultPingTimeout
	}
	alive := func() { _ = cn.ws.SetReadDeadline(time.Now().Add(timeout)) }
	alive()
	cn.ws.SetPingHandler(func(data string) error {
		alive()
		err := cn.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			return err
		}
		return nil
	})
	stop := context.AfterFunc(ctx, cn.close)
	defer stop()
	var drain *time.Timer
	defer func() {
		if drain != nil {
			drain.Stop()
		}
	}()
	for {
		_, data, err := cn.ws.ReadMessage()
		if err != nil {
			return
		}
		alive()
		var req socketmode.Request
		if err := json.Unmarshal(data, &req); err != nil {
			c.log().Warn("unreadable frame from Slack ignored", "conn", cn.id, "err", err)
			continue
		}
		if req.Type == socketmode.RequestTypeDisconnect {
			c.log().Info("slack is refreshing a connection; opening its successor", "conn", cn.id, "reason", req.Reason)
			if c.retire(cn) {
				drain = time.AfterFunc(c.drainTimeout(), func() { c.closeDrained(cn) })
			}
			continue
		}
		evt, err := parse(&req)
		if err != nil {
			c.emit(ctx, socketmode.Event{Type: socketmode.EventTypeErrorBadMessage, Data: &socketmode.ErrorBadMessage{Cause: err, Message: data}})
			continue
		}
		if evt == nil {
			continue
		}
		if req.EnvelopeID != "" {
			c.mu.Lock()
			if _, ok := c.from[req.EnvelopeID]; !ok {
				cn.unacked++
			}
			c.from[req.EnvelopeID] = cn
			c.mu.Unlock()
		}
		c.emit(ctx, *evt)
	}
}

func (c *Client) drainTimeout() time.Duration {
	if c.DrainTimeout <= 0 {
		return defaultDrainTimeout
	}
	return c.DrainTimeout
}

// retire marks cn as being refreshed, and reports whether it was not yet.
func (c *Client) retire(cn *conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cn.retiring {
		return false
	}
	cn.retiring = true
	c.notifyLocked()
	return true
}

// closeDrained closes a connection Slack asked to refresh and did not close
// itself, once its acks are written (a late ack goes on another connection).
func (c *Client) closeDrained(cn *conn) {
	c.mu.Lock()
	unacked := cn.unacked
	c.mu.Unlock()
	c.log().Info("closing a refreshed Slack connection Slack left open", "conn", cn.id, "unacked", unacked)
	cn.writeMu.Lock()
	_ = cn.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, "refreshed"), time.Now().Add(time.Second))
	cn.writeMu.Unlock()
	cn.close()
}

// drop forgets a closed connection.
func (c *Client) drop(ctx context.Context, cn *conn) {
	cn.close()
	c.mu.Lock()
	for i, x := range c.conns {
		if x == cn {
			c.conns = append(c.conns[:i:i], c.conns[i+1:]...)
			break
		}
	}
	for id, x := range c.from {
		if x == cn {
			// Its ack, if it comes, goes on another connection.
			delete(c.from, id)
		}
	}
	left := len(c.conns)
	c.notifyLocked()
	c.mu.Unlock()
	if left == 0 && ctx.Err() == nil {
		c.emit(ctx, socketmode.Event{Type: socketmode.EventTypeDisconnect})
	}
}

// emit hands evt to the caller, unless ctx ends first.
func (c *Client) emit(ctx context.Context, evt socketmode.Event) {
	select {
	case c.events <- evt:
	case <-ctx.Done():
	}
}

// AckCtx acknowledges an envelope, with payload when it is not nil, on the
// connection the envelope came on; when that one has closed, on the newest
// connection up, waiting for one until ctx ends.
func (c *Client) AckCtx(ctx context.Context, envelopeID string, payload any) error {
	js, err := encodeAck(envelopeID, payload)
	if err != nil {
		return fmt.Errorf("encode the ack: %w", err)
	}
	if len(js) >= maxResponseSize {
		return fmt.Errorf("ack of %d bytes: Slack drops acks of %d bytes or more", len(js), maxResponseSize)
	}
	for {
		c.mu.Lock()
		cn, ok := c.from[envelopeID]
		if ok {
			delete(c.from, envelopeID)
			cn.unacked--
		} else if n := len(c.conns); n > 0 {
			cn = c.conns[n-1]
		}
		changed := c.changed
		c.mu.Unlock()
		if cn == nil {
			select {
			case <-ctx.Done():
				return fmt.Errorf("ack %s: %w", envelopeID, ErrNotConnected)
			case <-changed:
				continue
			}
		}
		cn.writeMu.Lock()
		err := cn.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err == nil {
			err = cn.ws.WriteMessage(websocket.TextMessage, js)
		}
		cn.writeMu.Unlock()
		if err == nil {
			return nil
		}
		cn.close() // its reader drops it; the next turn picks another
		if ctx.Err() != nil {
			return fmt.Errorf("ack %s: %w", envelopeID, err)
		}
	}
}

// encodeAck is the frame that acknowledges an envelope. A payload already
// encoded (json.RawMessage, as a slash command's answer is) is copied in as
// it is rather than checked and compacted a second time.
func encodeAck(envelopeID string, payload any) ([]byte, error) {
	raw, ok := payload.(json.RawMessage)
	if !ok || len(raw) == 0 {
		return json.Marshal(socketmode.Response{EnvelopeID: envelopeID, Payload: payload})
	}
	id, err := json.Marshal(envelopeID)
	if err != nil {
		return nil, err
	}
	js := make([]byte, 0, len(`{"envelope_id":,"payload":}`)+len(id)+len(raw))
	js = append(js, `{"envelope_id":`...)
	js = append(js, id...)
	js = append(js, `,"payload":`...)
	js = append(js, raw...)
	return append(js, '}'), nil
}

// parse turns an envelope into the event slack-go's socketmode.Client would
// make of it; nil for frames that are not envelopes (a second hello).
func parse(req *socketmode.Request) (*socketmode.Event, error) {
	var evt socketmode.Event
	switch req.Type {
	case socketmode.RequestTypeHello:
		return nil, nil
	case socketmode.RequestTypeEventsAPI:
		e, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
		if err != nil {
			return nil, fmt.Errorf("parse an Events API event: %w", err)
		}
		evt = socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: e}
	case socketmode.RequestTypeSlashCommands:
		var cmd slack.SlashCommand
		if err := json.Unmarshal(req.Payload, &cmd); err != nil {
			return nil, fmt.Errorf("parse a slash command: %w", err)
		}
		evt = socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd}
	case socketmode.RequestTypeInteractive:
		var cb slack.InteractionCallback
		if err := json.Unmarshal(req.Payload, &cb); err != nil {
			return nil, fmt.Errorf("parse an interaction: %w", err)
		}
		evt = socketmode.Event{Type: socketmode.EventTypeInteractive, Data: cb}
	default:
		return nil, fmt.Errorf("unsupported envelope type %q", req.Type)
	}
	evt.Request = req
	return &evt, nil
}

// urlSecret matches the query values of a URL that can carry a credential,
// such as the ticket in the websocket URL Slack hands out.
var urlSecret = regexp.MustCompile(`([?&](?:ticket|token|access_token|key)=)[^&\s"']+`)

// redact is err's text with the credentials in URLs hidden, for the log.
func redact(err error) string { return urlSecret.ReplaceAllString(err.Error(), "${1}REDACTED") }
