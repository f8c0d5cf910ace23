package commands

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard-bot/switchboard"
)

// approvalHooks tie the approvals to the rest of the commands: what an
// approved change runs, and what a workflow step waiting on a request does.
type approvalHooks struct {
	steps *stepRunner
	exec  executor
	ops   *operator
	log   *slog.Logger
}

// run carries out a change once its request is approved: a workflow step's
// operation starts from pending, any other as a confirmed command's does.
func (h approvalHooks) run(ctx context.Context, op switchboard.Operation) {
	if isStep(op) {
		h.steps.startStep(ctx, op, "")
		return
	}
	h.exec.execute(ctx, op, "")
}

// waiting moves the deadline of a workflow step's pending operation past
// its request's: the request's expiry, not the confirmation's, ends the
// step.
func (h approvalHooks) waiting(ctx context.Context, op switchboard.Operation, until time.Time) {
	if !isStep(op) {
		return
	}
	op.ExpiresAt = until.Add(time.Minute)
	if err := h.ops.scheduleExpiry(ctx, op); err != nil {
		h.log.Error("move a workflow step's deadline past its approval request", "err", err, "operation", op.ID)
	}
}

// ended closes a workflow step whose request ended without an approval;
// the step fails with why.
func (h approvalHooks) ended(ctx context.Context, op switchboard.Operation, why string) {
	if !isStep(op) {
		return
	}
	if err := h.steps.closeStep(ctx, op, switchboard.StatusCancelled, why); err != nil {
		h.log.Info("workflow step closed before its approval request ended", "err", err, "operation", op.ID)
	}
}
