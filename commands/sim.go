package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/notify"
	"github.com/switchboard-bot/switchboard/phone"
	"github.com/switchboard-bot/switchboard/state"
)

const simUsage = "*Usage*\n" +
	"`/sim status <ids>` — state and plans of SIM cards\n" +
	"`/sim activate <ids>` · `/sim deactivate <ids>` · `/sim reactivate <ids>` · `/sim terminate <ids>` — asks you to confirm first\n" +
	"Ids are mobile numbers (`+32 470 12 34 56`, `0470123456`) or `iccid:8932…` / `imsi:206…`, separated by spaces or commas.\n" +
	"Example: `/sim deactivate 0470 12 34 56, iccid:89320123456789012345`\n" +
	"`/sim terminate` also needs a second person's approval. `/sim audit [operation-id|@person]` shows the audit trail (`audit.read`)."

// simChange describes one state-changing /sim subcommand.
type simChange struct {
	action enco.M2MAction
	verb   string // for titles: "Deactivate"
	done   string // for results: "deactivated"
	note   string // what it means, shown on the confirmation
	danger bool
}

var simChanges = map[string]simChange{
	"activate":   {enco.Activation, "Activate", "activated", "Active cards can be billed for their plans.", false},
	"deactivate": {enco.Deactivation, "Deactivate", "deactivated", "The cards stop working until they are reactivated.", true},
	"reactivate": {enco.Reactivation, "Reactivate", "reactivated", "The cards work again and are billed again.", false},
	"terminate":  {enco.Termination, "Terminate", "terminated", "Termination is final: a terminated card cannot be brought back.", true},
}

func (r *Router) sim(ctx context.Context, c *command) (Reply, func(context.Context)) {
	if len(c.toks) == 0 || strings.EqualFold(c.toks[0].text, "help") {
		return textReply(simUsage), nil
	}
	sub := strings.ToLower(c.toks[0].text)
	args := c.toks[1:]
	if sub == "audit" {
		return r.auditCmd(ctx, c, args), nil
	}
	change, isChange := simChanges[sub]
	if sub != "status" && !isChange {
		return usageReply(usageErr(simUsage, "`%s` is not a /sim subcommand. Use `status`, `activate`, `deactivate`, `reactivate` or `terminate`.", c.toks[0].text)), nil
	}
	devices, err := r.simDevices(sub, args)
	if err != nil {
		return usageReply(err), nil
	}
	perm := "sim.read"
	if isChange {
		perm = "sim." + sub
	}
	if reply, ok := r.allow(ctx, c, perm); !ok {
		return reply, nil
	}
	if !isChange {
		return textReply(fmt.Sprintf(":mag: Looking up %s…", plural(len(devices), "SIM card"))), func(ctx context.Context) { r.simStatus(ctx, c, devices) }
	}
	targets := make([]string, len(devices))
	lines := make([]string, len(devices))
	for i, d := range devices {
		targets[i] = deviceTarget(d)
		lines[i] = deviceLabel(d, false)
	}
	title := fmt.Sprintf("%s %s", change.verb, plural(len(devices), "SIM card"))
	return r.confirm(ctx, c, pending{
		op: state.Operation{
			Kind:     "sim." + sub,
			Targets:  targets,
			Expected: len(devices),
			Params:   map[string]string{"action": string(change.action)},
		},
		title:        title,
		lines:        lines,
		note:         change.note,
		confirmLabel: change.verb,
		danger:       change.danger,
	}), nil
}

// simDevices reads the ids of a /sim command.
func (r *Router) simDevices(sub string, toks []token) ([]enco.Device, *UsageError) {
	if len(toks) == 0 {
		return nil, usageErr(simUsage, "`/sim %s` needs at least one SIM: a mobile number, `iccid:…` or `imsi:…`.", sub)
	}
	var devices []enco.Device
	seen := map[string]bool{}
	var run []token // consecutive number tokens, read together
	flush := func() *UsageError {
		if len(run) == 0 {
			return nil
		}
		nums, err := numbers(simUsage, run)
		run = nil
		if err != nil {
			return err.(*UsageError)
		}
		for _, n := range nums {
			if n.Kind == phone.Special {
				return usageErr(simUsage, "`%s` is a short service number (%s), not a SIM card's number.", n.Digits, n.Kind)
			}
			devices = append(devices, enco.Device{Identifier: n.Digits, IdentifierType: enco.MSISDN})
		}
		return nil
	}
	for _, t := range toks {
		if t.user != "" || t.group != "" {
			return nil, usageErr(simUsage, "`%s`: /sim takes SIM ids, not people. Give the card's number, `iccid:…` or `imsi:…`.", t.text)
		}
		kind, value, hasPrefix := strings.Cut(t.text, ":")
		if !hasPrefix {
			run = append(run, t)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		d, err := prefixedDevice(strings.ToLower(kind), value, t.text)
		if err != nil {
			return nil, err
		}
		devices = append(devices, d)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	var unique []enco.Device
	for _, d := range devices {
		k := deviceTarget(d)
		if !seen[k] {
			seen[k] = true
			unique = append(unique, d)
		}
	}
	if max := r.maxTargets(); len(unique) > max {
		return nil, usageErr(simUsage, "That is %d SIM cards; one command takes at most %d. Split the list into several commands.", len(unique), max)
	}
	return unique, nil
}

func prefixedDevice(kind, value, text string) (enco.Device, *UsageError) {
	digitsOnly := value != "" && strings.Trim(value, "0123456789") == ""
	switch kind {
	case "iccid":
		if !digitsOnly || len(value) < 18 || len(value) > 22 {
			return enco.Device{}, usageErr(simUsage, "`%s` is not an ICCID: an ICCID is 18 to 22 digits, printed on the card (e.g. `iccid:89320123456789012345`).", text)
		}
		return enco.Device{Identifier: value, IdentifierType: enco.ICCID}, nil
	case "imsi":
		if !digitsOnly || len(value) < 14 || len(value) > 15 {
			return enco.Device{}, usageErr(simUsage, "`%s` is not an IMSI: an IMSI is 15 digits starting with the country and network code (e.g. `imsi:206011234567890`).", text)
		}
		return enco.Device{Identifier: value, IdentifierType: enco.IMSI}, nil
	case "msisdn":
		nums, err := numbers(simUsage, []token{{text: value, literal: true}})
		if err != nil {
			return enco.Device{}, err.(*UsageError)
		}
		return enco.Device{Identifier: nums[0].Digits, IdentifierType: enco.MSISDN}, nil
	}
	return enco.Device{}, usageErr(simUsage, "`%s`: unknown id type `%s:`. Use `iccid:`, `imsi:` or just the mobile number.", text, kind)
}

// deviceTarget is how a device is kept in an operation: "msisdn:324…".
func deviceTarget(d enco.Device) string {
	return strings.ToLower(string(d.IdentifierType)) + ":" + d.Identifier
}

func targetDevice(s string) enco.Device {
	kind, id, _ := strings.Cut(s, ":")
	return enco.Device{Identifier: id, IdentifierType: enco.IdentifierType(strings.ToUpper(kind))}
}

// deviceLabel shows a device to people, masking numbers when asked to.
func deviceLabel(d enco.Device, mask bool) string {
	return notify.DeviceLabel(d, mask)
}

func (r *Router) simStatus(ctx context.Context, c *command, devices []enco.Device) {
	var b strings.Builder
	for _, d := range devices {
		cards, err := r.SIM.SIMCards(ctx, d)
		label := deviceLabel(d, false)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "• %s — :x: %s\n", label, r.userError(err, "m2m read"))
		case len(cards) == 0:
			fmt.Fprintf(&b, "• %s — not found in your M2M account\n", label)
		default:
			for _, card := range cards {
				fmt.Fprintf(&b, "• %s — *%s*%s\n", label, card.State, simDetails(card))
			}
		}
	}
	r.audit(ctx, state.AuditEntry{UserID: c.UserID, Command: "sim.read", Decision: "api call", Detail: fmt.Sprintf("%d SIM cards read", len(devices))})
	r.respond(ctx, c.ResponseURL, textReply(strings.TrimRight(b.String(), "\n")).Message(), false)
}

func simDetails(c enco.SIMCard) string {
	var parts []string
	if c.Device.Identifier != "" && c.Device.IdentifierType != enco.MSISDN {
		parts = append(parts, fmt.Sprintf("%s %s", c.Device.IdentifierType, c.Device.Identifier))
	}
	for _, p := range []struct{ name, v string }{{"data", c.DataPlan}, {"SMS", c.SMSPlan}, {"voice", c.VoicePlan}, {"cost centre", c.CostCenter}} {
		if p.v != "" {
			parts = append(parts, p.name+" "+p.v)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " · " + strings.Join(parts, " · ")
}

// runM2M carries out a confirmed /sim change: the parent message that will
// hold the thread, the operation and its callback token in Redis, then the API
// call and its tracking number.
func (r *Router) runM2M(ctx context.Context, op state.Operation, responseURL string) {
	devices := make([]enco.Device, len(op.Targets))
	for i, t := range op.Targets {
		devices[i] = targetDevice(t)
	}
	if !r.startOperation(ctx, &op, responseURL) {
		return
	}
	token, err := r.bindCallbackToken(ctx, op)
	if err != nil {
		r.failOperation(ctx, op, "I could not store the callback token, so I did not send the request: "+r.userError(err, "bind token"))
		return
	}
	tn, err := r.SIM.RequestM2M(ctx, enco.M2MAction(op.Params["action"]), devices, token)
	if err != nil {
		r.audit(ctx, state.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "api error", OperationID: op.ID, Detail: err.Error()})
		r.failOperation(ctx, op, r.userError(err, "m2m request"))
		return
	}
	r.audit(ctx, state.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "api call", OperationID: op.ID, Detail: "tracking number " + tn})
	r.log().Info("m2m request accepted", "operation", op.ID, "kind", op.Kind, "devices", len(devices), "tracking", tn)
	if err := r.Store.MapTracking(ctx, tn, op.ID, r.operationTTL()); err != nil {
		r.log().Error("map tracking number", "err", err, "operation", op.ID, "tracking", tn)
	}
	if _, err := r.Store.UpdateOperation(ctx, op.ID, func(o *state.Operation) error {
		o.Params["tracking"] = tn
		return nil
	}); err != nil {
		r.log().Error("store tracking number", "err", err, "operation", op.ID)
	}
	if r.Callbacks != nil {
		r.Callbacks.TrackingKnown(ctx, tn)
	}
}

// startOperation posts the parent message and stores the operation. It tells
// the requester and returns false when that is impossible.
func (r *Router) startOperation(ctx context.Context, op *state.Operation, responseURL string) bool {
	ts, err := r.Slack.PostMessage(ctx, op.ChannelID, notify.ParentMessage(*op, state.Progress{Expected: op.Expected}, r.MaskNumbers))
	if err != nil {
		var text string
		if notify.NotInChannel(err) {
			text = fmt.Sprintf(":warning: I can't post in <#%s> because I'm not a member. Invite me with `/invite @Switchboard` there, then run the command again. Nothing was changed.", op.ChannelID)
		} else {
			text = ":x: I could not post in this channel, so I did nothing: " + r.userError(err, "post parent message")
		}
		r.audit(ctx, state.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "not started", OperationID: op.ID, Detail: notify.SlackErrorCode(err)})
		r.respond(ctx, responseURL, textReply(text).Message(), true)
		return false
	}
	op.ThreadTS = ts
	op.Status = "running"
	op.ExpiresAt = op.CreatedAt.Add(r.operationTTL())
	if err := r.Store.CreateOperation(ctx, *op, r.operationTTL()); err != nil {
		ref := newID(4)
		r.log().Error("create operation", "err", err, "ref", ref, "operation", op.ID)
		r.postInThread(ctx, *op, fmt.Sprintf(":x: I could not store this operation, so I did not send it to EnCo. Nothing was changed; try again later. (ref `%s`)", ref))
		return false
	}
	if r.Schedules != nil {
		recent := state.RecentOp{At: op.CreatedAt, Title: op.Params["title"], Status: op.Status, OperationID: op.ID}
		if err := r.Schedules.NoteRecentOp(ctx, op.UserID, recent); err != nil {
			r.log().Warn("note recent operation", "err", err, "operation", op.ID)
		}
	}
	return true
}

func (r *Router) postInThread(ctx context.Context, op state.Operation, text string) {
	m := textReply(text).Message()
	m.ThreadTS = op.ThreadTS
	if _, err := r.Slack.PostMessage(ctx, op.ChannelID, m); err != nil {
		r.log().Error("post in thread", "err", err, "operation", op.ID)
	}
}

// failOperation marks an operation failed before any result arrived and says so in its thread.
func (r *Router) failOperation(ctx context.Context, op state.Operation, text string) {
	updated, err := r.Store.UpdateOperation(ctx, op.ID, func(o *state.Operation) error {
		o.Status = "failed"
		return nil
	})
	if err == nil {
		op = updated
	}
	r.postInThread(ctx, op, ":x: "+text)
	if err := r.Slack.UpdateMessage(ctx, op.ChannelID, op.ThreadTS, notify.ParentMessage(op, state.Progress{Expected: op.Expected}, r.MaskNumbers)); err != nil {
		r.log().Error("update parent", "err", err, "operation", op.ID)
	}
}
