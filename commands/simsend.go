package commands

import (
	"context"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/state"
)

// M2MSender sends a confirmed SIM change to EnCo in batches, as a job any
// replica can carry on (fleet.Sender implements it).
type M2MSender interface {
	// BatchSize is how many cards each request of a change of n cards carries.
	BatchSize(n int) int
	// Start sends a stored, running operation.
	Start(ctx context.Context, op switchboard.Operation) error
}

// sendM2M carries out a confirmed /sim change through the M2M sender: the
// parent message that will hold the thread, the operation with its batch
// size and its deadline, then the job that sends its requests.
func (r *Router) sendM2M(ctx context.Context, op switchboard.Operation, responseURL string) {
	op.Params.Batch = r.M2MSender.BatchSize(len(op.Targets))
	if !r.startOperation(ctx, &op, responseURL) {
		return
	}
	err := r.scheduleExpiry(ctx, op)
	if err == nil {
		err = r.M2MSender.Start(ctx, op)
	}
	if err != nil {
		r.audit(ctx, state.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "not started", OperationID: op.ID, Detail: err.Error()})
		r.failOperation(ctx, op, r.storeFailure(err, "start sending")+" Nothing was sent to EnCo.")
	}
}
