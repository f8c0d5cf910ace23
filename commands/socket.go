package commands

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Socket connects the router to Slack in socket mode: it acknowledges every
// envelope, answering slash commands in the acknowledgement, and runs the
// work that follows.
type Socket struct {
	Router *Router
	Client *socketmode.Client

	connected atomic.Bool
	wg        sync.WaitGroup
}

// Connected reports whether the websocket to Slack is up.
func (s *Socket) Connected() bool { return s.connected.Load() }

// ErrNotConnected is reported by Live while the socket is down.
var ErrNotConnected = errors.New("slack socket not connected")

// Live is nil while the socket is connected, for /healthz.
func (s *Socket) Live() error {
	if !s.Connected() {
		return ErrNotConnected
	}
	return nil
}

// Run connects and handles events until ctx ends; slack-go reconnects by
// itself after a disconnect or a network failure. It returns once every
// handler it started has finished.
func (s *Socket) Run(ctx context.Context) error {
	runErr := make(chan error, 1)
	go func() { runErr <- s.Client.RunContext(ctx) }()
	defer s.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			s.connected.Store(false)
			<-runErr
			return nil
		case err := <-runErr:
			s.connected.Store(false)
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt := <-s.Client.Events:
			s.handle(ctx, evt)
		}
	}
}

func (s *Socket) handle(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		s.connected.Store(true)
		s.Router.log().Info("slack socket connected")
	case socketmode.EventTypeConnecting, socketmode.EventTypeDisconnect, socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		if s.connected.Swap(false) {
			s.Router.log().Warn("slack socket down", "event", string(evt.Type))
		}
		if evt.Type == socketmode.EventTypeInvalidAuth {
			s.Router.log().Error("slack refused the app token (invalid_auth); check SLACK_APP_TOKEN")
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
		// Button clicks are acknowledged at once; their answers go through the response URL.
		if err := s.Client.Ack(req); err != nil {
			s.Router.log().Warn("ack interaction", "err", err)
		}
		if cb.Type != slack.InteractionTypeBlockActions {
			return
		}
		if s.duplicate(ctx, req) {
			return
		}
		s.Router.Go(ctx, func(ctx context.Context) { s.Router.Action(ctx, cb) })
	case socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			_ = s.Client.Ack(*evt.Request)
		}
	}
}

// duplicate reports whether Slack already delivered this envelope (it retries
// envelopes it thinks were not acknowledged).
func (s *Socket) duplicate(ctx context.Context, req socketmode.Request) bool {
	if req.EnvelopeID == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	first, err := s.Router.Store.FirstSeen(ctx, "envelope", req.EnvelopeID, time.Hour)
	if err != nil {
		return false // without Redis the command answers "try again" by itself
	}
	if !first {
		s.Router.log().Info("duplicate envelope ignored", "envelope", req.EnvelopeID, "retry", req.RetryAttempt)
	}
	return !first
}

func (s *Socket) slashCommand(ctx context.Context, req socketmode.Request, cmd slack.SlashCommand) {
	start := time.Now()
	if s.duplicate(ctx, req) {
		_ = s.Client.Ack(req)
		return
	}
	reply, after := s.Router.Command(ctx, cmd)
	if err := s.Client.Ack(req, reply.Payload()); err != nil {
		s.Router.log().Warn("ack slash command", "err", err, "command", cmd.Command)
		return
	}
	if s.Router.OnAck != nil {
		s.Router.OnAck(cmd.Command, time.Since(start))
	}
	s.Router.Go(ctx, after)
}
