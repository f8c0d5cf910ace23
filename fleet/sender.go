// Package fleet sends M2M SIM card changes to EnCo as durable jobs: one
// operation holds every card, its cards go in requests of at most a batch
// of devices, at a request rate every replica keeps together, and a replica
// that dies midway leaves the rest to another, which carries on from the
// first request not yet sent.
package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/internal/pause"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// Store is the shared state the sender needs (state.Store implements it).
type Store interface {
	Operation(ctx context.Context, id string) (switchboard.Operation, bool, error)
	CreateSending(ctx context.Context, opID string, batches int, owner string, lease, ttl time.Duration) error
	ClaimSending(ctx context.Context, owner string, lease time.Duration) (string, error)
	NextBatch(ctx context.Context, opID, owner string, lease time.Duration) (state.Step, int, error)
	BatchSent(ctx context.Context, opID, owner string, batch int, tracking string, lease time.Duration) (bool, error)
	NextSlot(ctx context.Context, channel string, interval time.Duration) (time.Duration, error)
	BindToken(ctx context.Context, token, opID string, ttl time.Duration) error
	RecordResult(ctx context.Context, opID string, r switchboard.Result, posts switchboard.Effects) (switchboard.Progress, error)
	Audit(ctx context.Context, e switchboard.AuditEntry) error
}

// M2M is the one EnCo call the sender makes.
type M2M interface {
	RequestM2M(ctx context.Context, a enco.M2MAction, devices []enco.Device, callbackToken string) (string, error)
}

// Callbacks is told when a request's tracking number is stored, so that
// callbacks which came before it are delivered.
type Callbacks interface {
	TrackingKnown(ctx context.Context, opID string)
}

// Defaults of the Sender's settings.
const (
	DefaultBatch   = 500
	DefaultRate    = 5.0
	DefaultPerCard = 20
	DefaultLease   = 30 * time.Second
)

// paceKey names the request pace every replica shares (state.Store.NextSlot).
const paceKey = "enco:m2m"

// Sender sends M2M changes in batches. Every replica runs one (Run); the
// replica that starts a change sends it (Start), and a replica whose
// Run finds a change whose sender stopped answering carries it on.
type Sender struct {
	Store     Store
	EnCo      M2M
	Callbacks Callbacks
	// Owner names this replica to the others (unique per process).
	Owner string
	// Batch is the most devices one request carries (ENCO_M2M_BATCH; 0 means 500).
	Batch int
	// Rate is the most requests a second, all replicas together (ENCO_M2M_RATE; 0 means 5).
	Rate float64
	// PerCard: a change of at most this many cards sends one request per
	// card, so that each tracking number stands for the card as it was
	// typed and its result can name it (BULK_THRESHOLD; 0 means 20, a
	// negative value never).
	PerCard int
	// Lease is how long a replica holds a change between two of its
	// steps; another takes the change over when it runs out (0 means 30 s).
	// It must exceed RequestTimeout.
	Lease time.Duration
	// RequestTimeout bounds one request to EnCo (0 means Lease/2).
	RequestTimeout time.Duration
	// Poll is how often Run looks for changes another replica left (0 means 1 s).
	Poll time.Duration
	// Rules decide which posts a card's failure causes.
	Rules       render.PostRules
	MaskNumbers bool
	Log         *slog.Logger

	startOnce sync.Once
	started   chan string
	busy      atomic.Int64 // changes started or held here and not yet let go
}

// Idle waits until this replica sends no change, or ctx ends. The console
// uses it to let a change finish before it stops.
func (s *Sender) Idle(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for s.busy.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func (s *Sender) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Sender) lease() time.Duration { return cmp.Or(s.Lease, DefaultLease) }

func (s *Sender) queue() chan string {
	s.startOnce.Do(func() { s.started = make(chan string, 256) })
	return s.started
}

// BatchSize is how many cards each request of a change of n cards carries.
func (s *Sender) BatchSize(n int) int {
	perCard := s.PerCard
	if perCard == 0 {
		perCard = DefaultPerCard
	}
	if n <= perCard {
		return 1
	}
	return cmp.Or(s.Batch, DefaultBatch)
}

// Batches is how many requests a change of n cards in batches of size takes.
func Batches(n, size int) int {
	if n == 0 || size < 1 {
		return 0
	}
	return (n + size - 1) / size
}

// Start hands a stored, running operation (with Params.Batch set) to this
// replica's Run, which sends it. The job is stored first, so that if this
// replica dies before it is done, another carries it on.
func (s *Sender) Start(ctx context.Context, op switchboard.Operation) error {
	if op.Params.Batch < 1 {
		return fmt.Errorf("start sending %s: no batch size", op.ID)
	}
	ttl := time.Until(op.ExpiresAt) + time.Hour
	if ttl <= 0 {
		return fmt.Errorf("start sending %s: the operation has expired", op.ID)
	}
	if err := s.Store.CreateSending(ctx, op.ID, Batches(len(op.Targets), op.Params.Batch), s.Owner, s.lease(), ttl); err != nil {
		return err
	}
	s.busy.Add(1)
	select {
	case s.queue() <- op.ID:
	default:
		s.busy.Add(-1)
		// Run is busy: the change waits for the lease to run out, then any
		// replica's Run takes it.
		s.log().Warn("sender queue full; the change starts once its lease runs out", "operation", op.ID)
	}
	return nil
}

// Run sends the changes started here and those other replicas left, until
// ctx ends; it returns once every change it was sending has stopped.
func (s *Sender) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(cmp.Or(s.Poll, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case id := <-s.queue():
			wg.Go(func() {
				defer s.busy.Add(-1)
				s.hold(ctx, id)
			})
		case <-tick.C:
			for ctx.Err() == nil {
				id, err := s.Store.ClaimSending(ctx, s.Owner, s.lease())
				if err != nil {
					s.log().Warn("look for changes to carry on", "err", err)
					break
				}
				if id == "" {
					break
				}
				s.log().Info("carrying on a change another replica left", "operation", id)
				s.busy.Add(1)
				wg.Go(func() {
					defer s.busy.Add(-1)
					s.hold(ctx, id)
				})
			}
		}
	}
}

// hold sends the batches of one change while this replica holds it.
func (s *Sender) hold(ctx context.Context, opID string) {
	op, ok, err := s.Store.Operation(ctx, opID)
	switch {
	case err != nil:
		s.log().Error("load the change to send; another replica will take it", "err", err, "operation", opID)
		return
	case !ok:
		s.log().Warn("the change to send is gone", "operation", opID)
		return
	}
	size := op.Params.Batch
	if size < 1 {
		s.log().Error("the change to send has no batch size", "operation", opID)
		return
	}
	interval := time.Duration(float64(time.Second) / cmp.Or(s.Rate, DefaultRate))
	for ctx.Err() == nil {
		// The pace comes first: a batch is marked in flight only right
		// before its request goes.
		wait, err := s.Store.NextSlot(ctx, paceKey, interval)
		if err != nil {
			s.log().Warn("EnCo request pace", "err", err, "operation", opID)
			wait = interval
		}
		if !pause.For(ctx, wait) {
			return
		}
		step, b, err := s.Store.NextBatch(ctx, opID, s.Owner, s.lease())
		if err != nil {
			s.log().Error("next batch; another replica will carry on", "err", err, "operation", opID)
			return
		}
		lo, hi := min(b*size, len(op.Targets)), min((b+1)*size, len(op.Targets))
		switch step {
		case state.StepLost:
			s.log().Warn("another replica took this change over", "operation", opID)
			return
		case state.StepDone:
			s.log().Info("every request of the change is sent", "operation", opID, "requests", b)
			return
		case state.StepDoubt:
			s.audit(ctx, op, "request in doubt", fmt.Sprintf("request %d of %d (%d cards): the replica sending it stopped", b+1, Batches(len(op.Targets), size), hi-lo))
			s.doubt(ctx, op, b, op.Targets[lo:hi])
			continue
		}
		s.send(ctx, op, b, op.Targets[lo:hi])
	}
}

// send sends batch b of op: a callback token of its own, the request, and
// its tracking number, stored before the next request goes.
func (s *Sender) send(ctx context.Context, op switchboard.Operation, b int, targets []switchboard.Target) {
	devices := make([]enco.Device, len(targets))
	for i, t := range targets {
		devices[i] = enco.TargetDevice(t)
	}
	token, err := state.NewToken()
	if err == nil {
		err = s.Store.BindToken(ctx, token, op.ID, time.Until(op.ExpiresAt)+time.Hour)
	}
	var tracking string
	if err == nil {
		// A request under way finishes when the bot stops, so that its
		// tracking number is stored rather than left in doubt.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(s.RequestTimeout, s.lease()/2))
		tracking, err = s.EnCo.RequestM2M(rctx, enco.M2MAction(op.Params.Action), devices, token)
		cancel()
	}
	if !s.sent(ctx, op.ID, b, tracking) {
		return
	}
	batches := Batches(len(op.Targets), op.Params.Batch)
	if err != nil {
		why, detail, message := words(err)
		s.log().Warn("m2m request refused", "err", err, "operation", op.ID, "request", b+1, "devices", len(devices))
		s.audit(ctx, op, "api error", fmt.Sprintf("request %d of %d (%d cards): %s", b+1, batches, len(devices), detail))
		s.fail(ctx, op, b, targets, why, message)
		return
	}
	s.log().Info("m2m request accepted", "operation", op.ID, "kind", op.Kind, "request", b+1, "of", batches, "devices", len(devices), "tracking", tracking)
	s.audit(ctx, op, "api call", fmt.Sprintf("request %d of %d (%d cards): tracking number %s", b+1, batches, len(devices), tracking))
	if s.Callbacks != nil {
		s.Callbacks.TrackingKnown(ctx, op.ID)
	}
}

// sent stores batch b's tracking number, trying a few times while the
// store fails; false means this replica must stop (it no longer holds the
// change, or the store keeps failing: the batch then stays in flight, and
// the replica that takes the change over reports it in doubt).
func (s *Sender) sent(ctx context.Context, opID string, b int, tracking string) bool {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		held, err := s.Store.BatchSent(context.WithoutCancel(ctx), opID, s.Owner, b, tracking, s.lease())
		if err == nil {
			if !held {
				s.log().Warn("another replica took this change over while a request was sent", "operation", opID, "request", b+1)
			}
			return held
		}
		if attempt == 5 {
			s.log().Error("store a request's tracking number", "err", err, "operation", opID, "request", b+1, "tracking", tracking)
			return false
		}
		if !pause.For(context.WithoutCancel(ctx), wait) {
			return false
		}
		wait *= 2
	}
}

// fail records a failure for each card of batch b, with why (for Slack)
// and message (as it is, for the report file).
func (s *Sender) fail(ctx context.Context, op switchboard.Operation, b int, targets []switchboard.Target, why, message string) {
	for _, t := range targets {
		label := render.TargetLabel(op, t, s.MaskNumbers)
		s.record(ctx, op, b, t, fmt.Sprintf(":x: %s — %s not sent: %s", label, render.Escape(op.Params.Action), why), message)
	}
}

// doubt records each card of batch b as failed in doubt: the replica that
// sent its request stopped before it stored EnCo's answer, so whether EnCo
// got the request is unknown. The card is not sent again; the person is
// told how to check it.
func (s *Sender) doubt(ctx context.Context, op switchboard.Operation, b int, targets []switchboard.Target) {
	const why = "the bot stopped while sending the request for this card, so it cannot tell whether EnCo received it; it was not sent again"
	for _, t := range targets {
		label := render.TargetLabel(op, t, s.MaskNumbers)
		check, plain := "check it in EnCo's M2M Cockpit (`/sim status` finds cards by mobile number only)", "check it in EnCo's M2M Cockpit"
		if t.IsNumber() {
			// The number as the person gave it runs as it is; masked, the
			// channel does not show it, and the person adds it.
			check, plain = fmt.Sprintf("check it with `/sim status +%s`", t.ID), "check it with /sim status +"+t.ID
			if s.MaskNumbers {
				check = "check it with `/sim status` and its number"
			}
		}
		s.record(ctx, op, b, t, fmt.Sprintf(":warning: %s — %s in doubt: %s; %s.", label, render.Escape(op.Params.Action), why, check), "in doubt: "+why+"; "+plain)
	}
}

// record keeps a failure of card t of batch b, with its thread reply and
// its message for the report file.
func (s *Sender) record(ctx context.Context, op switchboard.Operation, b int, t switchboard.Target, detail, message string) {
	ctx = context.WithoutCancel(ctx) // the request's outcome is known: keep it
	res := switchboard.Result{Target: t.String(), OK: false, At: time.Now(), Message: message, Detail: detail}
	fx := render.ResultPosts(op, res, s.Rules)
	fx.Audit = &switchboard.AuditEntry{At: res.At, UserID: op.UserID, Command: op.Kind, Decision: "request failed", OperationID: op.ID, Detail: fmt.Sprintf("%s request %d", t, b+1)}
	if _, err := s.Store.RecordResult(ctx, op.ID, res, fx); err != nil && !errors.Is(err, switchboard.ErrClosed) {
		s.log().Error("record a card's failure", "err", err, "operation", op.ID, "target", t.String())
	}
}

func (s *Sender) audit(ctx context.Context, op switchboard.Operation, decision, detail string) {
	if err := s.Store.Audit(context.WithoutCancel(ctx), switchboard.AuditEntry{At: time.Now(), UserID: op.UserID, Command: op.Kind, Decision: decision, OperationID: op.ID, Detail: detail}); err != nil {
		s.log().Error("audit append failed", "err", err, "operation", op.ID, "decision", decision)
	}
}

// words says why EnCo refused a request: for the thread (escaped), for
// the audit trail, and for the report file (as it is).
func words(err error) (why, detail, message string) {
	var ee *enco.Error
	switch {
	case errors.Is(err, enco.ErrCredentialsRefused):
		why = "EnCo refused the bot's own credentials; an operator must check them"
		return why, "credentials refused", why
	case errors.As(err, &ee) && ee.StatusCode == 429:
		why = "EnCo was busy and refused the request; try these cards again later"
		return why, "HTTP 429", why
	case errors.As(err, &ee) && ee.StatusCode == 403:
		why = "EnCo refused the M2M API to the bot; an operator must check the EnCo subscription"
		return why, "HTTP 403", why
	case errors.As(err, &ee) && ee.StatusCode >= 400 && ee.StatusCode < 500 && ee.Message != "":
		msg := strings.TrimSpace(ee.Message)
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return fmt.Sprintf("EnCo refused the request: %s (HTTP %d)", render.Escape(msg), ee.StatusCode), fmt.Sprintf("HTTP %d %s", ee.StatusCode, msg), msg
	case errors.Is(err, context.DeadlineExceeded):
		why = "EnCo did not answer in time; nothing is known to have changed, check the card before trying again"
		return why, "timeout", why
	}
	why = "EnCo could not be reached or failed; try again later"
	return why, err.Error(), why
}
