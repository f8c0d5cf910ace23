package commands

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/state"
)

// confirmer saves a change that waits for a click and asks for the click.
type confirmer struct {
	store Confirmations
	gate  *gate
	ttl   time.Duration // how long a button stays valid (0 means 5 minutes)
	log   *slog.Logger
}

func (cf *confirmer) confirmTTL() time.Duration { return cmp.Or(cf.ttl, 5*time.Minute) }

// pending is a change waiting for a confirmation click.
type pending struct {
	op           switchboard.Operation
	title        string
	lines        []string
	note         string
	confirmLabel string
	danger       bool
}

// confirm saves a pending change and returns the ephemeral prompt with its
// buttons. Each request for a change counts against the user's rate limit.
func (cf *confirmer) confirm(ctx context.Context, c *command, p pending) Reply {
	if reply, ok := cf.gate.rateLimit(ctx, c); !ok {
		return reply
	}
	id := state.NewHex(16)
	p.op.ID = state.NewHex(16)
	c.operation = p.op.ID
	p.op.UserID = c.UserID
	p.op.ChannelID = c.ChannelID
	p.op.Status = switchboard.StatusPending
	p.op.Params.Title = p.title
	ttl := cf.confirmTTL()
	if err := cf.store.SaveConfirmation(ctx, newConfirmation(id, p.op.Kind, p.op, time.Now(), ttl), ttl); err != nil {
		ref := state.NewHex(4)
		cf.log.Error("save confirmation", "err", err, "ref", ref, "user", c.UserID)
		return storeDown(ref)
	}
	cf.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: p.op.Kind, Decision: "confirmation requested", OperationID: p.op.ID, Detail: p.title})
	return p.prompt("", id, ttl)
}

// prompt asks to confirm or cancel p (ask, when set, says who asks), with
// buttons that carry the confirmation's id and say when they expire.
func (p pending) prompt(ask, id string, ttl time.Duration) Reply {
	note := p.note
	if note != "" {
		note += " "
	}
	note += fmt.Sprintf("This button expires in %s.", humanDuration(ttl))
	return Reply{
		Text:    fmt.Sprintf("%s%s? Confirm or cancel.", ask, p.title),
		Blocks:  confirmBlocks(p.title+"?", p.lines, note, p.confirmLabel, p.danger, id),
		outcome: "confirm",
	}
}

// newConfirmation keeps op, from at for ttl, until a click on the buttons
// carrying id answers it. action is what the buttons do: the operation's
// kind for a confirmation, ActionApprove for an approval.
func newConfirmation(id, action string, op switchboard.Operation, at time.Time, ttl time.Duration) state.Confirmation {
	opJSON, err := json.Marshal(op)
	if err != nil {
		panic(err) // a struct of strings always encodes
	}
	return state.Confirmation{
		ID: id, OperationID: op.ID, UserID: op.UserID, Action: action,
		CreatedAt: at, ExpiresAt: at.Add(ttl),
		Data: map[string]string{"op": string(opJSON)},
	}
}

// confirmedOperation is the operation a confirmation keeps.
func confirmedOperation(conf state.Confirmation) (switchboard.Operation, error) {
	var op switchboard.Operation
	err := json.Unmarshal([]byte(conf.Data["op"]), &op)
	return op, err
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int(d.Round(time.Minute)/time.Minute), "minute")
	}
	return plural(int(d.Round(time.Second)/time.Second), "second")
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Confirmations keeps the changes that wait for their requester's click.
type Confirmations interface {
	SaveConfirmation(ctx context.Context, c state.Confirmation, ttl time.Duration) error
	PeekConfirmation(ctx context.Context, id string) (state.Confirmation, bool, error)
	ConsumeConfirmation(ctx context.Context, id string) (state.Confirmation, bool, error)
}
