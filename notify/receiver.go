package notify

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/render"
)

// ReceiverStore is the shared state the callback receiver needs.
type ReceiverStore interface {
	OperationForToken(ctx context.Context, token string) (string, bool, error)
	Operation(ctx context.Context, id string) (switchboard.Operation, bool, error)
	RecordResult(ctx context.Context, opID string, r switchboard.Result, posts switchboard.Effects) (switchboard.Progress, error)
	Park(ctx context.Context, opID string, payload []byte, ttl time.Duration, maxCount int) error
	TakeParked(ctx context.Context, opID string) ([][]byte, error)
	// SendingOf tells which request of a change sent in batches (see
	// fleet.Sender) a tracking number is.
	SendingOf(ctx context.Context, opID, tracking string) (switchboard.Sending, error)
	ResultTargets(ctx context.Context, opID string) ([]string, error)
}

// Receiver takes EnCo's callbacks. Each one is authenticated (the shared
// secret for M2M, and for every kind the per-operation token, which must
// name a running operation of the callback's kind), size-limited and
// decoded as design.md's tolerant reading says, recorded once, and turned into queued Slack posts in the operation's
// thread. Any replica can receive any callback.
type Receiver struct {
	Store ReceiverStore
	// Secret is CALLBACK_SECRET: M2M callbacks must carry "Authorization: Bearer <Secret>".
	Secret string
	// NotifyChannel, when set, also receives every result.
	NotifyChannel string
	// BulkThreshold: changes with more targets than this reply in the thread
	// only for failures (see render.PostRules); 0 means render.DefaultBulkThreshold.
	BulkThreshold int
	// MaskNumbers hides the middle digits of phone numbers in posts.
	MaskNumbers bool
	// ParkTTL is how long a callback that arrived before its tracking number
	// was known waits for it (0 means 1 hour).
	ParkTTL time.Duration
	Log     *slog.Logger
	// OnCallback, when set, is told the outcome of every callback: its kind
	// ("m2m", "fmu", "call") and the HTTP status answered (for metrics).
	OnCallback func(kind string, status int)

	// ops caches, per callback token, operations whose tracking number is known.
	ops opCache
	// finished caches the answered targets of operations that take no new one.
	finished finishedOps
}

// batchedKey prefixes the operation cache's entries kept by operation id,
// for changes sent in batches (tokens are base64url, never with a colon).
const batchedKey = "op:"

// Callback paths, relative to PUBLIC_URL. FMU and voice callback URLs end
// with the operation's callback token: PathFMU + token, PathCall + token.
const (
	PathM2M  = "/callbacks/m2m"
	PathFMU  = "/callbacks/fmu/"
	PathCall = "/callbacks/call/"
)

// Routes registers the callback endpoints on mux.
func (rc *Receiver) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathM2M, rc.handleM2M)
	mux.HandleFunc("POST "+PathFMU+"{token}", rc.handleFMU)
	mux.HandleFunc("POST "+PathCall+"{token}", rc.handleCall)
}

func (rc *Receiver) log() *slog.Logger {
	if rc.Log == nil {
		return slog.Default()
	}
	return rc.Log
}

// callbackError is a refused callback: the status to answer and why (for the log).
type callbackError struct {
	status int
	reason string
}

func (e *callbackError) Error() string { return e.reason }

func refuse(status int, format string, args ...any) error {
	return &callbackError{status: status, reason: fmt.Sprintf(format, args...)}
}

// unavailable wraps a state-store failure: the sender should retry later.
func unavailable(err error) error {
	return &callbackError{status: http.StatusServiceUnavailable, reason: "state store: " + err.Error()}
}

func (rc *Receiver) finish(w http.ResponseWriter, kind string, start time.Time, status int, err error, attrs ...any) {
	if rc.OnCallback != nil {
		defer func() { rc.OnCallback(kind, status) }()
	}
	attrs = append(attrs, "callback", kind, "status", status, "elapsed", time.Since(start).Round(time.Microsecond))
	if err != nil {
		var ce *callbackError
		if errors.As(err, &ce) {
			status = ce.status
		} else {
			status = http.StatusInternalServerError
		}
		attrs[len(attrs)-3] = status
		rc.log().Warn("callback refused", append(attrs, "reason", err.Error())...)
		http.Error(w, http.StatusText(status), status)
		return
	}
	rc.log().Info("callback", attrs...)
	w.WriteHeader(status)
}

// readBody reads at most enco.MaxCallbackBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, enco.MaxCallbackBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, refuse(http.StatusRequestEntityTooLarge, "body over %d bytes", enco.MaxCallbackBody)
		}
		return nil, refuse(http.StatusBadRequest, "reading body: %v", err)
	}
	return body, nil
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (rc *Receiver) handleM2M(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status, opID, err := rc.m2m(w, r)
	rc.finish(w, "m2m", start, status, err, "operation", opID)
}

func (rc *Receiver) m2m(w http.ResponseWriter, r *http.Request) (int, string, error) {
	if rc.Secret == "" || !constantTimeEqual(r.Header.Get("Authorization"), "Bearer "+rc.Secret) {
		return 0, "", refuse(http.StatusUnauthorized, "missing or wrong Authorization secret")
	}
	ctx := r.Context()
	op, err := rc.authenticate(ctx, r.Header.Get("X-Callback-Token"), switchboard.CommandSIM)
	if err != nil {
		return 0, op.ID, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return 0, op.ID, err
	}
	res, err := enco.DecodeM2MResult(body)
	if err != nil {
		return 0, op.ID, refuse(http.StatusBadRequest, "malformed M2M result: %v", err)
	}
	if op.Params.Batch > 0 {
		return rc.batched(ctx, op, res, body)
	}
	switch tracking := op.Params.Tracking; {
	case tracking == "":
		// The API call that caused this callback has not returned yet: keep
		// it with the operation of the token that sent it until the tracking
		// number is stored (TrackingKnown delivers it if it is that
		// operation's).
		if err := rc.Store.Park(ctx, op.ID, body, cmp.Or(rc.ParkTTL, time.Hour), max(op.Expected, 1)); err != nil {
			if errors.Is(err, switchboard.ErrParkFull) {
				return 0, op.ID, refuse(http.StatusServiceUnavailable, "%d early callbacks wait already for this operation", max(op.Expected, 1))
			}
			return 0, op.ID, unavailable(err)
		}
		// The tracking number may have been stored between our read and the
		// park, and the requester may have taken the parked callbacks before
		// ours arrived: read again, and if that read fails, say so, so that
		// EnCo sends the callback again rather than leave it parked unseen.
		now, ok, err := rc.Store.Operation(ctx, op.ID)
		if err != nil {
			return 0, op.ID, unavailable(err)
		}
		if ok && now.Params.Tracking != "" {
			rc.TrackingKnown(ctx, op.ID)
		}
		return http.StatusAccepted, op.ID, nil
	case !constantTimeEqual(tracking, res.TrackingNumber):
		return 0, op.ID, refuse(http.StatusNotFound, "tracking number is not this operation's")
	}
	// Every target of a finished operation has answered: the answer is
	// known before anything is rendered or sent to the store.
	target := res.Device.Target().String()
	if dup, known := rc.finished.answered(op.ID, target, time.Now()); known {
		if !dup {
			return 0, op.ID, refuse(http.StatusConflict, "all %d targets answered already; %s is not one of them", op.Expected, target)
		}
		rc.log().Info("duplicate result ignored", "operation", op.ID, "target", target)
		return http.StatusOK, op.ID, nil
	}
	if err := rc.recordM2M(ctx, op, res); err != nil {
		return 0, op.ID, err
	}
	return http.StatusOK, op.ID, nil
}

// batched takes a callback of a change sent in batches: its tracking
// number must be one of the change's requests. One not known yet (its
// request has not returned) is parked as for a change sent at once, and
// delivered by TrackingKnown once that request's tracking number is
// stored.
func (rc *Receiver) batched(ctx context.Context, op switchboard.Operation, res enco.M2MResult, body []byte) (int, string, error) {
	sending, err := rc.Store.SendingOf(ctx, op.ID, res.TrackingNumber)
	if err != nil {
		return 0, op.ID, unavailable(err)
	}
	if sending.Known {
		if err := rc.recordBatched(ctx, op, sending.Batch, res); err != nil {
			return 0, op.ID, err
		}
		return http.StatusOK, op.ID, nil
	}
	if sending.AllSent {
		return 0, op.ID, refuse(http.StatusNotFound, "tracking number is none of this operation's")
	}
	if err := rc.Store.Park(ctx, op.ID, body, cmp.Or(rc.ParkTTL, time.Hour), max(op.Expected, 1)); err != nil {
		if errors.Is(err, switchboard.ErrParkFull) {
			return 0, op.ID, refuse(http.StatusServiceUnavailable, "%d early callbacks wait already for this operation", max(op.Expected, 1))
		}
		return 0, op.ID, unavailable(err)
	}
	// As for a change sent at once: the tracking number may have been
	// stored between the read and the park.
	if now, err := rc.Store.SendingOf(ctx, op.ID, res.TrackingNumber); err != nil {
		return 0, op.ID, unavailable(err)
	} else if now.Known || now.AllSent {
		rc.TrackingKnown(ctx, op.ID)
	}
	return http.StatusAccepted, op.ID, nil
}

// recordBatched records a card's result from request batch of op. When
// each request carried one card, the result is kept under that card as it
// was typed, and names it; otherwise under the card EnCo names.
func (rc *Receiver) recordBatched(ctx context.Context, op switchboard.Operation, batch int, res enco.M2MResult) error {
	if op.Params.Batch != 1 || batch < 0 || batch >= len(op.Targets) {
		return rc.recordM2M(ctx, op, res)
	}
	one := op
	one.Targets = op.Targets[batch : batch+1]
	result := render.M2MResult(one, res, rc.MaskNumbers)
	result.Target = one.Targets[0].String()
	return rc.record(ctx, op, result)
}

// deliverBatched delivers the callbacks parked for a change sent in
// batches whose tracking numbers are known now, and parks the others
// again until their request's tracking number is stored. Parking again
// follows the order callbacks do (park, then read again), so a tracking
// number stored meanwhile is not missed.
func (rc *Receiver) deliverBatched(ctx context.Context, op switchboard.Operation, parked [][]byte) {
	for len(parked) > 0 {
		var waiting [][]byte
		for i, body := range parked {
			res, err := enco.DecodeM2MResult(body)
			if err != nil {
				continue
			}
			sending, err := rc.Store.SendingOf(ctx, op.ID, res.TrackingNumber)
			if err != nil {
				rc.repark(ctx, op.ID, append(waiting, parked[i:]...), err)
				return
			}
			switch {
			case sending.Known:
				if err := rc.recordBatched(ctx, op, sending.Batch, res); err != nil {
					rc.log().Warn("parked callback refused", "err", err, "operation", op.ID)
				}
			case sending.AllSent:
				rc.log().Warn("parked callback names none of the operation's tracking numbers; dropped", "operation", op.ID)
			default:
				waiting = append(waiting, body)
			}
		}
		if len(waiting) == 0 {
			return
		}
		rc.repark(ctx, op.ID, waiting, nil)
		parked = nil
		for _, body := range waiting {
			res, _ := enco.DecodeM2MResult(body)
			if now, err := rc.Store.SendingOf(ctx, op.ID, res.TrackingNumber); err == nil && (now.Known || now.AllSent) {
				if parked, err = rc.Store.TakeParked(ctx, op.ID); err != nil {
					rc.log().Error("take parked callbacks", "err", err, "operation", op.ID)
					return
				}
				break
			}
		}
	}
}

// authenticate is the one authentication step of every kind of callback:
// the token names exactly one operation, the operation is of the command
// the callback is for (switchboard.CommandSIM, …), and it is still running
// (or done, so that a late duplicate is answered as such and a new device
// is refused by the store). Anything else records nothing: 401 without a token, 403 for an
// unknown token or another kind's, 410 for an operation that is gone,
// failed, cancelled or expired.
func (rc *Receiver) authenticate(ctx context.Context, token, command string) (switchboard.Operation, error) {
	if token == "" {
		return switchboard.Operation{}, refuse(http.StatusUnauthorized, "missing callback token")
	}
	op, cached := rc.ops.get(token, time.Now())
	if !cached {
		opID, ok, err := rc.Store.OperationForToken(ctx, token)
		if err != nil {
			return switchboard.Operation{}, unavailable(err)
		}
		if !ok {
			return switchboard.Operation{}, refuse(http.StatusForbidden, "callback token matches no operation")
		}
		// A change sent in batches has a token per request, all naming one
		// operation that may hold thousands of cards: one copy serves them.
		if byID, hit := rc.ops.get(batchedKey+opID, time.Now()); hit {
			op, ok = byID, true
		} else {
			op, ok, err = rc.Store.Operation(ctx, opID)
		}
		switch {
		case err != nil:
			return switchboard.Operation{ID: opID}, unavailable(err)
		case !ok:
			return switchboard.Operation{ID: opID}, refuse(http.StatusGone, "operation expired")
		}
	}
	switch {
	case switchboard.CommandOf(op.Kind) != command:
		return op, refuse(http.StatusForbidden, "callback token belongs to a %s operation", op.Kind)
	case op.Status != switchboard.StatusRunning && op.Status != switchboard.StatusDone:
		return op, refuse(http.StatusGone, "operation is %s", cmp.Or(op.Status, "not started"))
	}
	// An M2M operation's fields stop changing once its tracking number is
	// known, so any replica may keep a copy for a while; its status may
	// change, but the store checks that again when it records.
	if !cached && (op.Params.Tracking != "" || op.Params.Batch > 0) {
		rc.ops.put(token, op, time.Now())
		if op.Params.Batch > 0 {
			rc.ops.put(batchedKey+op.ID, op, time.Now())
		}
	}
	return op, nil
}

// TrackingKnown delivers the callbacks parked for an operation, now that
// its tracking number is stored. A parked callback naming another tracking
// number is dropped: its token was this operation's, so it can belong to no
// other.
func (rc *Receiver) TrackingKnown(ctx context.Context, opID string) {
	parked, err := rc.Store.TakeParked(ctx, opID)
	if err != nil {
		rc.log().Error("take parked callbacks", "err", err, "operation", opID)
		return
	}
	if len(parked) == 0 {
		return
	}
	op, ok, err := rc.Store.Operation(ctx, opID)
	if err != nil {
		rc.repark(ctx, opID, parked, err)
		return
	}
	if !ok {
		rc.log().Warn("parked callbacks outlived their operation; dropped", "operation", opID, "count", len(parked))
		return
	}
	if op.Params.Batch > 0 {
		rc.deliverBatched(ctx, op, parked)
		return
	}
	tracking := op.Params.Tracking
	for i, body := range parked {
		res, err := enco.DecodeM2MResult(body)
		if err != nil {
			continue // decoded once already before it was parked
		}
		if tracking == "" || !constantTimeEqual(tracking, res.TrackingNumber) {
			rc.log().Warn("parked callback names another tracking number; dropped", "operation", opID)
			continue
		}
		if err := rc.recordParked(ctx, op, res); err != nil {
			var ce *callbackError
			if errors.As(err, &ce) && ce.status == http.StatusServiceUnavailable {
				// EnCo was told 202 for these: keep what is left rather
				// than lose it.
				rc.repark(ctx, opID, parked[i:], err)
				return
			}
			rc.log().Warn("parked callback refused", "err", err, "operation", opID)
			continue
		}
		rc.log().Info("parked callback delivered", "operation", opID, "tracking", tracking)
	}
}

// recordParked records a parked callback, trying again a few times while
// the state store fails: EnCo was told 202 for it and will not send it again.
func (rc *Receiver) recordParked(ctx context.Context, op switchboard.Operation, res enco.M2MResult) error {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := rc.recordM2M(ctx, op, res)
		var ce *callbackError
		if err == nil || attempt == 4 || !errors.As(err, &ce) || ce.status != http.StatusServiceUnavailable {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// repark puts parked callbacks back when the state store kept them from
// being recorded, so that they are not lost with the taking; they wait
// there, as any parked callback does, for the operation's next delivery of
// parked callbacks, and expire with the parking.
func (rc *Receiver) repark(ctx context.Context, opID string, bodies [][]byte, cause error) {
	if cause != nil {
		rc.log().Error("parked callbacks not delivered; parking them again", "err", cause, "operation", opID, "count", len(bodies))
	}
	for _, b := range bodies {
		// These were admitted under the operation's cap once already.
		if err := rc.Store.Park(ctx, opID, b, cmp.Or(rc.ParkTTL, time.Hour), math.MaxInt32); err != nil {
			rc.log().Error("parked callback lost", "err", err, "operation", opID)
		}
	}
}

// recordM2M records what EnCo reported for one card of an M2M operation.
func (rc *Receiver) recordM2M(ctx context.Context, op switchboard.Operation, res enco.M2MResult) error {
	return rc.record(ctx, op, render.M2MResult(op, res, rc.MaskNumbers))
}

// record stores one result (the first for its target wins) and, in the same
// step, queues the posts it causes (the reply in the thread, the parent's
// progress, the copy for the notification channel and, with the last
// result, the summary) and appends its line to the audit trail.
func (rc *Receiver) record(ctx context.Context, op switchboard.Operation, result switchboard.Result) error {
	fx := render.ResultPosts(op, result, render.PostRules{NotifyChannel: rc.NotifyChannel, BulkThreshold: rc.BulkThreshold})
	fx.Audit = &switchboard.AuditEntry{At: result.At, UserID: op.UserID, Command: op.Kind, Decision: "callback result", OperationID: op.ID, Detail: fmt.Sprintf("%s ok=%t", result.Target, result.OK)}
	p, err := rc.Store.RecordResult(ctx, op.ID, result, fx)
	switch {
	case errors.Is(err, switchboard.ErrNotFound):
		return refuse(http.StatusGone, "operation expired")
	case errors.Is(err, switchboard.ErrClosed):
		return refuse(http.StatusGone, "operation takes no more results")
	case errors.Is(err, switchboard.ErrAllAnswered):
		rc.learnFinished(ctx, op.ID, p.Expected)
		return refuse(http.StatusConflict, "all %d targets answered already; %s is not one of them", p.Expected, result.Target)
	case err != nil:
		return unavailable(err)
	}
	if !p.First {
		rc.log().Info("duplicate result ignored", "operation", op.ID, "target", result.Target)
		if p.Complete() {
			rc.learnFinished(ctx, op.ID, p.Expected)
		}
	}
	return nil
}
