package commands

import (
	"context"

	"github.com/switchboard-bot/switchboard"
)

// M2MSender sends a confirmed SIM change to EnCo in batches, as a job any
// replica can carry on (fleet.Sender implements it).
type M2MSender interface {
	// BatchSize is how many cards each request of a change of n cards carries.
	BatchSize(n int) int
	// Start sends a stored, running operation.
	Start(ctx context.Context, op switchboard.Operation) error
}

// send carries out a confirmed /sim change through the M2M sender: the
// parent message that will hold the thread, the operation with its batch
// size and its deadline, then the job that sends its requests.
func (sm *simCommand) send(ctx context.Context, op switchboard.Operation, responseURL string) {
	op.Params.Batch = sm.sender.BatchSize(len(op.Targets))
	if !sm.ops.startOperation(ctx, &op, responseURL) {
		return
	}
	err := sm.ops.scheduleExpiry(ctx, op)
	if err == nil {
		err = sm.sender.Start(ctx, op)
	}
	if err != nil {
		sm.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "not started", OperationID: op.ID, Detail: err.Error()})
		sm.ops.failOperation(ctx, op, sm.ops.storeFailure(err, "start sending")+" Nothing was sent to EnCo.")
	}
}
