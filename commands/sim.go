package commands

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/phone"
	"github.com/switchboard-bot/switchboard/render"
)

// simCommand answers /sim: SIM cards' status and changes, and the audit trail.
type simCommand struct {
	gate       *gate
	confirm    *confirmer
	ops        *operator
	lists      *lister
	sim        SIMAPI
	callbacks  Callbacks // nil: no early callbacks to release
	operations Operations
	trail      AuditTrail
	// sender sends changes in batches (nil: a change is one request), and
	// bulk opens the form of a change from a file (nil: off).
	sender M2MSender
	bulk   *simBulk

	approvals *Approvals // nil: approvals are off
	limits
	log *slog.Logger
}

const simUsage = "*Usage*\n" +
	"`/sim status &lt;numbers&gt;` — state, plans, APN, thresholds, cost centre and custom fields of SIM cards, by their mobile numbers\n" +
	"`/sim activate &lt;ids&gt;` · `/sim deactivate &lt;ids&gt;` · `/sim reactivate &lt;ids&gt;` · `/sim terminate &lt;ids&gt;` — asks you to confirm first\n" +
	"Ids are mobile numbers (`+32 471 00 00 01`, `0471000001`) or `iccid:8932…` / `imsi:206…`, separated by spaces or commas.\n" +
	"Example: `/sim status 0471 00 00 01` · `/sim activate 0471 00 00 04, iccid:89320100000000000007`\n" +
	"`/sim bulk` — a change of many cards from a file or a pasted list: a form opens, then a preview to confirm (also `/sim deactivate` and the other changes without cards).\n" +
	"Changes the policy's approval rules cover (terminating, by default) wait for approval; `/sim approvals` lists the requests waiting for you and yours. `/sim audit [operation-id|@person]` shows the audit trail (`audit.read`)."

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

// answer reads /sim: status, a change (confirmed first), or audit.
func (sm *simCommand) answer(ctx context.Context, c *command) (Reply, func(context.Context)) {
	if len(c.toks) == 0 {
		return textReply(simUsage), nil
	}
	sub := strings.ToLower(c.toks[0].text)
	args := c.toks[1:]
	if sub == "audit" {
		return sm.auditCmd(ctx, c, args)
	}
	if sub == "approvals" {
		if sm.approvals == nil {
			return textReply(":white_check_mark: Nothing waits for approval: this bot runs every confirmed change at once."), nil
		}
		return sm.approvals.command(ctx, c.UserID, c.Text, args), nil
	}
	change, isChange := simChanges[sub]
	if sm.bulk != nil && (sub == "bulk" || isChange && len(args) == 0) {
		return sm.bulk.open(c, sub)
	}
	if sub != "status" && !isChange {
		return usageReply(usageErr(simUsage, "`%s` is not a /sim subcommand. Use `status`, `activate`, `deactivate`, `reactivate` or `terminate`.", c.toks[0].text)), nil
	}
	devices, err := sm.simDevices(sub, args)
	if err != nil {
		return usageReply(err), nil
	}
	if !isChange {
		for _, d := range devices {
			if d.IdentifierType != enco.MSISDN {
				return usageReply(usageErr(simUsage, "`%s:%s`: `/sim status` works with phone numbers only, the one lookup EnCo's M2M API offers. Give the card's mobile number, e.g. `/sim status 0471 00 00 01`. (`iccid:` and `imsi:` work with `activate`, `deactivate`, `reactivate` and `terminate`.)",
					strings.ToLower(string(d.IdentifierType)), d.Identifier)), nil
			}
		}
	}
	perm := switchboard.PermSIMRead
	if isChange {
		perm = switchboard.CommandSIM + "." + sub
	}
	if reply, ok := sm.gate.allow(ctx, c, perm); !ok {
		return reply, nil
	}
	if !isChange {
		if reply, ok := sm.gate.readAllowance(ctx, c, len(devices)); !ok {
			return reply, nil
		}
		return textReply(fmt.Sprintf(":mag: Looking up %s…", plural(len(devices), "SIM card"))), func(ctx context.Context) { sm.simStatus(ctx, c, devices) }
	}
	targets := make([]switchboard.Target, len(devices))
	lines := make([]string, len(devices))
	for i, d := range devices {
		targets[i] = d.Target()
		lines[i] = deviceLabel(d, false)
	}
	title := fmt.Sprintf("%s %s", change.verb, plural(len(devices), "SIM card"))
	op := switchboard.Operation{
		Kind:     switchboard.CommandSIM + "." + sub,
		Targets:  targets,
		Expected: len(devices),
		Params:   switchboard.Params{Action: string(change.action), Title: title},
	}
	lines, attach := sm.lists.promptLines(c, lines, op, sm.mask)
	reply := sm.confirm.confirm(ctx, c, pending{
		op:           op,
		title:        title,
		lines:        lines,
		note:         change.note,
		confirmLabel: change.verb,
		danger:       change.danger,
	})
	if !reply.confirming() {
		attach = nil
	}
	return reply, attach
}

// simDevices reads the ids of a /sim command.
func (sm *simCommand) simDevices(sub string, toks []token) ([]enco.Device, *UsageError) {
	if len(toks) == 0 {
		return nil, usageErr(simUsage, "`/sim %s` needs at least one SIM: a mobile number, `iccid:…` or `imsi:…`.", sub)
	}
	var devices []enco.Device
	seen := map[switchboard.Target]bool{}
	plain := func(t token) bool { return t.user == "" && t.group == "" && !strings.Contains(t.text, ":") }
	for _, seg := range segments(toks, plain) {
		t := seg[0]
		if t.user != "" || t.group != "" {
			return nil, usageErr(simUsage, "`%s`: /sim takes SIM ids, not people. Give the card's number, `iccid:…` or `imsi:…`.", t.text)
		}
		if kind, value, hasPrefix := strings.Cut(t.text, ":"); hasPrefix {
			d, err := prefixedDevice(strings.ToLower(kind), value, t.text)
			if err != nil {
				return nil, err
			}
			devices = append(devices, d)
			continue
		}
		nums, err := numbers(simUsage, seg)
		if err != nil {
			return nil, err
		}
		for _, n := range nums {
			if n.Kind == phone.Special {
				return nil, usageErr(simUsage, "`%s` is a short service number (%s), not a SIM card's number.", n.Digits, n.Kind)
			}
			devices = append(devices, enco.Device{Identifier: n.Digits, IdentifierType: enco.MSISDN})
		}
	}
	var unique []enco.Device
	for _, d := range devices {
		k := d.Target()
		if !seen[k] {
			seen[k] = true
			unique = append(unique, d)
		}
	}
	if max := sm.maxTargets(); len(unique) > max {
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
			return enco.Device{}, err
		}
		return enco.Device{Identifier: nums[0].Digits, IdentifierType: enco.MSISDN}, nil
	}
	return enco.Device{}, usageErr(simUsage, "`%s`: unknown id type `%s:`. Use `iccid:`, `imsi:` or just the mobile number.", text, kind)
}

// deviceLabel shows a device to people, masking numbers when asked to.
func deviceLabel(d enco.Device, mask bool) string {
	return render.DeviceLabel(d, mask)
}

// maxSIMRows is how many cards /sim status lays out in its table; the full
// list goes in a file.
const maxSIMRows = 15

// simLookup is the answer about one card of /sim status.
type simLookup struct {
	msisdn string
	cards  []enco.SIMCard
	err    error
}

// simStatus reads the cards by phone number, the only lookup EnCo
// documents, and answers the requester only: one card in detail, several
// as a table.
func (sm *simCommand) simStatus(ctx context.Context, c *command, devices []enco.Device) {
	lookups := make([]simLookup, len(devices))
	failed := 0
	for i, d := range devices {
		cards, err := sm.sim.SIMCards(ctx, d.Identifier)
		lookups[i] = simLookup{msisdn: d.Identifier, cards: cards, err: err}
		if refusal := lastingRefusal(err); refusal != nil {
			// Every other lookup would be refused the same way.
			sm.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: switchboard.PermSIMRead, Decision: "api error", Detail: refusal.Error()})
			sm.ops.respond(ctx, c.ResponseURL, textReply(":x: "+sm.ops.userError(err, "m2m read")).Message(), false)
			return
		}
		if err != nil {
			failed++
		}
	}
	decision := "api call"
	if failed > 0 {
		decision = "api error"
	}
	sm.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: switchboard.PermSIMRead, Decision: decision, Detail: fmt.Sprintf("%d SIM cards read, %d failed", len(devices), failed)})
	var text string
	var send func(context.Context)
	if len(lookups) == 1 {
		text = sm.simDetail(lookups[0])
	} else {
		text, send = sm.simTable(c, lookups)
	}
	sm.ops.respond(ctx, c.ResponseURL, textReply(text).Message(), false)
	if send != nil {
		send(ctx)
	}
}

// simDetail shows everything the documented answer carries about one card
// that a person needs.
func (sm *simCommand) simDetail(l simLookup) string {
	label := render.NumberLabel(l.msisdn, false)
	switch {
	case l.err != nil:
		return fmt.Sprintf("*%s* — :x: %s", label, sm.ops.userError(l.err, "m2m read"))
	case len(l.cards) == 0:
		return fmt.Sprintf("*%s* — not found in your M2M account.", label)
	}
	var b strings.Builder
	for i, card := range l.cards {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "*%s* — *%s*", label, render.Escape(cmp.Or(strings.TrimSpace(card.State), "state unknown")))
		if card.Device.Identifier != "" {
			fmt.Fprintf(&b, "\n• Device: %s", render.Escape(card.Device.String()))
		}
		for _, svc := range []struct {
			name string
			s    enco.Service
		}{{"Data", card.Data}, {"SMS", card.SMS}, {"Voice", card.Voice}} {
			fmt.Fprintf(&b, "\n• %s: %s", svc.name, serviceLine(svc.s))
		}
		if aps := apnList(card.AccessPoints); aps != "" {
			b.WriteString("\n• APN: " + aps)
		}
		fmt.Fprintf(&b, "\n• Cost centre: %s", render.Escape(cmp.Or(strings.TrimSpace(card.CostCenter), "none")))
		if cf := customFields(card.CustomFields); cf != "" {
			b.WriteString("\n• Custom fields: " + cf)
		}
	}
	return b.String()
}

// serviceLine is a service's plan (code and description) and thresholds.
func serviceLine(s enco.Service) string {
	if s.PlanCode == "" {
		return "no plan"
	}
	line := "`" + render.Escape(s.PlanCode) + "`"
	if s.PlanDescription != "" && s.PlanDescription != s.PlanCode {
		line += " " + render.Escape(s.PlanDescription)
	}
	return line + " · " + thresholds(s)
}

// thresholds words a service's daily and monthly thresholds; EnCo sends 0
// for none.
func thresholds(s enco.Service) string {
	if s.DailyThreshold == 0 && s.MonthlyThreshold == 0 {
		return "no thresholds"
	}
	return fmt.Sprintf("thresholds %s a day, %s a month", threshold(s.DailyThreshold), threshold(s.MonthlyThreshold))
}

func threshold(v float64) string {
	if v == 0 {
		return "none"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// apnList names the card's access points, with the properties that are set.
func apnList(aps []enco.AccessPoint) string {
	var out []string
	for _, ap := range aps {
		if ap.Code == "" {
			continue
		}
		var props []string
		for _, p := range []struct{ name, v string }{{"name", ap.CustomName}, {"static IP", ap.StaticIP}, {"user", ap.UserName}} {
			if p.v != "" {
				props = append(props, p.name+" "+render.Escape(p.v))
			}
		}
		s := render.Escape(ap.Code)
		if len(props) > 0 {
			s += " (" + strings.Join(props, ", ") + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// customFields lists the non-empty custom fields, in name order.
func customFields(m map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if v := strings.TrimSpace(m[k]); v != "" {
			out = append(out, render.Escape(k)+": "+render.Escape(v))
		}
	}
	return strings.Join(out, " · ")
}

// simRow is one card as a row of the table and of the CSV file.
func simRow(l simLookup, card *enco.SIMCard, problem string) []string {
	row := make([]string, len(simHeader))
	row[0], row[1] = "+"+l.msisdn, problem
	if card == nil {
		return row
	}
	row[1] = card.State
	if card.Device.Identifier != "" {
		row[2] = string(card.Device.IdentifierType) + " " + card.Device.Identifier
	}
	row[3], row[4] = card.Data.PlanCode, card.Data.PlanDescription
	row[5], row[6] = card.SMS.PlanCode, card.Voice.PlanCode
	row[7] = fmt.Sprintf("%s/%s", threshold(card.Data.DailyThreshold), threshold(card.Data.MonthlyThreshold))
	var aps []string
	for _, ap := range card.AccessPoints {
		aps = append(aps, ap.Code)
	}
	row[8] = strings.Join(aps, " ")
	row[9] = card.CostCenter
	var cf []string
	for _, k := range slices.Sorted(maps.Keys(card.CustomFields)) {
		if v := strings.TrimSpace(card.CustomFields[k]); v != "" {
			cf = append(cf, k+"="+v)
		}
	}
	row[10] = strings.Join(cf, "; ")
	row[11] = fmt.Sprintf("%s/%s", threshold(card.SMS.DailyThreshold), threshold(card.SMS.MonthlyThreshold))
	row[12] = fmt.Sprintf("%s/%s", threshold(card.Voice.DailyThreshold), threshold(card.Voice.MonthlyThreshold))
	return row
}

var simHeader = []string{"number", "state", "device", "data_plan", "data_plan_description", "sms_plan", "voice_plan", "data_thresholds_daily_monthly", "apn", "cost_centre", "custom_fields", "sms_thresholds_daily_monthly", "voice_thresholds_daily_monthly"}

// simTable lays several cards out compactly: number, state, plans and cost
// centre, one line each. When there are more than maxSIMRows, it says how
// many were left out and returns the work that attaches the whole list,
// every field included, for after the table is posted (nil when nothing is
// left out).
func (sm *simCommand) simTable(c *command, lookups []simLookup) (string, func(context.Context)) {
	var send func(context.Context)
	var rows [][]string
	var failures []string
	for _, l := range lookups {
		switch {
		case l.err != nil:
			why := sm.ops.userError(l.err, "m2m read")
			rows = append(rows, simRow(l, nil, "lookup failed: "+why))
			failures = append(failures, fmt.Sprintf("• %s — :x: %s", render.NumberLabel(l.msisdn, false), why))
		case len(l.cards) == 0:
			rows = append(rows, simRow(l, nil, "not found"))
		default:
			for i := range l.cards {
				rows = append(rows, simRow(l, &l.cards[i], ""))
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s*\n```\n", plural(len(lookups), "SIM card"))
	line := func(cols ...string) {
		for i := range cols {
			cols[i] = render.Escape(strings.ReplaceAll(cols[i], "`", "'"))
		}
		fmt.Fprintf(&b, "%-17s  %-12s  %-16s  %-12s  %-16s  %s\n", cols[0], cols[1], cols[2], cols[3], cols[4], cols[5])
	}
	line("Number", "State", "Data", "SMS", "Voice", "Cost centre")
	for _, row := range rows[:min(len(rows), maxSIMRows)] {
		number := render.NumberLabel(strings.TrimPrefix(row[0], "+"), false)
		switch {
		case row[1] == "not found":
			fmt.Fprintf(&b, "%-17s  not found in your M2M account\n", number)
			continue
		case strings.HasPrefix(row[1], "lookup failed"):
			fmt.Fprintf(&b, "%-17s  lookup failed (below)\n", number)
			continue
		}
		line(number, truncate(row[1], 12), truncate(row[3], 16), truncate(row[5], 12), truncate(cmp.Or(strings.TrimSpace(row[6]), "—"), 16), truncate(row[9], 20))
	}
	b.WriteString("```")
	if len(rows) > maxSIMRows {
		file := fullList{name: "sim-status", title: "SIM cards, " + sinceLabel(time.Now()), header: simHeader}
		for _, row := range rows {
			row = slices.Clone(row)
			if sm.mask { // the file goes to the channel
				row[0] = render.NumberLabel(strings.TrimPrefix(row[0], "+"), true)
			}
			file.rows = append(file.rows, row)
		}
		var note string
		note, send = sm.lists.attachList(c, file)
		b.WriteString("\n" + leftOut(maxSIMRows, len(rows)) + " " + note)
	}
	for _, f := range failures {
		b.WriteString("\n" + f)
	}
	b.WriteString("\n`/sim status &lt;number&gt;` shows one card in full: APN, thresholds and custom fields.")
	return b.String(), send
}

// run carries out a confirmed /sim change: the parent message that will
// hold the thread, the operation and its callback token in Redis, then the API
// call and its tracking number.
func (sm *simCommand) run(ctx context.Context, op switchboard.Operation, responseURL string) {
	if sm.sender != nil {
		sm.send(ctx, op, responseURL)
		return
	}
	devices := make([]enco.Device, len(op.Targets))
	for i, t := range op.Targets {
		devices[i] = enco.TargetDevice(t)
	}
	if !sm.ops.startOperation(ctx, &op, responseURL) {
		return
	}
	token, err := sm.ops.bindCallbackToken(ctx, op)
	if err != nil {
		sm.ops.failOperation(ctx, op, "I could not store the callback token, so I did not send the request: "+sm.ops.userError(err, "bind token"))
		return
	}
	tn, err := sm.sim.RequestM2M(ctx, enco.M2MAction(op.Params.Action), devices, token)
	if err != nil {
		sm.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "api error", OperationID: op.ID, Detail: err.Error()})
		sm.ops.failOperation(ctx, op, sm.ops.userError(err, "m2m request"))
		return
	}
	sm.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "api call", OperationID: op.ID, Detail: "tracking number " + tn})
	sm.log.Info("m2m request accepted", "operation", op.ID, "kind", op.Kind, "devices", len(devices), "tracking", tn)
	if _, err := sm.operations.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error {
		o.Params.Tracking = tn
		return nil
	}); err != nil {
		sm.log.Error("store tracking number", "err", err, "operation", op.ID)
	}
	if sm.callbacks != nil {
		sm.callbacks.TrackingKnown(ctx, op.ID)
	}
}
