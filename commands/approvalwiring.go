package commands

import (
	"context"
	"time"

	"github.com/switchboard-bot/switchboard"
)

// The router's side of approvals: what an approved change runs, and what a
// workflow step waiting on a request does when it ends.

// RunApproved carries out a change once its request is approved: a
// workflow step's operation starts from pending, any other as a confirmed
// command's does.
func (r *Router) RunApproved(ctx context.Context, op switchboard.Operation) {
	if isStep(op) {
		r.startStep(ctx, op, "")
		return
	}
	r.execute(ctx, op, "")
}

// ApprovalWaiting moves the deadline of a workflow step's pending operation
// past its request's: the request's expiry, not the confirmation's, ends
// the step.
func (r *Router) ApprovalWaiting(ctx context.Context, op switchboard.Operation, until time.Time) {
	if !isStep(op) {
		return
	}
	op.ExpiresAt = until.Add(time.Minute)
	if err := r.scheduleExpiry(ctx, op); err != nil {
		r.log().Error("move a workflow step's deadline past its approval request", "err", err, "operation", op.ID)
	}
}

// ApprovalEnded closes a workflow step whose request ended without an
// approval; the step fails with why.
func (r *Router) ApprovalEnded(ctx context.Context, op switchboard.Operation, why string) {
	if !isStep(op) {
		return
	}
	if err := r.closeStep(ctx, op, switchboard.StatusCancelled, why); err != nil {
		r.log().Info("workflow step closed before its approval request ended", "err", err, "operation", op.ID)
	}
}

// gate passes a confirmed change through the approvals; without them set
// up, every change runs at once.
func (r *Router) gate(ctx context.Context, op switchboard.Operation, responseURL string) Verdict {
	if r.Approvals == nil {
		return RunsNow
	}
	return r.Approvals.Gate(ctx, op, len(op.Targets), responseURL)
}
