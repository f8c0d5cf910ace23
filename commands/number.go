package commands

import (
	"context"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/state"
)

// NumbersAPI is the FlexIO number-management part of the EnCo client.
type NumbersAPI interface {
	AvailableNumbers(ctx context.Context, f enco.NumberFilter) ([]enco.PhoneNumber, error)
	HeldNumbers(ctx context.Context) ([]enco.PhoneNumber, error)
	ReserveNumber(ctx context.Context, r enco.ReserveRequest) (enco.PhoneNumber, error)
	ReleaseNumber(ctx context.Context, number string) error
}

func (r *Router) number(ctx context.Context, c *command) (Reply, func(context.Context)) {
	return textReply(":construction: `/number` is not available yet."), nil
}

func (r *Router) runNumber(ctx context.Context, op state.Operation, responseURL string) {}
