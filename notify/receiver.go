package notify

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/state"
)

// ReceiverStore is the shared state the callback receiver needs.
type ReceiverStore interface {
	OperationForToken(ctx context.Context, token string) (string, bool, error)
	Operation(ctx context.Context, id string) (state.Operation, bool, error)
	UpdateOperation(ctx context.Context, id string, fn func(*state.Operation) error) (state.Operation, error)
	TrackedOperation(ctx context.Context, trackingNumber string) (string, bool, error)
	RecordResult(ctx context.Context, opID string, r state.Result, posts state.Effects) (state.Progress, error)
	Park(ctx context.Context, trackingNumber string, payload []byte, ttl time.Duration) error
	TakeParked(ctx context.Context, trackingNumber string) ([][]byte, error)
}

// Receiver takes EnCo's callbacks. Each one is authenticated (the shared
// secret and the per-operation token), decoded strictly, matched to its
// operation in Redis, recorded once, and turned into queued Slack posts in the
// operation's thread. Any replica can receive any callback.
type Receiver struct {
	Store ReceiverStore
	// Secret is CALLBACK_SECRET: M2M callbacks must carry "Authorization: Bearer <Secret>".
	Secret string
	// NotifyChannel, when set, also receives every result.
	NotifyChannel string
	// BulkThreshold: changes with more targets than this reply in the thread
	// only for failures (see PostRules); 0 means DefaultBulkThreshold.
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
}

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
	token := r.Header.Get("X-Callback-Token")
	if token == "" {
		return 0, "", refuse(http.StatusUnauthorized, "missing x-callback-token")
	}
	body, err := readBody(w, r)
	if err != nil {
		return 0, "", err
	}
	res, err := enco.DecodeM2MResult(body)
	if err != nil {
		return 0, "", refuse(http.StatusBadRequest, "malformed M2M result: %v", err)
	}
	ctx := r.Context()
	op, cached := rc.ops.get(token, time.Now())
	opID := op.ID
	if !cached {
		var ok bool
		opID, ok, err = rc.Store.OperationForToken(ctx, token)
		if err != nil {
			return 0, "", unavailable(err)
		}
		if !ok {
			return 0, "", refuse(http.StatusForbidden, "x-callback-token matches no operation")
		}
		op, ok, err = rc.Store.Operation(ctx, opID)
		if err != nil {
			return 0, opID, unavailable(err)
		}
		if !ok {
			return 0, opID, refuse(http.StatusGone, "operation expired")
		}
		if op.Params["tracking"] != "" {
			rc.ops.put(token, op, time.Now())
		}
	}
	switch tracking := op.Params["tracking"]; {
	case tracking == "":
		// The API call that caused this callback has not returned yet: keep it
		// until the tracking number is stored (TrackingKnown delivers it).
		if err := rc.Store.Park(ctx, res.TrackingNumber, body, orDuration(rc.ParkTTL, time.Hour)); err != nil {
			return 0, opID, unavailable(err)
		}
		// The mapping may have been stored between our read and the park.
		if mapped, ok, err := rc.Store.TrackedOperation(ctx, res.TrackingNumber); err == nil && ok && mapped == opID {
			rc.TrackingKnown(ctx, res.TrackingNumber)
		}
		return http.StatusAccepted, opID, nil
	case !constantTimeEqual(tracking, res.TrackingNumber):
		return 0, opID, refuse(http.StatusNotFound, "tracking number is not this operation's")
	}
	if err := rc.recordM2M(ctx, op, res); err != nil {
		return 0, opID, err
	}
	return http.StatusOK, opID, nil
}

// TrackingKnown delivers the callbacks parked for a tracking number, now that
// it is mapped to its operation.
func (rc *Receiver) TrackingKnown(ctx context.Context, trackingNumber string) {
	opID, ok, err := rc.Store.TrackedOperation(ctx, trackingNumber)
	if err != nil || !ok {
		if err != nil {
			rc.log().Error("tracking lookup", "err", err, "tracking", trackingNumber)
		}
		return
	}
	parked, err := rc.Store.TakeParked(ctx, trackingNumber)
	if err != nil {
		rc.log().Error("take parked callbacks", "err", err, "tracking", trackingNumber)
		return
	}
	if len(parked) == 0 {
		return
	}
	op, ok, err := rc.Store.Operation(ctx, opID)
	if err != nil || !ok {
		rc.log().Error("parked callbacks lost their operation", "err", err, "operation", opID, "count", len(parked))
		return
	}
	for _, body := range parked {
		res, err := enco.DecodeM2MResult(body)
		if err != nil {
			continue // decoded once already before it was parked
		}
		if err := rc.recordM2M(ctx, op, res); err != nil {
			rc.log().Error("deliver parked callback", "err", err, "operation", opID)
			continue
		}
		rc.log().Info("parked callback delivered", "operation", opID, "tracking", trackingNumber)
	}
}

func (rc *Receiver) recordM2M(ctx context.Context, op state.Operation, res enco.M2MResult) error {
	label := DeviceLabel(res.Device, rc.MaskNumbers)
	action := op.Params["action"]
	var text string
	if res.Succeeded() {
		text = fmt.Sprintf(":white_check_mark: %s — %s done", label, action)
	} else {
		why := strings.Join(res.Messages, "; ")
		if why == "" {
			why = "no reason given"
		}
		text = fmt.Sprintf(":x: %s — %s %s: %s", label, action, failedWords(res.ResultStatus), why)
	}
	result := state.Result{
		Target: strings.ToLower(string(res.Device.IdentifierType)) + ":" + res.Device.Identifier,
		OK:     res.Succeeded(),
		Detail: text,
		At:     time.Now(),
	}
	return rc.record(ctx, op, result)
}

// record stores one result (the first for its target wins) and, in the same
// step, queues the posts it causes (the reply in the thread, the parent's
// progress, the copy for the notification channel and, with the last
// result, the summary) and appends its line to the audit trail.
func (rc *Receiver) record(ctx context.Context, op state.Operation, result state.Result) error {
	fx := ResultPosts(op, result, PostRules{NotifyChannel: rc.NotifyChannel, BulkThreshold: rc.BulkThreshold})
	fx.Audit = &state.AuditEntry{At: result.At, UserID: op.UserID, Command: op.Kind, Decision: "callback result", OperationID: op.ID, Detail: fmt.Sprintf("%s ok=%t", result.Target, result.OK)}
	p, err := rc.Store.RecordResult(ctx, op.ID, result, fx)
	if errors.Is(err, state.ErrNotFound) {
		return refuse(http.StatusGone, "operation expired")
	}
	if err != nil {
		return unavailable(err)
	}
	if !p.First {
		rc.log().Info("duplicate result ignored", "operation", op.ID, "target", result.Target)
		return nil
	}
	if p.Complete() {
		if _, err := rc.Store.UpdateOperation(ctx, op.ID, func(o *state.Operation) error {
			o.Status = state.StatusDone
			return nil
		}); err != nil {
			rc.log().Error("mark operation done", "err", err, "operation", op.ID)
		}
	}
	return nil
}

// failedWords says that a change failed, with EnCo's status word when it
// adds something: "failed (Rejected)", but "failed", not "failed (Failed)".
func failedWords(status string) string {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "", "failed", "failure", "fail", "error":
		return "failed"
	}
	return "failed (" + status + ")"
}

func summaryText(op state.Operation, p state.Progress) string {
	title := op.Params["title"]
	if p.Failed == 0 {
		return fmt.Sprintf(":tada: Finished: %s — all %d succeeded.", title, p.Done)
	}
	return fmt.Sprintf(":warning: Finished: %s — %d succeeded, %d failed (see the replies above).", title, p.Done, p.Failed)
}

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}
