package commands

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/notify"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/phone"
	"github.com/switchboard-bot/switchboard/render"
)

// callCommand answers /call: click-to-call and the call records.
type callCommand struct {
	gate       *gate
	confirm    *confirmer
	ops        *operator
	lists      *lister
	who        *whois
	voice      VoiceAPI
	policy     *permissions.Policy // call barring; nil bars premium and international
	operations Operations
	publicURL  string
	limits
	log *slog.Logger
}

// VoiceAPI is the voice call-out part of the EnCo client.
type VoiceAPI interface {
	PlaceCall(ctx context.Context, r enco.CallRequest) (string, error)
	CDRs(ctx context.Context, q enco.CDRQuery) ([]enco.CDR, error)
}

const callUsage = "*Usage*\n" +
	"`/call &lt;number&gt;` — your phone (your fixed number in the directory) rings first; when you answer, EnCo calls the number\n" +
	"`/call &lt;number&gt; from=&lt;number&gt; cli=&lt;number&gt; hidden` — ring another fixed number of the account first (asks you to confirm), show another number, or hide it; numbers that aren't yours need `call.any`\n" +
	"`/call cdr [since=24h|7d|2025-01-31] [till=…] [page=2] [limit=50]` — your recent calls (everyone's with `call.any`); `till=` ends the list as `since=` starts it, `page=` and `limit=` pick one page of EnCo's list (`limit=` calls a page, 100 by default, at most 1000)\n" +
	"Emergency and special numbers (112, 101, 100, …) are never called; premium-rate and international numbers only when the policy allows them.\n" +
	"EnCo labels its Voice Call-out API retired: where the account no longer has it, an operator switches `/call` off with `ENCO_VOICE=off`, and `/call` says so.\n" +
	"Example: `/call 0468 37 39 01` · `/call 0468 37 39 01 hidden` · `/call 0468 37 39 01 cli=02 816 02 57` · `/call cdr since=7d`"

// maxCDRRows is how many calls /call cdr lists in its answer; past it, all
// are attached as a CSV file (see fullList).
const maxCDRRows = 20

// maxCDRItems stops /call cdr from paging through more calls than this.
const maxCDRItems = 1000

// answer reads /call: a call-out, or cdr for the call records.
func (cc *callCommand) answer(ctx context.Context, c *command) (Reply, func(context.Context)) {
	if cc.voice == nil {
		return textReply(voiceOff).with("unavailable"), nil
	}
	if len(c.toks) == 0 {
		return textReply(callUsage), nil
	}
	if strings.EqualFold(c.toks[0].text, "cdr") {
		return cc.callCDR(ctx, c, c.toks[1:])
	}
	req, uerr := cc.parseCall(c.toks)
	if uerr != nil {
		return usageReply(uerr), nil
	}
	mine, reply, ok := cc.who.ownNumbers(ctx, c.UserID)
	if !ok {
		return reply, nil
	}
	origin, otherOrigin := mine.Fixed, false
	if req.from != "" {
		origin, otherOrigin = req.from, req.from != mine.Fixed
	}
	if origin == "" {
		return textReply(cc.who.noNumberHint(c.UserID, "fixed", "fixed=02 816 02 57") + " Or name the phone that rings first with `from=` (needs `call.any`)."), nil
	}
	perm := switchboard.PermCallSelf
	if otherOrigin || (req.cli != "" && req.cli != mine.Fixed) {
		perm = switchboard.PermCallAny
	} else if cc.gate.checker.Check(ctx, c.UserID, c.ChannelID, switchboard.PermCallAny).Allowed {
		perm = switchboard.PermCallAny // call.any covers one's own calls too
	}
	if reply, ok := cc.gate.allow(ctx, c, perm); !ok {
		return reply, nil
	}
	if req.dest.Digits == origin {
		return usageReply(usageErr(callUsage, "`%s` is the phone that rings first; give the number of the person to call.", req.dest.International())), nil
	}
	op := switchboard.Operation{
		Kind:     perm,
		Targets:  []switchboard.Target{switchboard.Number(req.dest.Digits)},
		Expected: 1,
		Params:   switchboard.Params{Origin: origin, CLI: req.cli, Presentation: req.presentation},
	}
	title := fmt.Sprintf("Call %s from %s", render.NumberLabel(req.dest.Digits, cc.mask), render.NumberLabel(origin, cc.mask))
	if otherOrigin {
		// Someone else's phone rings first: make sure that is meant.
		shown := render.NumberLabel(cmp.Or(req.cli, origin), false)
		if req.presentation == enco.PresentationRestricted {
			shown = "hidden"
		}
		return cc.confirm.confirm(ctx, c, pending{
			op:    op,
			title: title,
			lines: []string{
				"rings first: " + render.NumberLabel(origin, false),
				"then calls: " + render.NumberLabel(req.dest.Digits, false),
				"number shown to them: " + shown,
			},
			note:         "The phone that rings first is not yours. The call is billed to the account.",
			confirmLabel: "Call",
		}), nil
	}
	if reply, ok := cc.gate.rateLimit(ctx, c); !ok {
		return reply, nil
	}
	op = begin(c, op, title+hiddenNote(req))
	msg := fmt.Sprintf(":telephone_receiver: Calling %s: your phone (%s) rings first; answer it and EnCo connects you.%s The call record follows in a thread in this channel.",
		req.dest.International(), render.NumberLabel(origin, false), shownSentence(req, origin))
	return textReply(msg), func(ctx context.Context) { cc.run(ctx, op, c.ResponseURL) }
}

// shownSentence tells the caller what the person called sees, when it is
// not the number that rings first: nothing (hidden) or another number.
func shownSentence(req callRequest, origin string) string {
	switch {
	case req.presentation == enco.PresentationRestricted:
		return " Your number is hidden: the person called sees no caller id."
	case req.cli != "" && req.cli != origin:
		return fmt.Sprintf(" The person called sees %s.", render.NumberLabel(req.cli, false))
	}
	return ""
}

// hiddenNote is what a call's title adds when the number shown is hidden.
func hiddenNote(req callRequest) string {
	if req.presentation == enco.PresentationRestricted {
		return ", number hidden"
	}
	return ""
}

// callRequest is a /call command as typed, checked against call barring.
type callRequest struct {
	dest         phone.Number
	from, cli    string // E.164 digits; "" when not given
	presentation string
}

// parseCall reads `<number> [from=…] [cli=…] [hidden]` and applies call
// barring: the API leaves that to the application.
func (cc *callCommand) parseCall(toks []token) (callRequest, *UsageError) {
	var req callRequest
	pos, opts, uerr := numberOptions(callUsage, toks, "from", "cli")
	if uerr != nil {
		return req, uerr
	}
	var rest []token
	for _, t := range pos {
		switch {
		case t.literal && strings.EqualFold(t.text, "hidden"):
			req.presentation = enco.PresentationRestricted
		case t.user != "" || t.group != "":
			return req, usageErr(callUsage, "`%s`: /call takes the number to call, not a person.", t.text)
		default:
			rest = append(rest, t)
		}
	}
	if len(rest) == 0 {
		return req, usageErr(callUsage, "`/call` needs the number to call, e.g. `/call 0468 37 39 01`.")
	}
	if w := rest[0].text; rest[0].literal && strings.Trim(strings.ToLower(w), "abcdefghijklmnopqrstuvwxyz-_") == "" {
		return req, usageErr(callUsage, "`%s` is not a /call subcommand or a number. Use `/call &lt;number&gt;` or `/call cdr`.", w)
	}
	nums, err := numbers(callUsage, rest)
	if err != nil {
		return req, err
	}
	if len(nums) != 1 {
		return req, usageErr(callUsage, "`/call` calls one number at a time; I read %d numbers.", len(nums))
	}
	req.dest = nums[0]
	if uerr := cc.barred(req.dest); uerr != nil {
		return req, uerr
	}
	for key, field := range map[string]*string{"from": &req.from, "cli": &req.cli} {
		o, ok := opts[key]
		if !ok {
			continue
		}
		if o.none {
			return req, usageErr(callUsage, "`%s=` needs a number, e.g. `%s=02 816 02 57`.", key, key)
		}
		if o.num.Kind != phone.Fixed || o.num.IsInternational() {
			return req, usageErr(callUsage, "`%s`: calls start from, and show, a Belgian fixed Proximus number of the account; %s is a %s number.", o.text, o.num.International(), o.num.Kind)
		}
		*field = o.num.Digits
	}
	return req, nil
}

// barred refuses the destinations a call-out must not dial: emergency and
// special numbers always, premium-rate and international numbers unless the
// policy allows them.
func (cc *callCommand) barred(n phone.Number) *UsageError {
	allowPremium := cc.policy != nil && cc.policy.CallAllowPremium()
	allowInternational := cc.policy != nil && cc.policy.CallAllowInternational()
	switch {
	case n.Kind == phone.Special:
		return usageErr(callUsage, "`%s` is an emergency or special service number; call-outs never dial those. In an emergency, call from your own phone.", n.Digits)
	case n.Kind == phone.Premium && !allowPremium:
		return usageErr(callUsage, "`%s` is a premium-rate number; the policy does not allow call-outs to premium-rate numbers.", n.International())
	case n.IsInternational() && !allowInternational:
		return usageErr(callUsage, "`%s` is outside Belgium; the policy does not allow international call-outs.", n.International())
	}
	return nil
}

// run places a call: the parent message that will hold the call's
// record, its callback token, then the API call and its session id.
func (cc *callCommand) run(ctx context.Context, op switchboard.Operation, responseURL string) {
	if !cc.ops.startOperation(ctx, &op, responseURL) {
		return
	}
	if cc.voice == nil {
		// Confirmed after an operator switched /call off.
		cc.ops.failOperation(ctx, op, "The call was not placed: "+voiceOff)
		return
	}
	token, err := cc.ops.bindCallbackToken(ctx, op)
	if err != nil {
		cc.ops.failOperation(ctx, op, "I could not store the call's callback token, so I did not place the call. "+cc.ops.storeFailure(err, "bind token"))
		return
	}
	dest := enco.TargetDevice(op.Targets[0]).Identifier
	session, err := cc.voice.PlaceCall(ctx, enco.CallRequest{
		Origin:       op.Params.Origin,
		Destination:  dest,
		CLI:          op.Params.CLI,
		Presentation: op.Params.Presentation,
		Callback:     cc.publicURL + notify.PathCall + token,
	})
	if err != nil {
		cc.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "api error", OperationID: op.ID, Detail: "call not placed"})
		cc.ops.failOperation(ctx, op, "The call was not placed: "+cc.ops.userError(err, "voice call"))
		return
	}
	cc.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "api call", OperationID: op.ID, Detail: "session " + session})
	cc.log.Info("call placed", "operation", op.ID, "session", session)
	stored, err := cc.operations.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error {
		o.Params.Session = session
		return nil
	})
	if err != nil {
		cc.log.Error("store session id", "err", err, "operation", op.ID)
	}
	if stored.Status == switchboard.StatusDone {
		// The call's record came in before EnCo answered the request: its
		// reply in the thread is on its way, and a note that the call is
		// being placed would come after it.
		return
	}
	cc.ops.respond(ctx, responseURL, textReply(fmt.Sprintf(":telephone_receiver: EnCo is placing the call (session %s): %s rings first; once it is answered, EnCo calls %s.",
		render.Escape(session), render.NumberLabel(op.Params.Origin, false), render.NumberLabel(dest, false))).Message(), false)
}

// callCDR lists recent calls: /call cdr [since=…]. Holders of call.any see
// every call of the account, others the calls from their fixed number.
func (cc *callCommand) callCDR(ctx context.Context, c *command, args []token) (Reply, func(context.Context)) {
	pos, opts, err := options(callUsage, args, "since", "till", "page", "limit")
	if err != nil {
		return usageReply(err), nil
	}
	if len(pos) > 0 {
		return usageReply(usageErr(callUsage, "`%s`: `/call cdr` takes only `since=`, `till=`, `page=` and `limit=`, e.g. `/call cdr since=7d`.", pos[0].text)), nil
	}
	q, uerr := parseCDRQuery(opts, time.Now())
	if uerr != nil {
		return usageReply(uerr), nil
	}
	all := cc.gate.checker.Check(ctx, c.UserID, c.ChannelID, switchboard.PermCallAny).Allowed
	perm := switchboard.PermCallSelf
	if all {
		perm = switchboard.PermCallAny
	}
	if reply, ok := cc.gate.allow(ctx, c, perm); !ok {
		return reply, nil
	}
	var mine string
	if !all {
		own, reply, ok := cc.who.ownNumbers(ctx, c.UserID)
		if !ok {
			return reply, nil
		}
		if own.Fixed == "" {
			return textReply(cc.who.noNumberHint(c.UserID, "fixed", "fixed=02 816 02 57")), nil
		}
		mine = own.Fixed
	}
	whose := "your calls"
	if all {
		whose = "the account's calls"
	}
	return textReply(fmt.Sprintf(":mag: Looking up %s %s…", whose, q.label(time.UTC))), func(ctx context.Context) { cc.cdrReport(ctx, c, q, mine) }
}

// parseSince reads since=: a duration back from now ("24h", "90m", "7d") or
// a moment (RFC 3339, "2025-01-31T14:00" or "2025-01-31", UTC unless a zone
// is given). Empty means the last 24 hours.
func parseSince(v string, now time.Time) (time.Time, *UsageError) {
	if v == "" {
		return now.Add(-24 * time.Hour), nil
	}
	return parseMoment("since", v, now)
}

// parseMoment reads the value v of option key as parseSince does: a
// duration back from now or a moment in the past.
func parseMoment(key, v string, now time.Time) (time.Time, *UsageError) {
	bad := usageErr(callUsage, "`%s=%s` is not a time: write how far back, like `%s=24h` or `%s=7d`, or a date, like `%s=2025-01-31`.", key, v, key, key, key)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 3660 {
			return time.Time{}, bad
		}
		return now.AddDate(0, 0, -n), nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d <= 0 {
			return time.Time{}, bad
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		t, err := time.Parse(layout, v)
		if err != nil {
			continue
		}
		if t.After(now) {
			return time.Time{}, usageErr(callUsage, "`%s=%s` is in the future; give a moment in the past.", key, v)
		}
		return t, nil
	}
	return time.Time{}, bad
}

func sinceLabel(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") + " UTC" }

// sinceIn is sinceLabel in the requester's time zone.
func sinceIn(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02 15:04 MST") }

// cdrReport reads the CDRs and answers the requester: a table, or for many
// calls a CSV file attached to the channel.
func (cc *callCommand) cdrReport(ctx context.Context, c *command, q cdrQuery, mine string) {
	cdrs, err := cc.voice.CDRs(ctx, q.enco())
	perm := switchboard.PermCallSelf
	if mine == "" {
		perm = switchboard.PermCallAny
	}
	cc.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: perm, Decision: apiDecision(err), Detail: fmt.Sprintf("%d CDRs read", len(cdrs))})
	if err != nil && len(cdrs) == 0 {
		cc.ops.respond(ctx, c.ResponseURL, textReply(":x: "+cc.ops.userError(err, "voice cdr")).Message(), false)
		return
	}
	var warn string
	if err != nil {
		warn = "\n:warning: EnCo failed while I read further pages, so the list may be incomplete: " + cc.ops.userError(err, "voice cdr")
	} else if len(cdrs) >= maxCDRItems {
		warn = fmt.Sprintf("\n:warning: These are the first %d calls EnCo returned; use a later `since=`, or `page=`, to see the rest.", maxCDRItems)
	}
	if mine != "" {
		cdrs = slices.DeleteFunc(cdrs, func(cdr enco.CDR) bool { return phone.Digits(cdr.Origin) != mine })
	}
	slices.SortStableFunc(cdrs, func(a, b enco.CDR) int { return b.RequestTime.Compare(a.RequestTime) })
	whose := "Your calls"
	if mine == "" {
		whose = "Calls of the account"
	}
	// Times in the requester's time zone, as elsewhere; UTC when Slack
	// does not say it.
	loc, _, zerr := cc.who.zone(ctx, c.UserID)
	if zerr != nil {
		loc = time.UTC
	}
	if len(cdrs) == 0 {
		cc.ops.respond(ctx, c.ResponseURL, textReply(fmt.Sprintf("No calls %s.%s", q.label(loc), warn)).Message(), false)
		return
	}
	answered := 0
	for _, cdr := range cdrs {
		if cdr.Answered() {
			answered++
		}
	}
	head := fmt.Sprintf("*%s %s*: %d, %d answered.", whose, q.label(loc), len(cdrs), answered)
	if len(cdrs) <= maxCDRRows {
		cc.ops.respond(ctx, c.ResponseURL, textReply(head+"\n"+cdrTable(cdrs, loc)+warn).Message(), false)
		return
	}
	note, send := cc.lists.attachList(c, cdrList(cdrs, q, cc.mask))
	text := fmt.Sprintf("%s The %d most recent:\n%s\n%s %s%s", head, maxCDRRows, cdrTable(cdrs[:maxCDRRows], loc), leftOut(maxCDRRows, len(cdrs)), note, warn)
	cc.ops.respond(ctx, c.ResponseURL, textReply(text).Message(), false)
	send(ctx)
}

func cdrOutcome(c enco.CDR) string {
	if c.Answered() {
		return "answered"
	}
	return c.ReleaseReason()
}

func cdrLength(c enco.CDR) string {
	if !c.Answered() {
		return "—"
	}
	return render.CallDuration(c.CallDuration)
}

// cdrTable lays calls out in a code block, one line each. It is shown to the
// requester only, so numbers are not masked.
func cdrTable(cdrs []enco.CDR, loc *time.Location) string {
	var b strings.Builder
	b.WriteString("```\n")
	row := func(cols ...string) {
		fmt.Fprintf(&b, "%-20s  %-17s  %-17s  %-15s  %s", cols[0], cols[1], cols[2], cols[3], cols[4])
		b.WriteString("\n")
	}
	row("When", "From", "To", "Outcome", "Length")
	for _, c := range cdrs {
		row(c.RequestTime.In(loc).Format("2006-01-02 15:04 MST"), render.NumberLabel(phone.Digits(c.Origin), false), render.NumberLabel(phone.Digits(c.Destination), false), render.Escape(truncate(cdrOutcome(c), 15)), cdrLength(c))
	}
	b.WriteString("```")
	return b.String()
}

// cdrList is the calls as a file. It is attached to a channel, so numbers
// are masked when the policy says so.
func cdrList(cdrs []enco.CDR, q cdrQuery, mask bool) fullList {
	number := func(s string) string {
		d := phone.Digits(s)
		if mask {
			return render.NumberLabel(d, true)
		}
		return "+" + d
	}
	l := fullList{
		name:   "calls",
		title:  "Calls " + q.label(time.UTC),
		header: []string{"session_id", "request_time", "origin", "destination", "presentation", "answered", "duration_seconds", "outcome", "release_info"},
	}
	for _, c := range cdrs {
		l.rows = append(l.rows, []string{
			c.SessionID, c.RequestTime.UTC().Format(time.RFC3339), number(c.Origin), number(c.Destination), c.Presentation,
			strconv.FormatBool(c.Answered()), strconv.Itoa(c.CallDuration), cdrOutcome(c), c.CallReleaseInfo,
		})
	}
	return l
}
