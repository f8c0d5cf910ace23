package commands

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/switchboard-bot/switchboard/slacksocket"
)

// Socket connects the router to Slack in socket mode: it acknowledges every
// envelope, answering slash commands in the acknowledgement, and runs the
// work that follows.
//
// Slack delivers an envelope again when its acknowledgement did not reach
// Slack in time. Each envelope is handled once, by whichever replica gets it
// first (Counters.FirstSeen); a copy of a slash command is answered with
// the answer the first one got, when Acks keeps it.
type Socket struct {
	Router *Router
	// Client holds the connections to Slack; it opens the next one before
	// Slack closes the one it refreshes, so one replica alone has no gap.
	Client *slacksocket.Client
	// Acks, when set, keeps each slash command's answer for AckTTL so that a
	// copy Slack sends again is answered the same (state.Store implements
	// it); without it a copy gets an empty acknowledgement.
	Acks AckStore
	// AckTTL is how long answers are kept (0 means 10 minutes).
	AckTTL time.Duration

	wg     sync.WaitGroup
	events map[slackevents.EventsAPIType]EventHandler
}

// EventHandler handles one Events API event (app_home_opened,
// function_executed, …) after it has been acknowledged. event.InnerEvent.Data
// holds slackevents' type for it (*slackevents.AppHomeOpenedEvent, …).
type EventHandler func(ctx context.Context, event slackevents.EventsAPIEvent)

// OnEvent makes h handle the Events API events whose inner type is typ,
// replacing any handler set before. Call it before Run. Events nobody
// handles are acknowledged and dropped.
func (s *Socket) OnEvent(typ slackevents.EventsAPIType, h EventHandler) {
	if s.events == nil {
		s.events = map[slackevents.EventsAPIType]EventHandler{}
	}
	s.events[typ] = h
}

// AckStore keeps the acknowledgement payloads of slash commands.
type AckStore interface {
	SaveAck(ctx context.Context, envelopeID string, payload []byte, ttl time.Duration) error
	SavedAck(ctx context.Context, envelopeID string) ([]byte, bool, error)
}

// ackTimeout bounds the hand-over of an acknowledgement to the socket, which
// waits while the socket reconnects.
const ackTimeout = 5 * time.Second

// Connected reports whether a websocket to Slack is up.
func (s *Socket) Connected() bool { return s.Client.Connected() }

// ErrNotConnected is reported by Live while the socket is down.
var ErrNotConnected = errors.New("slack socket not connected")

// Live is nil while the socket is connected, for /healthz.
func (s *Socket) Live() error {
	if !s.Connected() {
		return ErrNotConnected
	}
	return nil
}

// Run connects and handles events until ctx ends; the Client reconnects by
// itself after a refresh or a network failure. It returns once every
// handler it started has finished.
func (s *Socket) Run(ctx context.Context) error {
	runErr := make(chan error, 1)
	go func() { runErr <- s.Client.RunContext(ctx) }()
	defer s.wg.Wait()
	events := s.Client.Events()
	for {
		select {
		case <-ctx.Done():
			<-runErr
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt := <-events:
			s.handle(ctx, evt)
		}
	}
}

func (s *Socket) handle(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		s.Router.log.Info("slack socket connected")
	case socketmode.EventTypeConnecting, socketmode.EventTypeDisconnect, socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		if evt.Type == socketmode.EventTypeDisconnect {
			s.Router.log.Warn("slack socket down", "event", string(evt.Type))
		}
		switch evt.Type {
		case socketmode.EventTypeInvalidAuth:
			s.Router.log.Error("slack refused the app token (invalid_auth); check SLACK_APP_TOKEN")
		case socketmode.EventTypeConnectionError:
			// slack-go retries with a growing pause; say so at each attempt,
			// so that an unreachable Slack shows in the log, not only in /healthz.
			if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
				s.Router.log.Error("cannot connect to Slack; retrying", "attempt", ce.Attempt, "err", redactURLSecrets(ce.Error()), "retry_in", ce.Backoff.Round(time.Millisecond).String())
			}
		}
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		req := *evt.Request
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.slashCommand(ctx, req, cmd)
		}()
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		req := *evt.Request
		if cb.Type == slack.InteractionTypeViewSubmission {
			// A modal's submission is answered in its ack, within 3 s.
			s.wg.Go(func() { s.viewSubmission(ctx, req, cb) })
			return
		}
		// Button clicks are acknowledged at once; their answers go through the response URL.
		if err := s.ack(ctx, req, nil); err != nil {
			s.Router.log.Warn("ack interaction", "err", err)
		}
		if cb.Type != slack.InteractionTypeBlockActions {
			return
		}
		// The duplicate check is a Redis round trip: it runs off the loop
		// that reads the socket, which must stay free for the next envelope.
		s.Router.Go(ctx, func(ctx context.Context) {
			if !s.duplicate(ctx, req) {
				s.Router.Action(ctx, cb)
			}
		})
	case socketmode.EventTypeEventsAPI:
		event, ok := evt.Data.(slackevents.EventsAPIEvent)
		if evt.Request == nil {
			return
		}
		req := *evt.Request
		// Events are acknowledged at once: Slack expects the ack within 3 s
		// and their work (a views.publish, a step's completion) goes through
		// the Web API.
		if err := s.ack(ctx, req, nil); err != nil {
			s.Router.log.Warn("ack event", "err", err)
		}
		if !ok {
			return
		}
		h := s.events[slackevents.EventsAPIType(event.InnerEvent.Type)]
		if h == nil {
			s.Router.log.Debug("event without a handler dropped", "event", event.InnerEvent.Type)
			return
		}
		s.Router.Go(ctx, func(ctx context.Context) {
			if !s.duplicate(ctx, req) {
				h(ctx, event)
			}
		})
	}
}

// urlSecret matches the query values of a URL that can carry a credential,
// such as the ticket in the websocket URL Slack hands out.
var urlSecret = regexp.MustCompile(`([?&](?:ticket|token|access_token|key)=)[^&\s"']+`)

// redactURLSecrets hides credentials carried in URLs within an error text.
func redactURLSecrets(s string) string { return urlSecret.ReplaceAllString(s, "${1}REDACTED") }

// ack hands an acknowledgement (with payload, when not nil) to the socket.
func (s *Socket) ack(ctx context.Context, req socketmode.Request, payload any) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	return s.Client.AckCtx(ctx, req.EnvelopeID, payload)
}

// duplicate reports whether Slack already delivered this envelope (it retries
// envelopes it thinks were not acknowledged).
func (s *Socket) duplicate(ctx context.Context, req socketmode.Request) bool {
	if req.EnvelopeID == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	first, err := s.Router.counters.FirstSeen(ctx, "envelope", req.EnvelopeID, time.Hour)
	if err != nil {
		return false // without Redis the command answers "try again" by itself
	}
	if !first {
		s.Router.log.Info("duplicate envelope ignored", "envelope", req.EnvelopeID, "retry", req.RetryAttempt)
	}
	return !first
}

func (s *Socket) slashCommand(ctx context.Context, req socketmode.Request, cmd slack.SlashCommand) {
	start := time.Now()
	var first <-chan bool
	if req.RetryAttempt > 0 {
		// Slack repeats an envelope whose ack it did not get in time: the
		// repeat is answered as the first delivery was, and runs nothing.
		if s.duplicate(ctx, req) {
			if err := s.ack(ctx, req, s.savedAck(ctx, req)); err != nil {
				s.Router.log.Warn("ack repeated slash command", "err", err, "command", cmd.Command)
			}
			return
		}
	} else {
		// A first delivery cannot be a repeat, so its ack does not wait for
		// Redis; it is marked as seen at once, seconds before Slack could
		// repeat it, and its work waits for the mark.
		first = s.markSeen(ctx, req)
	}
	reply, after := s.Router.Command(ctx, cmd)
	payload, err := json.Marshal(reply.Payload())
	if err != nil {
		s.Router.log.Error("encode slash command answer", "err", err, "command", cmd.Command)
		return
	}
	if err := s.ack(ctx, req, json.RawMessage(payload)); err != nil {
		s.Router.log.Warn("ack slash command", "err", err, "command", cmd.Command)
		return
	}
	if s.Router.onAck != nil {
		s.Router.onAck(cmd.Command, time.Since(start))
	}
	// Kept after the ack, so as not to delay it: Slack repeats an envelope
	// only after waiting seconds for its ack.
	s.saveAck(ctx, req, payload)
	if first != nil && !<-first {
		return // another replica has it
	}
	s.Router.Go(ctx, after)
}

func (s *Socket) viewSubmission(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback) {
	if s.duplicate(ctx, req) {
		// The first delivery was answered; this copy changes nothing.
		if err := s.ack(ctx, req, nil); err != nil {
			s.Router.log.Warn("ack repeated view submission", "err", err)
		}
		return
	}
	actx, cancel := context.WithTimeout(ctx, cmp.Or(s.Router.ackTimeout, 2500*time.Millisecond))
	resp, after := s.Router.ViewSubmission(actx, cb)
	cancel()
	var payload any
	if resp != nil {
		payload = resp
	}
	if err := s.ack(ctx, req, payload); err != nil {
		s.Router.log.Warn("ack view submission", "err", err, "view", cb.View.CallbackID)
		return
	}
	s.Router.Go(ctx, after)
}

// markSeen records a first delivery as seen, off the path of its ack, and
// reports on the channel whether it was not seen before.
func (s *Socket) markSeen(ctx context.Context, req socketmode.Request) <-chan bool {
	first := make(chan bool, 1)
	s.wg.Go(func() { first <- !s.duplicate(ctx, req) })
	return first
}

func (s *Socket) saveAck(ctx context.Context, req socketmode.Request, payload []byte) {
	if s.Acks == nil || req.EnvelopeID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	ttl := s.AckTTL
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	if err := s.Acks.SaveAck(ctx, req.EnvelopeID, payload, ttl); err != nil {
		// Only a repeated delivery of this command would miss it.
		s.Router.log.Warn("keep slash command answer", "err", err, "envelope", req.EnvelopeID)
	}
}

// savedAck is the answer a repeated slash command gets: the first one's, or
// nothing when it is not known (yet).
func (s *Socket) savedAck(ctx context.Context, req socketmode.Request) any {
	if s.Acks == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	payload, ok, err := s.Acks.SavedAck(ctx, req.EnvelopeID)
	if err != nil || !ok {
		return nil
	}
	return json.RawMessage(payload)
}
