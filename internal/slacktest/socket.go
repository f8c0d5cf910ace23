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
	ch     chan Ack // buffered, receives at most one Ack
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
	s.conns = append(s.conns, c)
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
	s.notifyLocked()
	s.mu.Unlock()

	var pinger sync.WaitGroup
	pinger.Go(func() { s.pingLoop(c) })
	s.readAcks(c)
	s.removeConn(c)
	pinger.Wait()
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
	s.notifyLocked()
	return conns
}

// nextConn picks the socket for the next envelope in turn, waiting for one to
// connect when there is none.
func (s *Server) nextConn(ctx context.Context) (*socketConn, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, errors.New("server closed")
		}
		if ready := s.readyConnsLocked(); len(ready) > 0 {
			c := ready[s.turn%len(ready)]
			s.turn++
			s.mu.Unlock()
			return c, nil
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

	for {
		c, err := s.nextConn(ctx)
		if err != nil {
			return Ack{}, fmt.Errorf("slacktest: deliver %s envelope %s: %w", env.typ, env.id, err)
		}
		w := s.addWaiter(env.id)
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

func (s *Server) addWaiter(id string) *ackWaiter {
	w := &ackWaiter{sentAt: time.Now(), ch: make(chan Ack, 1)}
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
