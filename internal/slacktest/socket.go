package slacktest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// writeTimeout bounds every websocket write, so a client that stopped reading
// cannot block the fake.
const writeTimeout = 5 * time.Second

// Ack is a client's acknowledgement of one envelope.
type Ack struct {
	// EnvelopeID is the envelope acknowledged.
	EnvelopeID string
	// Payload is the payload the client sent with the ack (a slash command's
	// reply, for instance); nil when it sent none.
	Payload json.RawMessage
	// Latency is the time from sending the envelope to receiving the ack.
	Latency time.Duration
	// ResponseURL is the response URL the envelope carried, if any.
	ResponseURL string
}

// envelope is one socket-mode message the fake delivered; Redeliver sends it
// again.
type envelope struct {
	id          string
	typ         string
	payload     json.RawMessage
	accepts     bool
	responseURL string
	attempts    int
}

// envelopeFrame is the wire form of an envelope.
type envelopeFrame struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// ackWaiter is a delivery waiting for its ack.
type ackWaiter struct {
	sentAt time.Time
	conn   *socketConn // the socket the envelope went to
	ch     chan Ack    // buffered, receives at most one Ack
}

// socketConn is one socket-mode connection.
type socketConn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex // gorilla/websocket allows one writer at a time
	done    chan struct{}
	once    sync.Once
	// ready is set, under Server.mu, once hello has been written; only ready
	// sockets count as connected and receive envelopes.
	ready bool
	// closing is set, under Server.mu, once refresh_requested has been
	// written: Slack sends such a socket no more envelopes.
	closing bool
}

func (c *socketConn) writeJSON(v any) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.writeJSONLocked(v)
}

// writeJSONLocked writes v; c.writeMu must be held.
func (c *socketConn) writeJSONLocked(v any) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteJSON(v)
}

// close closes the network connection without a close frame.
func (c *socketConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

var upgrader = websocket.Upgrader{
	// slack-go sends Origin https://api.slack.com, which is not this host.
	CheckOrigin: func(*http.Request) bool { return true },
}

// appsConnectionsOpen answers with a single-use websocket URL.
func (s *Server) appsConnectionsOpen(*apiRequest) apiReply {
	ticket := randomHex(16)
	s.tickets[ticket] = true
	wsURL := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket?ticket=" + ticket
	return ok(map[string]any{"url": wsURL})
}

// serveSocket runs one socket-mode connection: hello, pings, and acks, until
// either side closes it.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	if s.closed || !s.tickets[ticket] {
		s.mu.Unlock()
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	delete(s.tickets, ticket)
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}
	ws.SetPongHandler(func(string) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.pongs++
		s.notifyLocked()
		return nil
	})
	hello := map[string]any{
		"type": "hello",
		"debug_info": map[string]any{
			"host":                        "slacktest",
			"build_number":                1,
			"approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": s.AppID},
	}
	// The socket is registered before hello is written, so that Disconnect and
	// DropConnections reach a client that has just seen hello; holding writeMu
	// meanwhile keeps every other frame behind hello.
	c.writeMu.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.writeMu.Unlock()
		c.close()
		return
	}
	if len(s.conns) >= s.maxConns {
		// Slack's answer to the app's connection past its limit.
		s.tooMany++
		s.notifyLocked()
		s.mu.Unlock()
		_ = c.writeJSONLocked(map[string]any{
			"type":       "disconnect",
			"reason":     "too_many_websockets",
			"debug_info": map[string]any{"host": "slacktest"},
		})
		c.writeMu.Unlock()
		closing := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "too_many_websockets")
		_ = c.ws.WriteControl(websocket.CloseMessage, closing, time.Now().Add(writeTimeout))
		c.close()
		return
	}
	s.conns = append(s.conns, c)
	s.peakConns = max(s.peakConns, len(s.conns))
	hello["num_connections"] = len(s.conns)
	s.mu.Unlock()
	err = c.writeJSONLocked(hello)
	c.writeMu.Unlock()
	if err != nil {
		s.removeConn(c)
		return
	}
	s.mu.Lock()
	c.ready = true
	s.trackGapLocked()
	every, warning := s.refreshEvery, s.refreshWarning
	s.notifyLocked()
	s.mu.Unlock()

	var loops sync.WaitGroup
	loops.Go(func() { s.pingLoop(c) })
	if every > 0 {
		loops.Go(func() { s.refreshLoop(c, every, warning) })
	}
	s.readAcks(c)
	s.removeConn(c)
	loops.Wait()
}

// MaxConnections is how many socket-mode connections Slack allows one app.
const MaxConnections = 10

// refreshGrace bounds how long a socket that was sent refresh_requested
// stays open for the acks of envelopes already sent to it.
const refreshGrace = time.Second

// refreshLoop refreshes c as Slack does once c has been up for every: it
// sends {"type":"disconnect","reason":"warning"}, keeps delivering to c for
// warning, then sends refresh_requested, delivers no more to c, and closes
// it once the envelopes it had are acknowledged (or refreshGrace passed).
func (s *Server) refreshLoop(c *socketConn, every, warning time.Duration) {
	if !sleep(c.done, nil, every) {
		return
	}
	if c.writeJSON(disconnectFrame("warning")) != nil {
		return
	}
	defer func() {
		<-c.done // counted once the socket is gone, whoever closed it
		s.mu.Lock()
		s.refreshes++
		s.notifyLocked()
		s.mu.Unlock()
	}()
	if !sleep(c.done, nil, warning) {
		return
	}
	s.mu.Lock()
	c.closing = true
	s.trackGapLocked()
	s.notifyLocked()
	s.mu.Unlock()
	if c.writeJSON(disconnectFrame("refresh_requested")) != nil {
		return
	}
	deadline := time.Now().Add(refreshGrace)
	for {
		s.mu.Lock()
		waiting := s.waitingOnLocked(c)
		changed := s.changed
		s.mu.Unlock()
		left := time.Until(deadline)
		if !waiting || left <= 0 || !sleep(c.done, changed, left) {
			break
		}
	}
	closing := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "refresh_requested")
	_ = c.ws.WriteControl(websocket.CloseMessage, closing, time.Now().Add(writeTimeout))
	s.removeConn(c)
}

func disconnectFrame(reason string) map[string]any {
	return map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": map[string]any{"host": "slacktest"},
	}
}

// waitingOnLocked reports whether an envelope sent to c still waits for its
// ack. s.mu must be held.
func (s *Server) waitingOnLocked(c *socketConn) bool {
	for _, queue := range s.waiters {
		for _, w := range queue {
			if w.conn == c {
				return true
			}
		}
	}
	return false
}

// trackGapLocked measures the time the app has no socket to deliver to,
// once it has had one. s.mu must be held.
func (s *Server) trackGapLocked() {
	live := len(s.liveConnsLocked())
	switch {
	case live > 0:
		if !s.downSince.IsZero() {
			s.longestGap = max(s.longestGap, time.Since(s.downSince))
			s.downSince = time.Time{}
		}
		s.everUp = true
	case s.everUp && s.downSince.IsZero() && !s.closed:
		s.downSince = time.Now()
	}
}

// SetRefresh makes the fake refresh every socket as Slack does, once it has
// been up for every: a warning, then warning later refresh_requested and a
// close. Sockets that connect afterwards are refreshed; 0 stops refreshing
// new sockets.
func (s *Server) SetRefresh(every, warning time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshEvery, s.refreshWarning = every, warning
}

// SetMaxConnections changes how many sockets the app may hold at once
// (MaxConnections unless set); a socket past it gets
// {"type":"disconnect","reason":"too_many_websockets"} instead of hello and
// is closed.
func (s *Server) SetMaxConnections(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxConns = n
}

// Refreshes returns how many sockets were sent the refresh warning and have
// closed since (by the fake after refresh_requested, or by the client).
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// PeakConnections returns the most sockets the app held at once.
func (s *Server) PeakConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakConns
}

// TooManyWebsockets returns how many sockets were refused for the limit.
func (s *Server) TooManyWebsockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

// ErrDispatchFailed is what an envelope sent while no socket is live fails
// with under SetStrictDispatch: the person who typed the command sees
// "dispatch_failed".
var ErrDispatchFailed = errors.New("dispatch_failed: the app has no live socket")

// SetStrictDispatch makes envelopes sent while no socket is live fail at once
// with ErrDispatchFailed, as Slack does, instead of waiting for a socket.
func (s *Server) SetStrictDispatch(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strict = on
}

// DispatchFailures returns how many envelopes found no live socket when they
// were sent, waiting or not: each would have failed in Slack.
func (s *Server) DispatchFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dispatchFailed
}

// LongestGap returns the longest time the app had no live socket since its
// first one came up, counting a gap still open.
func (s *Server) LongestGap() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	gap := s.longestGap
	if !s.downSince.IsZero() {
		gap = max(gap, time.Since(s.downSince))
	}
	return gap
}

// SetConnectLatency delays each apps.connections.open answer by d, as a real
// network's API call and TLS handshake do.
func (s *Server) SetConnectLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connectDelay = d
}

// pingLoop pings c every ping interval until c closes.
func (s *Server) pingLoop(c *socketConn) {
	var last time.Time
	for n := 1; ; {
		s.mu.Lock()
		every, changed := s.pingEvery, s.changed
		s.mu.Unlock()

		var wait time.Duration // 0: no ping scheduled
		if every > 0 {
			wait = time.Until(last.Add(every))
			if last.IsZero() || wait <= 0 {
				err := c.ws.WriteControl(websocket.PingMessage, []byte(strconv.Itoa(n)), time.Now().Add(writeTimeout))
				if err != nil {
					return
				}
				n++
				last, wait = time.Now(), every
			}
		}
		if !sleep(c.done, changed, wait) {
			return
		}
	}
}

// sleep waits for d to pass (forever when d is 0) or for changed to close,
// and reports false when done closes first.
func sleep(done, changed <-chan struct{}, d time.Duration) bool {
	var due <-chan time.Time
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		due = timer.C
	}
	select {
	case <-done:
		return false
	case <-due:
	case <-changed:
	}
	return true
}

// readAcks reads the client's frames until the connection fails, handing each
// ack to the delivery waiting for it.
func (s *Server) readAcks(c *socketConn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var frame struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &frame) != nil || frame.EnvelopeID == "" {
			continue // not an ack; Slack ignores those too
		}
		s.ack(frame.EnvelopeID, frame.Payload, time.Now())
	}
}

// ack records an ack and passes it to the oldest delivery of that envelope
// still waiting.
func (s *Server) ack(id string, payload json.RawMessage, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := Ack{EnvelopeID: id, Payload: payload}
	if env, ok := s.envelopes[id]; ok {
		a.ResponseURL = env.responseURL
	}
	if queue := s.waiters[id]; len(queue) > 0 {
		w := queue[0]
		if len(queue) == 1 {
			delete(s.waiters, id)
		} else {
			s.waiters[id] = queue[1:]
		}
		a.Latency = at.Sub(w.sentAt)
		w.ch <- a
	}
	s.acks = append(s.acks, a)
	s.notifyLocked()
}

// removeConn forgets c and closes it.
func (s *Server) removeConn(c *socketConn) {
	s.mu.Lock()
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i:i], s.conns[i+1:]...)
			s.trackGapLocked()
			s.notifyLocked()
			break
		}
	}
	s.mu.Unlock()
	c.close()
}

// Connections returns the number of open sockets that have received hello.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.readyConnsLocked())
}

// readyConnsLocked returns the sockets that have received hello, in the order
// they connected. s.mu must be held.
func (s *Server) readyConnsLocked() []*socketConn {
	var ready []*socketConn
	for _, c := range s.conns {
		if c.ready {
			ready = append(ready, c)
		}
	}
	return ready
}

// WaitConnected returns once at least n sockets are open and have received
// hello, or an error when ctx ends first.
func (s *Server) WaitConnected(ctx context.Context, n int) error {
	if err := s.WaitFor(ctx, func() bool { return s.Connections() >= n }); err != nil {
		return fmt.Errorf("slacktest: wait for %d connections (have %d): %w", n, s.Connections(), err)
	}
	return nil
}

// Pongs returns how many pongs the clients have sent back to the fake's pings.
func (s *Server) Pongs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pongs
}

// Acks returns every ack received, in order, including acks of redelivered
// envelopes and acks nobody was waiting for.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// Disconnect asks every socket to reconnect, as Slack does before it recycles
// a server: each receives {"type":"disconnect","reason":reason} and a close
// frame, then the connection is closed. Every socket open when it was called
// is closed when it returns; clients may already be reconnecting.
func (s *Server) Disconnect(reason string) {
	msg := map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": map[string]any{"host": "slacktest"},
	}
	for _, c := range s.takeConns() {
		if c.writeJSON(msg) == nil {
			closing := websocket.FormatCloseMessage(websocket.CloseNormalClosure, reason)
			_ = c.ws.WriteControl(websocket.CloseMessage, closing, time.Now().Add(writeTimeout))
		}
		c.close()
	}
}

// DropConnections closes every socket without a word, as a network failure
// would. Every socket open when it was called is closed when it returns.
func (s *Server) DropConnections() {
	for _, c := range s.takeConns() {
		c.close()
	}
}

// takeConns removes every open socket from the rotation and returns them.
func (s *Server) takeConns() []*socketConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	conns := s.conns
	s.conns = nil
	s.trackGapLocked()
	s.notifyLocked()
	return conns
}

// liveConnsLocked returns the sockets envelopes go to: ready, and not sent
// refresh_requested. s.mu must be held.
func (s *Server) liveConnsLocked() []*socketConn {
	var live []*socketConn
	for _, c := range s.conns {
		if c.ready && !c.closing {
			live = append(live, c)
		}
	}
	return live
}

// nextConn picks the socket for the next envelope in turn. When there is
// none, the envelope counts as a dispatch failure (once: *missed records it)
// and, under SetStrictDispatch, fails; otherwise nextConn waits for one.
func (s *Server) nextConn(ctx context.Context, missed *bool) (*socketConn, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, errors.New("server closed")
		}
		if live := s.liveConnsLocked(); len(live) > 0 {
			c := live[s.turn%len(live)]
			s.turn++
			s.mu.Unlock()
			return c, nil
		}
		if !*missed {
			*missed = true
			s.dispatchFailed++
			s.notifyLocked()
		}
		if s.strict {
			s.mu.Unlock()
			return nil, ErrDispatchFailed
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("no socket connected: %w", ctx.Err())
		}
	}
}

// deliver sends env to one socket, taking turns between sockets, and waits
// for the ack. With no socket connected it waits for one; a socket that fails
// the write is dropped and the next one tried.
func (s *Server) deliver(ctx context.Context, env *envelope) (Ack, error) {
	s.mu.Lock()
	s.envelopes[env.id] = env
	frame := envelopeFrame{
		EnvelopeID:             env.id,
		Type:                   env.typ,
		Payload:                env.payload,
		AcceptsResponsePayload: env.accepts,
		RetryAttempt:           env.attempts,
	}
	if env.attempts > 0 {
		frame.RetryReason = "timeout"
	}
	env.attempts++
	s.mu.Unlock()

	var missed bool
	for {
		c, err := s.nextConn(ctx, &missed)
		if err != nil {
			return Ack{}, fmt.Errorf("slacktest: deliver %s envelope %s: %w", env.typ, env.id, err)
		}
		w := s.addWaiter(env.id, c)
		if err := c.writeJSON(frame); err != nil {
			s.removeWaiter(env.id, w)
			s.removeConn(c)
			continue
		}
		select {
		case a := <-w.ch:
			return a, nil
		case <-c.done:
		case <-ctx.Done():
		}
		if s.removeWaiter(env.id, w) {
			cause := ctx.Err()
			if cause == nil {
				cause = errors.New("connection closed before the ack")
			}
			return Ack{}, fmt.Errorf("slacktest: deliver %s envelope %s: %w", env.typ, env.id, cause)
		}
		return <-w.ch, nil // the ack won the race
	}
}

func (s *Server) addWaiter(id string, c *socketConn) *ackWaiter {
	w := &ackWaiter{sentAt: time.Now(), conn: c, ch: make(chan Ack, 1)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiters[id] = append(s.waiters[id], w)
	return w
}

// removeWaiter withdraws w and reports whether it was still waiting; false
// means its ack has been delivered to w.ch.
func (s *Server) removeWaiter(id string, w *ackWaiter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	queue := s.waiters[id]
	for i, x := range queue {
		if x == w {
			queue = append(queue[:i:i], queue[i+1:]...)
			if len(queue) == 0 {
				delete(s.waiters, id)
			} else {
				s.waiters[id] = queue
			}
			return true
		}
	}
	return false
}

// SlashCommand delivers a slash_commands envelope to one connected socket and
// waits for its ack; ctx bounds the wait, including the wait for a socket when
// none is connected. Empty fields the fake owns are filled: TeamID,
// TeamDomain, APIAppID, Token, TriggerID, ResponseURL (a URL on this fake,
// s.URL+"response/<envelope id>"), and ChannelName and UserName when the
// channel or user is known.
func (s *Server) SlashCommand(ctx context.Context, cmd slack.SlashCommand) (Ack, error) {
	id := newUUID()
	s.mu.Lock()
	if cmd.TeamID == "" {
		cmd.TeamID = s.TeamID
	}
	if cmd.TeamDomain == "" {
		cmd.TeamDomain = "switchboard-test"
	}
	if cmd.APIAppID == "" {
		cmd.APIAppID = s.AppID
	}
	if cmd.Token == "" {
		cmd.Token = "slacktest-verification-token"
	}
	if cmd.TriggerID == "" {
		cmd.TriggerID = s.triggerIDLocked()
	}
	if cmd.ChannelName == "" && cmd.ChannelID != "" {
		cmd.ChannelName = s.channelNameLocked(cmd.ChannelID)
	}
	if u, ok := s.users[cmd.UserID]; ok && cmd.UserName == "" {
		cmd.UserName = u.Name
	}
	if cmd.ResponseURL == "" {
		cmd.ResponseURL = s.URL + "response/" + id
	}
	s.registerResponseURLLocked(cmd.ResponseURL, responseTarget{channel: cmd.ChannelID, user: cmd.UserID})
	s.mu.Unlock()

	payload, err := json.Marshal(cmd)
	if err != nil {
		return Ack{}, fmt.Errorf("slacktest: slash command: %w", err)
	}
	return s.deliver(ctx, &envelope{id: id, typ: "slash_commands", payload: payload, accepts: true, responseURL: cmd.ResponseURL})
}

// BlockAction delivers an interactive envelope of type block_actions (cb.Type
// is set to it) and waits for the ack, like SlashCommand. Empty fields the
// fake owns are filled: Team, APIAppID, Token, TriggerID, ResponseURL, and
// each action's ActionTs. A response URL post with replace_original or
// delete_original acts on the message the action came from (Container or
// Message timestamp in Channel) when the fake holds it.
func (s *Server) BlockAction(ctx context.Context, cb slack.InteractionCallback) (Ack, error) {
	id := newUUID()
	cb.Type = slack.InteractionTypeBlockActions
	s.mu.Lock()
	if cb.Team.ID == "" {
		cb.Team.ID, cb.Team.Domain = s.TeamID, "switchboard-test"
	}
	if cb.APIAppID == "" {
		cb.APIAppID = s.AppID
	}
	if cb.Token == "" {
		cb.Token = "slacktest-verification-token"
	}
	if cb.TriggerID == "" {
		cb.TriggerID = s.triggerIDLocked()
	}
	if cb.ResponseURL == "" {
		cb.ResponseURL = s.URL + "response/" + id
	}
	now := s.nextTSLocked()
	if cb.ActionTs == "" {
		cb.ActionTs = now
	}
	for _, a := range cb.ActionCallback.BlockActions {
		if a.ActionTs == "" {
			a.ActionTs = now
		}
	}
	channel := cmp.Or(cb.Channel.ID, cb.Container.ChannelID)
	s.registerResponseURLLocked(cb.ResponseURL, responseTarget{
		channel:    channel,
		user:       cb.User.ID,
		originalTS: cmp.Or(cb.Container.MessageTs, cb.Message.Timestamp),
	})
	s.mu.Unlock()

	payload, err := json.Marshal(&cb) // InteractionCallback marshals through a pointer method
	if err != nil {
		return Ack{}, fmt.Errorf("slacktest: block action: %w", err)
	}
	return s.deliver(ctx, &envelope{id: id, typ: "interactive", payload: payload, responseURL: cb.ResponseURL})
}

// EventCallback delivers an events_api envelope whose payload is an
// event_callback wrapping event (an app_mention or message event, for
// instance, as a struct or raw JSON) and waits for the ack.
func (s *Server) EventCallback(ctx context.Context, event any) (Ack, error) {
	inner, err := json.Marshal(event)
	if err != nil {
		return Ack{}, fmt.Errorf("slacktest: event callback: %w", err)
	}
	id := newUUID()
	s.mu.Lock()
	outer := map[string]any{
		"token":                 "slacktest-verification-token",
		"team_id":               s.TeamID,
		"api_app_id":            s.AppID,
		"event":                 json.RawMessage(inner),
		"type":                  "event_callback",
		"event_id":              s.nextIDLocked("Ev"),
		"event_time":            time.Now().Unix(),
		"is_ext_shared_channel": false,
		"authorizations": []map[string]any{{
			"team_id": s.TeamID, "user_id": s.BotUserID, "is_bot": true, "is_enterprise_install": false,
		}},
	}
	s.mu.Unlock()
	payload, err := json.Marshal(outer)
	if err != nil {
		return Ack{}, fmt.Errorf("slacktest: event callback: %w", err)
	}
	return s.deliver(ctx, &envelope{id: id, typ: "events_api", payload: payload})
}

// Redeliver sends an envelope delivered earlier again, with the same envelope
// ID and payload, a retry_attempt one higher and retry_reason "timeout", as
// Slack does when an ack is late. It goes to the next socket in turn and
// waits for that delivery's ack; both acks are in Acks.
func (s *Server) Redeliver(ctx context.Context, envelopeID string) (Ack, error) {
	s.mu.Lock()
	env, ok := s.envelopes[envelopeID]
	s.mu.Unlock()
	if !ok {
		return Ack{}, fmt.Errorf("slacktest: redeliver %s: unknown envelope", envelopeID)
	}
	return s.deliver(ctx, env)
}

// triggerIDLocked returns a new trigger ID in Slack's shape. s.mu must be held.
func (s *Server) triggerIDLocked() string {
	s.seq++
	id := fmt.Sprintf("%d.%d.%s", 1700000000+s.seq, 738474920, randomHex(16))
	s.issueTriggerLocked(id)
	return id
}
