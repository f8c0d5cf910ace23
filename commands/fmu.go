package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/notify"
	"github.com/switchboard-bot/switchboard/phone"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// fmuCommand answers /fmu: reading and setting FMU profiles, one's own and
// others'. Its schedules and the directory's links are commands of their own
// that it hands over to.
type fmuCommand struct {
	gate      *gate
	confirm   *confirmer
	ops       *operator
	lists     *lister
	who       *whois
	notes     *notebook
	dir       *directoryCommand
	sched     *scheduleCommand
	fmu       FMUAPI
	callbacks Callbacks // nil: results EnCo puts in its reply are not recorded
	publicURL string
	limits
	log *slog.Logger
}

// FMUAPI is the FMU part of the EnCo client.
type FMUAPI interface {
	FMUStatus(ctx context.Context, msisdn string) (enco.FMUStatus, error)
	SetFMUStatus(ctx context.Context, msisdn string, p enco.Profile) error
	RequestFMUStatuses(ctx context.Context, msisdns []string, callbackURL string) ([]enco.FMUResult, error)
	RequestSetFMUStatuses(ctx context.Context, msisdns []string, p enco.Profile, callbackURL string) ([]enco.FMUResult, error)
}

const fmuUsage = "*Usage*\n" +
	"`/fmu` — your FMU profile · `/fmu private` · `/fmu professional` · `/fmu on-duty` — set yours\n" +
	"`/fmu status &lt;targets&gt;` — other people's profiles (`fmu.read`)\n" +
	"`/fmu private|professional|on-duty &lt;targets&gt;` — set other people's profiles, after you confirm (`fmu.set`)\n" +
	"Targets are mobile numbers (`0470 12 34 56`, `+32 470 12 34 56`) and @people, separated by spaces or commas. With several, the answers arrive in a thread.\n" +
	"Example: `/fmu status 0470 00 00 02 0470 00 00 03` · `/fmu on-duty 0470 00 00 02, 0470 00 00 03`\n" +
	"`/fmu on-duty until 18:00` · `/fmu private for 2h` · `/fmu schedule …` — change it later; `/fmu schedule help` says more\n" +
	"`/fmu link @person mobile=&lt;number&gt; fixed=&lt;number&gt;` · `/fmu unlink @person` — a person's numbers in the directory (`directory.admin`)"

// fmuTarget is one number an /fmu command is about.
type fmuTarget struct {
	digits string // E.164 digits without "+"
	user   string // the person named, when the command named one
}

func (t fmuTarget) target() switchboard.Target {
	return switchboard.Number(t.digits)
}

// label shows the target to people, masked when asked.
func (t fmuTarget) label(mask bool) string {
	n := render.NumberLabel(t.digits, mask)
	if t.user != "" {
		return fmt.Sprintf("<@%s> (%s)", t.user, n)
	}
	return n
}

// answer reads /fmu: one's own profile, others', or a subcommand handed
// over to the directory or the schedules.
func (fm *fmuCommand) answer(ctx context.Context, c *command) (Reply, func(context.Context)) {
	if len(c.toks) == 0 {
		return fm.fmuSelf(ctx, c, "")
	}
	first := c.toks[0]
	args := c.toks[1:]
	sub := strings.ToLower(first.text)
	switch sub {
	case "link":
		return fm.dir.link(ctx, c, args), nil
	case "unlink":
		return fm.dir.unlink(ctx, c, args), nil
	case "schedule", "schedules":
		return fm.sched.answer(ctx, c, args)
	case "status":
		if len(args) == 0 {
			return fm.fmuSelf(ctx, c, "")
		}
		return fm.fmuOthers(ctx, c, "", args)
	}
	p, ok := parseProfile(sub)
	if !ok || !first.literal {
		return usageReply(usageErr(fmuUsage, "`%s` is not a /fmu subcommand or profile. Use `status`, `private`, `professional` or `on-duty`.", first.text)), nil
	}
	if len(args) == 0 {
		return fm.fmuSelf(ctx, c, p)
	}
	switch i := untilForIndex(args); {
	case i == 0:
		return fm.sched.fmuSelfFor(ctx, c, p, args)
	case i > 0:
		return usageReply(usageErr(scheduleUsage, "`%s` sets your own profile for a while; for other people, use a weekly `/fmu schedule @person …`.", args[i].text)), nil
	}
	return fm.fmuOthers(ctx, c, p, args)
}

// parseProfile reads a profile word: private, professional, on-duty (or on_duty, onduty).
func parseProfile(s string) (enco.Profile, bool) {
	if strings.EqualFold(s, "onduty") {
		return enco.ProfileOnDuty, true
	}
	return enco.ParseProfile(s)
}

// fmuSelf reads (profile "") or sets the requester's own profile, on the
// mobile number the directory has for them.
func (fm *fmuCommand) fmuSelf(ctx context.Context, c *command, p enco.Profile) (Reply, func(context.Context)) {
	me, reply, ok := fm.ownMobile(ctx, c)
	if !ok {
		return reply, nil
	}
	if p == "" {
		if reply, ok := fm.gate.readAllowance(ctx, c, 1); !ok {
			return reply, nil
		}
		return textReply(":mag: Looking up your FMU profile…"), func(ctx context.Context) { fm.fmuReadOne(ctx, c, me, true) }
	}
	if reply, ok := fm.gate.rateLimit(ctx, c); !ok {
		return reply, nil
	}
	return textReply(fmt.Sprintf(":hourglass_flowing_sand: Setting your FMU profile to *%s*…", render.ProfileLabel(p))), func(ctx context.Context) {
		err := fm.fmu.SetFMUStatus(ctx, me.digits, p)
		fm.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: switchboard.PermFMUSelf, Decision: apiDecision(err), Detail: "own profile set to " + string(p)})
		text := fmt.Sprintf(":white_check_mark: Your FMU profile (%s) is now *%s*.", me.label(false), render.ProfileLabel(p))
		status := switchboard.StatusDone
		if err != nil {
			text = fmt.Sprintf(":x: Your FMU profile (%s) was not changed: %s", me.label(false), fm.ops.fmuError(err, "fmu set own status"))
			status = switchboard.StatusFailed
		} else {
			fm.notes.cacheProfile(ctx, me.digits, p)
		}
		fm.notes.noteRecent(ctx, c.UserID, "Set your FMU profile to "+render.ProfileLabel(p), status)
		fm.ops.respond(ctx, c.ResponseURL, textReply(text).Message(), false)
	}
}

// ownMobile checks fmu.self and finds the requester's own mobile number;
// when either fails, the reply says why.
func (fm *fmuCommand) ownMobile(ctx context.Context, c *command) (fmuTarget, Reply, bool) {
	if reply, ok := fm.gate.allow(ctx, c, switchboard.PermFMUSelf); !ok {
		return fmuTarget{}, reply, false
	}
	return fm.who.myMobile(ctx, c)
}

func apiDecision(err error) string {
	if err != nil {
		return "api error"
	}
	return "api call"
}

// fmuOthers reads (profile "") or sets the profiles of the targets named.
// Numbers typed alone are answered in the acknowledgement. The people named
// are looked up in the directory (with trust_profile_phone, a Slack
// users.info call each), so then the acknowledgement only says they are
// being looked up, and the answer (fmuOn's, or why someone could not be
// looked up) follows through the response URL.
func (fm *fmuCommand) fmuOthers(ctx context.Context, c *command, p enco.Profile, args []token) (Reply, func(context.Context)) {
	nums, mentions, uerr := fmuTargets(args)
	if uerr != nil {
		return usageReply(uerr), nil
	}
	perm := switchboard.PermFMURead
	if p != "" {
		perm = switchboard.PermFMUSet
	}
	if reply, ok := fm.gate.allow(ctx, c, perm); !ok {
		return reply, nil
	}
	if len(mentions) == 0 {
		targets, _, _ := fm.resolveTargets(ctx, nums, nil) // no one to look up
		return fm.fmuOn(ctx, c, p, perm, targets)
	}
	whom := fmt.Sprintf("<@%s>", mentions[0])
	if n := len(slices.Compact(slices.Sorted(slices.Values(mentions)))); n > 1 {
		whom = fmt.Sprintf("%d people", n)
	}
	return textReply(fmt.Sprintf(":hourglass_flowing_sand: Looking up %s in the directory…", whom)), func(ctx context.Context) {
		targets, reply, ok := fm.resolveTargets(ctx, nums, mentions)
		var after func(context.Context)
		if ok {
			reply, after = fm.fmuOn(ctx, c, p, perm, targets)
		}
		fm.ops.respond(ctx, c.ResponseURL, reply.Message(), false)
		if after != nil {
			after(ctx)
		}
	}
}

// fmuOn reads (profile "") or sets, after a confirmation, the profiles of
// targets, read or asked with perm: one read is answered after the reply,
// several make an operation whose answers arrive in a thread.
func (fm *fmuCommand) fmuOn(ctx context.Context, c *command, p enco.Profile, perm string, targets []fmuTarget) (Reply, func(context.Context)) {
	if max := fm.maxTargets(); len(targets) > max {
		return usageReply(usageErr(fmuUsage, "That is %d numbers; one command takes at most %d. Split the list into several commands.", len(targets), max)), nil
	}
	op := switchboard.Operation{Kind: perm, Expected: len(targets)}
	for _, t := range targets {
		op.Targets = append(op.Targets, t.target())
		if t.user != "" {
			if op.Params.Who == nil {
				op.Params.Who = map[string]string{}
			}
			op.Params.Who[t.digits] = t.user
		}
	}
	if p == "" {
		// A read counts against the person's reads, one per number.
		if reply, ok := fm.gate.readAllowance(ctx, c, len(targets)); !ok {
			return reply, nil
		}
		if len(targets) == 1 {
			return textReply(":mag: Looking up 1 FMU profile…"), func(ctx context.Context) { fm.fmuReadOne(ctx, c, targets[0], false) }
		}
		op = begin(c, op, fmt.Sprintf("Read the FMU profiles of %d numbers", len(targets)))
		return textReply(fmt.Sprintf(":mag: Asking EnCo for %d FMU profiles; the answers will arrive in a thread in this channel.", len(targets))), func(ctx context.Context) { fm.run(ctx, op, c.ResponseURL) }
	}
	op.Params.Profile = string(p)
	title := fmt.Sprintf("Set %s to %s", plural(len(targets), "number"), render.ProfileLabel(p))
	if len(targets) == 1 {
		title = fmt.Sprintf("Set the FMU profile of %s to %s", targets[0].label(fm.mask), render.ProfileLabel(p))
	}
	lines := make([]string, 0, len(targets))
	for _, t := range targets {
		lines = append(lines, t.label(false))
	}
	op.Params.Title = title
	lines, attach := fm.lists.promptLines(c, lines, op, fm.mask)
	prompt := fm.confirm.confirm(ctx, c, pending{
		op:           op,
		title:        title,
		lines:        lines,
		note:         fmt.Sprintf("Business calls to these people will follow their %s profile. The results arrive in a thread in this channel.", render.ProfileLabel(p)),
		confirmLabel: "Set to " + render.ProfileLabel(p),
	})
	if !prompt.confirming() {
		attach = nil
	}
	return prompt, attach
}

// fmuTargets reads the numbers and @people of an /fmu command. Numbers must
// be Belgian mobile numbers, the only ones FMU knows.
func fmuTargets(toks []token) (nums []phone.Number, mentions []string, err *UsageError) {
	if _, _, oerr := options(fmuUsage, toks); oerr != nil {
		return nil, nil, oerr
	}
	plain := func(t token) bool { return t.user == "" && t.group == "" }
	for _, seg := range segments(toks, plain) {
		switch t := seg[0]; {
		case t.user != "":
			mentions = append(mentions, t.user)
		case t.group != "":
			return nil, nil, usageErr(fmuUsage, "`%s` is a user group; name the people or their numbers instead.", t.text)
		default:
			read, err := numbers(fmuUsage, seg)
			if err != nil {
				return nil, nil, err
			}
			for _, n := range read {
				if uerr := fmuNumber(n); uerr != nil {
					return nil, nil, uerr
				}
			}
			nums = append(nums, read...)
		}
	}
	return nums, mentions, nil
}

// fmuNumber refuses a number FMU cannot know: anything but a Belgian mobile.
func fmuNumber(n phone.Number) *UsageError {
	switch {
	case n.Kind == phone.Special:
		return usageErr(fmuUsage, "`%s` is a short service number (%s); FMU profiles belong to Belgian mobile numbers like `0470 12 34 56`.", n.Digits, n.Kind)
	case n.IsInternational():
		return usageErr(fmuUsage, "`%s` is not a Belgian number; FMU profiles belong to Belgian mobile numbers like `0470 12 34 56`.", n.International())
	case n.Kind != phone.Mobile:
		return usageErr(fmuUsage, "`%s` is a %s number; FMU profiles belong to Belgian mobile numbers like `0470 12 34 56`.", n.International(), n.Kind)
	}
	return nil
}

// resolveTargets finds the mobile numbers of the people named and merges
// them with the numbers given, without duplicates: numbers first, then
// people, each in the order given.
func (fm *fmuCommand) resolveTargets(ctx context.Context, nums []phone.Number, mentions []string) ([]fmuTarget, Reply, bool) {
	var out []fmuTarget
	at := map[string]int{} // digits -> index in out
	add := func(t fmuTarget) {
		i, seen := at[t.digits]
		switch {
		case !seen:
			at[t.digits] = len(out)
			out = append(out, t)
		case out[i].user == "":
			out[i].user = t.user // a number typed and also named as a person
		}
	}
	for _, n := range nums {
		add(fmuTarget{digits: n.Digits})
	}
	for _, u := range mentions {
		var e switchboard.Entry
		if fm.who.directory != nil {
			var err error
			if e, _, _, err = fm.who.directory.Lookup(ctx, u); err != nil {
				ref := state.NewHex(4)
				fm.log.Error("directory lookup", "err", err, "ref", ref, "user", u)
				return nil, textReply(fmt.Sprintf(":hourglass: I could not look up <@%s> in the directory just now, so I did nothing. Please try again in a minute. (ref `%s`)", u, ref)), false
			}
		}
		if e.Mobile == "" {
			return nil, usageReply(usageErr(fmuUsage, "I don't know the mobile number of <@%s>. Give the number instead, or ask someone who holds `directory.admin` to link it: `/fmu link @person mobile=0470 12 34 56`.", u)), false
		}
		add(fmuTarget{digits: e.Mobile, user: u})
	}
	return out, Reply{}, true
}

// fmuReadOne reads one profile synchronously and answers the requester only.
func (fm *fmuCommand) fmuReadOne(ctx context.Context, c *command, t fmuTarget, own bool) {
	st, err := fm.fmu.FMUStatus(ctx, t.digits)
	perm := switchboard.PermFMURead
	if own {
		perm = switchboard.PermFMUSelf
	}
	fm.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: perm, Decision: apiDecision(err), Detail: "1 FMU profile read"})
	var text string
	switch {
	case err != nil:
		text = fmt.Sprintf(":x: %s — %s", t.label(false), fm.ops.fmuError(err, "fmu status"))
	case st.IsError:
		text = fmt.Sprintf(":x: %s — EnCo could not read the profile: %s", t.label(false), cmp.Or(strings.TrimSpace(render.Escape(st.Error)), "no reason given"))
	case own:
		text = fmt.Sprintf("Your FMU profile (%s) is *%s*.", t.label(false), render.ProfileLabel(st.Status))
	default:
		text = fmt.Sprintf("%s — *%s*", t.label(false), render.ProfileLabel(st.Status))
	}
	fm.ops.respond(ctx, c.ResponseURL, textReply(text).Message(), false)
}

// run carries out an FMU read or change of others: one number is
// changed synchronously; several are asked in requests of at most
// enco.MaxFMUBatch numbers, split evenly so that none carries a lone number
// (which EnCo answers synchronously), sharing one callback URL so that every
// answer lands in the same thread. Results EnCo puts in a reply instead of
// the callback are recorded all the same.
func (fm *fmuCommand) run(ctx context.Context, op switchboard.Operation, responseURL string) {
	msisdns := make([]string, len(op.Targets))
	for i, t := range op.Targets {
		msisdns[i] = enco.TargetDevice(t).Identifier
	}
	profile := enco.Profile(op.Params.Profile)
	if !fm.ops.startOperation(ctx, &op, responseURL) {
		return
	}
	if op.Kind == switchboard.KindFMUSet && len(msisdns) == 1 {
		fm.setOneFMU(ctx, op, msisdns[0], profile)
		return
	}
	token, err := fm.ops.bindCallbackToken(ctx, op)
	if err != nil {
		fm.ops.failOperation(ctx, op, "I could not store the callback token, so I did not send the request. "+fm.ops.storeFailure(err, "bind token"))
		return
	}
	callbackURL := fm.publicURL + notify.PathFMU + token
	start := 0
	for _, chunk := range enco.FMUBatches(msisdns) {
		var (
			results []enco.FMUResult
			err     error
		)
		if op.Kind == switchboard.KindFMUSet {
			results, err = fm.fmu.RequestSetFMUStatuses(ctx, chunk, profile, callbackURL)
		} else {
			results, err = fm.fmu.RequestFMUStatuses(ctx, chunk, callbackURL)
		}
		detail := fmt.Sprintf("numbers %d-%d of %d", start+1, start+len(chunk), len(msisdns))
		switch {
		case err == nil:
			fm.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "api call", OperationID: op.ID, Detail: detail})
			fm.recordReplyResults(ctx, op, results)
		case start == 0:
			fm.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "api error", OperationID: op.ID, Detail: detail})
			fm.ops.failOperation(ctx, op, fm.ops.userError(err, "fmu request"))
			return
		default:
			fm.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "api error", OperationID: op.ID, Detail: detail})
			fm.failChunk(ctx, op, chunk, start, fm.ops.userError(err, "fmu request"))
			if rest := msisdns[start+len(chunk):]; errors.Is(err, enco.ErrCredentialsRefused) && len(rest) > 0 {
				// The other requests would be refused the same way.
				fm.failChunk(ctx, op, rest, start+len(chunk), "not sent, as EnCo refused the bot's credentials")
				return
			}
		}
		start += len(chunk)
	}
	fm.log.Info("fmu requests sent", "operation", op.ID, "kind", op.Kind, "numbers", len(msisdns))
}

// recordReplyResults records the results EnCo gave in its reply, where a
// callback was expected.
func (fm *fmuCommand) recordReplyResults(ctx context.Context, op switchboard.Operation, results []enco.FMUResult) {
	if len(results) == 0 || fm.callbacks == nil {
		return
	}
	n, err := fm.callbacks.RecordFMUResults(ctx, op, results)
	if err != nil {
		fm.log.Error("record FMU results from the reply", "err", err, "operation", op.ID)
		return
	}
	fm.log.Info("FMU results came in the reply", "operation", op.ID, "results", n)
}

// failChunk records the numbers of a request EnCo refused as failed, with one
// reply in the thread for all of them.
func (fm *fmuCommand) failChunk(ctx context.Context, op switchboard.Operation, chunk []string, start int, why string) {
	fm.ops.postInThread(ctx, op, fmt.Sprintf(":x: EnCo refused the request for numbers %d to %d of %d: %s", start+1, start+len(chunk), len(op.Targets), why))
	for _, m := range chunk {
		res := switchboard.Result{Target: switchboard.Number(m).String(), Detail: "request refused: " + why}
		if err := fm.ops.recordResult(ctx, op, res, false, true); err != nil {
			fm.log.Error("record refused number", "err", err, "operation", op.ID)
			return
		}
	}
}

// setOneFMU changes one number synchronously and reports it in the thread.
func (fm *fmuCommand) setOneFMU(ctx context.Context, op switchboard.Operation, msisdn string, p enco.Profile) {
	err := fm.fmu.SetFMUStatus(ctx, msisdn, p)
	fm.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: apiDecision(err), OperationID: op.ID, Detail: "1 number set to " + string(p)})
	target := op.Targets[0]
	label := render.TargetLabel(op, target, fm.mask)
	res := switchboard.Result{Target: target.String(), OK: err == nil, Detail: fmt.Sprintf(":white_check_mark: %s — set to *%s*", label, render.ProfileLabel(p))}
	if err != nil {
		res.Detail = fmt.Sprintf(":x: %s — not changed: %s", label, fm.ops.fmuError(err, "fmu set status"))
	}
	if err := fm.ops.recordResult(ctx, op, res, true, false); err != nil {
		fm.log.Error("record FMU result", "err", err, "operation", op.ID)
		fm.ops.postInThread(ctx, op, res.Detail)
	}
}
