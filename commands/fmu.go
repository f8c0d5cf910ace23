package commands

import (
	"context"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/state"
)

// FMUAPI is the FMU part of the EnCo client.
type FMUAPI interface {
	FMUStatus(ctx context.Context, msisdn string) (enco.FMUStatus, error)
	SetFMUStatus(ctx context.Context, msisdn string, p enco.Profile) error
	RequestFMUStatuses(ctx context.Context, msisdns []string, callbackURL string) error
	RequestSetFMUStatuses(ctx context.Context, msisdns []string, p enco.Profile, callbackURL string) error
}

func (r *Router) fmu(ctx context.Context, c *command) (Reply, func(context.Context)) {
	return textReply(":construction: `/fmu` is not available yet."), nil
}

func (r *Router) runFMU(ctx context.Context, op state.Operation, responseURL string) {}
