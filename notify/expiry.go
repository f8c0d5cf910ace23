package notify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/state"
)

// ExpirerStore is the shared state the expiry sweeper needs.
type ExpirerStore interface {
	ClaimExpiries(ctx context.Context, now time.Time, n int, lease time.Duration) ([]string, error)
	ExpireOperation(ctx context.Context, opID string, build func(switchboard.Operation, []state.Result) []state.Outgoing) (switchboard.Operation, bool, error)
	Audit(ctx context.Context, e state.AuditEntry) error
}

// Expirer closes operations whose deadline passed while some of their
// targets never answered (an FMU number EnCo never reported on, a call whose
// record never came): it names them in the operation's thread, marks the
// operation expired and updates its parent message. Every replica may run
// one; each due operation is handled by one of them.
type Expirer struct {
	Store ExpirerStore
	// Interval is the time between sweeps (0 means 15 s).
	Interval time.Duration
	// Lease is how long a claimed operation is left to this replica before
	// another may take it over (0 means 1 minute).
	Lease time.Duration
	// MaskNumbers hides the middle digits of phone numbers in posts.
	MaskNumbers bool
	// NotifyChannel, when set, also receives every expiry notice.
	NotifyChannel string
	Log           *slog.Logger
}

// maxSweepBatch is how many due operations one claim takes.
const maxSweepBatch = 100

// maxNamed is how many unanswered targets an expiry notice lists by name.
const maxNamed = 50

func (e *Expirer) log() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
}

// Run sweeps every Interval until ctx ends. Store errors are logged and
// retried at the next sweep; they never stop the loop.
func (e *Expirer) Run(ctx context.Context) error {
	t := time.NewTicker(cmp.Or(e.Interval, 15*time.Second))
	defer t.Stop()
	for {
		if _, err := e.Sweep(ctx, time.Now()); err != nil && ctx.Err() == nil {
			e.log().Warn("expiry sweep failed; retrying at the next one", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep expires the operations due at now and returns how many it expired.
func (e *Expirer) Sweep(ctx context.Context, now time.Time) (int, error) {
	expired := 0
	for {
		ids, err := e.Store.ClaimExpiries(ctx, now, maxSweepBatch, cmp.Or(e.Lease, time.Minute))
		if err != nil {
			return expired, err
		}
		for _, id := range ids {
			op, ok, err := e.Store.ExpireOperation(ctx, id, func(op switchboard.Operation, results []state.Result) []state.Outgoing {
				return e.notice(now, op, results)
			})
			if err != nil {
				// Claimed for one lease: another sweep retries it after that.
				e.log().Error("expire operation", "err", err, "operation", id)
				continue
			}
			if !ok {
				continue
			}
			expired++
			e.log().Info("operation expired", "operation", id, "kind", op.Kind)
			if err := e.Store.Audit(ctx, state.AuditEntry{At: time.Now(), UserID: op.UserID, Command: op.Kind, Decision: "expired", OperationID: op.ID}); err != nil {
				e.log().Error("audit append failed", "err", err, "operation", op.ID)
			}
		}
		if len(ids) < maxSweepBatch {
			return expired, nil
		}
	}
}

// notice builds the messages that close an expired operation: the names of
// the targets that never answered, in its thread, and its parent's final
// state; for a workflow step, the step's failure too. An operation that
// waited for a step's confirmation has no thread yet: its step fails, saying
// nobody confirmed. It returns nil for an operation not due at now (a step
// confirmed meanwhile moved its deadline).
func (e *Expirer) notice(now time.Time, op switchboard.Operation, results []state.Result) []state.Outgoing {
	if op.ExpiresAt.UnixMilli() > now.UnixMilli() {
		return nil
	}
	exec := op.Params.Step
	if op.Status == switchboard.StatusPending {
		return []state.Outgoing{StepFailure(exec, op.ID, fmt.Sprintf("<@%s> did not confirm or cancel %s in time, so nothing was changed.", op.UserID, lowerFirst(op.Params.Title)))}
	}
	text := ExpiryText(op, results, e.MaskNumbers)
	msgs := []state.Outgoing{
		{Kind: KindPost, Channel: op.ChannelID, ThreadTS: op.ThreadTS, Text: text, OperationID: op.ID},
		{Kind: KindProgress, Channel: op.ChannelID, TS: op.ThreadTS, OperationID: op.ID},
	}
	if missing, others := unanswered(op, results); len(missing) > maxNamed && others == 0 && switchboard.CommandOf(op.Kind) != switchboard.CommandCall {
		msgs = append(msgs, state.Outgoing{Kind: KindFile, Channel: op.ChannelID, ThreadTS: op.ThreadTS, OperationID: op.ID,
			Text: unansweredFile(op, missing, e.MaskNumbers)})
	}
	if e.NotifyChannel != "" {
		msgs = append(msgs, state.Outgoing{Kind: KindPost, Channel: e.NotifyChannel, OperationID: op.ID,
			Text: fmt.Sprintf("%s — %s, requested by <@%s>", text, op.Params.Title, op.UserID)})
	}
	if exec != "" {
		msgs = append(msgs, StepFailure(exec, op.ID, strings.TrimPrefix(text, ":hourglass: ")))
	}
	return msgs
}

// lowerFirst turns a title ("Deactivate 2 SIM cards") into words for the
// middle of a sentence.
func lowerFirst(s string) string {
	if s == "" {
		return "the request"
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// ExpiryText says which of an operation's targets never answered. Past
// maxNamed it says how many it left out; notice attaches them all.
func ExpiryText(op switchboard.Operation, results []state.Result, mask bool) string {
	if switchboard.CommandOf(op.Kind) == switchboard.CommandCall {
		return ":hourglass: EnCo sent no call record for this call, so its outcome is unknown. `/call cdr` lists the calls EnCo has recorded."
	}
	missing, othersNamed := unanswered(op, results)
	count := len(op.Targets) - len(results)
	if len(missing) == 0 || count <= 0 {
		return fmt.Sprintf(":hourglass: The request expired before EnCo confirmed it was complete (%d of %d answered).", len(results), len(op.Targets))
	}
	if othersNamed > 0 {
		// Some answers named the card otherwise than the request did, so the
		// targets without an answer under their own name include some that
		// did answer: naming them would be wrong.
		return fmt.Sprintf(":hourglass: No answer from EnCo for %d of %d before the request expired. EnCo named the cards that answered by another identifier than the one you gave, so the replies above show which answered.", count, len(op.Targets))
	}
	names := make([]string, 0, min(len(missing), maxNamed))
	for _, t := range missing[:min(len(missing), maxNamed)] {
		names = append(names, TargetLabel(op, t, mask))
	}
	text := fmt.Sprintf(":hourglass: No answer from EnCo for %d of %d before the request expired: %s", len(missing), len(op.Targets), strings.Join(names, ", "))
	if len(missing) > maxNamed {
		return text + fmt.Sprintf(" … %d more not shown (%d of %d named); all %d are in the file attached to the request's thread.", len(missing)-maxNamed, maxNamed, len(missing), len(missing))
	}
	return text + "."
}

// unanswered lists the targets of op that have no result under their own
// name, in op's order, and counts the results kept under a name that is none
// of the targets (an ICCID where the request gave a number): when there are
// such results, missing also holds targets that did answer.
func unanswered(op switchboard.Operation, results []state.Result) (missing []switchboard.Target, othersNamed int) {
	isTarget := make(map[string]bool, len(op.Targets))
	for _, t := range op.Targets {
		isTarget[t.String()] = true
	}
	answered := make(map[string]bool, len(results))
	for _, r := range results {
		answered[r.Target] = true
		if !isTarget[r.Target] {
			othersNamed++
		}
	}
	for _, t := range op.Targets {
		if !answered[t.String()] {
			missing = append(missing, t)
		}
	}
	return missing, othersNamed
}

// unansweredFile is the CSV file of the targets that never answered, one a
// line, masked as the thread's posts are.
func unansweredFile(op switchboard.Operation, missing []switchboard.Target, mask bool) string {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"target"})
	for _, t := range missing {
		_ = w.Write([]string{TargetLabel(op, t, mask)})
	}
	w.Flush() // writes to a bytes.Buffer cannot fail
	return buf.String()
}

// TargetLabel shows one of an operation's targets to people: a number
// (masked when asked) with the person it belongs to when the command named
// them, or a SIM's ICCID or IMSI.
func TargetLabel(op switchboard.Operation, target switchboard.Target, mask bool) string {
	if target.Type == "" {
		return NumberLabel(target.ID, mask)
	}
	label := DeviceLabel(enco.TargetDevice(target), mask)
	if user := op.Params.Who[target.ID]; user != "" {
		label = fmt.Sprintf("<@%s> (%s)", user, label)
	}
	return label
}
