package commands

import (
	"context"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/state"
)

// VoiceAPI is the voice call-out part of the EnCo client.
type VoiceAPI interface {
	PlaceCall(ctx context.Context, r enco.CallRequest) (string, error)
	CDRs(ctx context.Context, q enco.CDRQuery) ([]enco.CDR, error)
}

func (r *Router) call(ctx context.Context, c *command) (Reply, func(context.Context)) {
	return textReply(":construction: `/call` is not available yet."), nil
}

func (r *Router) runCall(ctx context.Context, op state.Operation, responseURL string) {}
