package notify

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/render"
)

// ExpirerStore is the shared state the expiry sweeper needs.
type ExpirerStore interface {
	ClaimExpiries(ctx context.Context, now time.Time, n int, lease time.Duration) ([]string, error)
	ExpireOperation(ctx context.Context, opID string, build func(switchboard.Operation, []switchboard.Result) []switchboard.Outgoing) (switchboard.Operation, bool, error)
	Audit(ctx context.Context, e switchboard.AuditEntry) error
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
	// OnExpired, when set, is called with the kind of each operation this
	// replica expired (for metrics).
	OnExpired func(kind string)
}

// maxSweepBatch is how many due operations one claim takes.
const maxSweepBatch = 100

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
			op, ok, err := e.Store.ExpireOperation(ctx, id, func(op switchboard.Operation, results []switchboard.Result) []switchboard.Outgoing {
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
			if e.OnExpired != nil {
				e.OnExpired(op.Kind)
			}
			if err := e.Store.Audit(ctx, switchboard.AuditEntry{At: time.Now(), UserID: op.UserID, Command: op.Kind, Decision: "expired", OperationID: op.ID}); err != nil {
				e.log().Error("audit append failed", "err", err, "operation", op.ID)
			}
		}
		if len(ids) < maxSweepBatch {
			return expired, nil
		}
	}
}

// notice builds the messages that close an expired operation (see
// render.ExpiryPosts). It returns nil for an operation not due at now (a
// step confirmed meanwhile moved its deadline).
func (e *Expirer) notice(now time.Time, op switchboard.Operation, results []switchboard.Result) []switchboard.Outgoing {
	if op.ExpiresAt.UnixMilli() > now.UnixMilli() {
		return nil
	}
	return render.ExpiryPosts(op, results, e.NotifyChannel, e.MaskNumbers)
}
