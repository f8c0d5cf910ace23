package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/schedule"
	"github.com/switchboard-bot/switchboard/state"
)

// scheduleCommand answers /fmu schedule and the timed profile changes (/fmu
// on-duty for 2h, until 18:00).
type scheduleCommand struct {
	gate  *gate
	ops   *operator
	who   *whois
	notes *notebook
	store ScheduleStore // nil: schedules are off
	fmu   FMUAPI
	now   func() time.Time
	limits
	log *slog.Logger
}

// Scheduled FMU changes: "/fmu on-duty until 18:00" and "/fmu private for
// 2h" set the profile now and back later; "/fmu schedule <days>
// HH:MM-HH:MM <profile> else <profile>" is a weekly rule. The Scheduler
// makes the changes when they fall due.

// MaxSchedules is how many schedules (weekly rules and pending changes back)
// one person may have.
const MaxSchedules = 20

const scheduleUsage = "*Usage*\n" +
	"`/fmu on-duty until 18:00` · `/fmu private until 2026-12-24 18:00` · `/fmu private for 2h` — set your profile now and back to the current one then (`for` takes `1m` to `30d`: `90m`, `1h30m`, `3d`)\n" +
	"`/fmu schedule weekdays 08:00-18:00 professional else private` — every week (days: `weekdays`, `weekends`, `daily`, or `mon,tue,…`)\n" +
	"`/fmu schedule list` · `/fmu schedule clear [id]` — your schedules\n" +
	"`/fmu schedule @person … ` · `/fmu schedule list @person` · `/fmu schedule clear @person [id]` — someone else's (`fmu.set`)\n" +
	"Times are in your Slack time zone, or Europe/Brussels when your profile has none."

// ScheduleStore keeps scheduled FMU changes, each person's recent operations
// and recently read profiles (state.Store implements it).
type ScheduleStore interface {
	FMUSchedules(ctx context.Context, user string) ([]state.FMUSchedule, error)
	UpdateFMUSchedules(ctx context.Context, user string, fn func([]state.FMUSchedule) ([]state.FMUSchedule, []string, error)) error
	ClaimFMUSchedules(ctx context.Context, now time.Time, n int, lease time.Duration) ([]state.ClaimedSchedule, time.Time, error)
	SettleFMUSchedule(ctx context.Context, c state.ClaimedSchedule, next *state.FMUSchedule, at time.Time, fx state.ScheduleEffects) (bool, error)
	NoteRecentOp(ctx context.Context, user string, op state.RecentOp) error
	RecentOps(ctx context.Context, user string) ([]state.RecentOp, error)
	CacheFMUProfile(ctx context.Context, msisdn, profile string, ttl time.Duration) error
	CachedFMUProfile(ctx context.Context, msisdn string) (string, bool, error)
}

// People tells a person's time zone, from their Slack profile (users.info).
type People interface {
	TimeZone(ctx context.Context, userID string) (string, error)
}

// zoneUnknown answers a schedule that cannot be stored because Slack did
// not tell the person's time zone: storing it in the default zone could
// make it fire hours off.
func zoneUnknown(user string) Reply {
	return textReply(fmt.Sprintf(":hourglass: I could not read the time zone of <@%s> from Slack just now, so I scheduled nothing. Please try again in a minute.", user)).with("unavailable")
}

// whenLabel shows a due time to the person, in their zone.
func whenLabel(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 15:04 MST")
}

func zoneNote(loc *time.Location, fallback bool) string {
	if fallback {
		return fmt.Sprintf("times in %s, as the Slack profile gives no time zone", loc)
	}
	return "times in " + loc.String()
}

// noSchedules is the answer when the router has no schedule store.
func noSchedules() Reply {
	return textReply(":warning: Schedules are not available on this bot.").with("unavailable")
}

// untilFor reads the "until …" or "for …" after a profile and returns when
// the change back falls due.
func untilFor(args []token, now time.Time, loc *time.Location) (time.Time, *UsageError) {
	l, uerr := readLater(args)
	if uerr != nil {
		return time.Time{}, uerr
	}
	return l.at(now, loc)
}

// later is an "until …" or "for …" read but not yet placed in time, which
// for "until" takes the person's time zone.
type later struct {
	d     time.Duration // for "for"
	until bool
	date  string // for "until": the date given, if any, and the clock
	clock schedule.Clock
}

// readLater reads the words of an "until …" or "for …": everything that
// needs no time zone.
func readLater(args []token) (later, *UsageError) {
	word := strings.ToLower(args[0].text)
	rest := args[1:]
	switch word {
	case "for":
		if len(rest) != 1 {
			return later{}, usageErr(scheduleUsage, "`for` takes one duration, like `for 2h` or `for 1h30m`.")
		}
		d, err := schedule.ParseDuration(rest[0].text)
		if err != nil {
			return later{}, usageErr(scheduleUsage, "%s.", capitalize(err.Error()))
		}
		return later{d: d}, nil
	case "until":
		var date, clock string
		switch len(rest) {
		case 1:
			clock = rest[0].text
		case 2:
			date, clock = rest[0].text, rest[1].text
		default:
			return later{}, usageErr(scheduleUsage, "`until` takes a time (`until 18:00`) or a date and time (`until 2026-12-24 18:00`).")
		}
		c, err := schedule.ParseClock(clock)
		if err != nil {
			return later{}, usageErr(scheduleUsage, "%s.", capitalize(err.Error()))
		}
		return later{until: true, date: date, clock: c}, nil
	}
	return later{}, usageErr(scheduleUsage, "`%s`: after the profile I expect `until` or `for`.", args[0].text)
}

// at places l in time, seen at now in loc. The date of an "until" is read
// here, with whether it has passed or lies too far ahead.
func (l later) at(now time.Time, loc *time.Location) (time.Time, *UsageError) {
	if !l.until {
		return now.Add(l.d), nil
	}
	at, err := schedule.Until(now, loc, l.date, l.clock)
	if err != nil {
		return time.Time{}, usageErr(scheduleUsage, "%s.", capitalize(err.Error()))
	}
	return at, nil
}

// untilForIndex returns where "until" or "for" starts in args, or -1.
func untilForIndex(args []token) int {
	for i, t := range args {
		if w := strings.ToLower(t.text); t.literal && (w == "until" || w == "for") {
			return i
		}
	}
	return -1
}

// fmuSelfFor sets the requester's profile now and schedules the change back
// to the profile they have now. Before the acknowledgement it only reads the
// words and checks the permission; the requester's time zone (from Slack)
// and mobile number (from the directory, with trust_profile_phone from
// Slack too) are looked up after it, and the answers follow through the
// response URL.
func (sd *scheduleCommand) fmuSelfFor(ctx context.Context, c *command, p enco.Profile, args []token) (Reply, func(context.Context)) {
	if sd.store == nil {
		return noSchedules(), nil
	}
	l, uerr := readLater(args)
	if uerr != nil {
		return usageReply(uerr), nil
	}
	if reply, ok := sd.gate.allow(ctx, c, switchboard.PermFMUSelf); !ok {
		return reply, nil
	}
	return textReply(":hourglass_flowing_sand: Looking up your time zone and mobile number…"), func(ctx context.Context) { sd.selfFor(ctx, c, p, l) }
}

// selfFor is fmuSelfFor's work after the acknowledgement: it places l in
// the requester's time zone, finds their mobile number and, when they may
// have one more schedule and within their allowance of changes, says when
// the change back falls due, then makes the change (setUntil). Every answer
// goes through the response URL.
func (sd *scheduleCommand) selfFor(ctx context.Context, c *command, p enco.Profile, l later) {
	answer := func(reply Reply) { sd.ops.respond(ctx, c.ResponseURL, reply.Message(), false) }
	loc, fallback, err := sd.who.zone(ctx, c.UserID)
	if err != nil {
		answer(zoneUnknown(c.UserID))
		return
	}
	at, uerr := l.at(sd.now(), loc)
	if uerr != nil {
		answer(usageReply(uerr))
		return
	}
	me, reply, ok := sd.who.myMobile(ctx, c)
	if !ok {
		answer(reply)
		return
	}
	current, err := sd.store.FMUSchedules(ctx, c.UserID)
	if err != nil {
		answer(sd.scheduleDown(err))
		return
	}
	if pendingBack(current) == nil && len(current) >= MaxSchedules {
		answer(usageReply(tooManySchedules(c.UserID, c.UserID)))
		return
	}
	if reply, ok := sd.gate.rateLimit(ctx, c); !ok {
		answer(reply)
		return
	}
	answer(textReply(fmt.Sprintf(":hourglass_flowing_sand: Setting your FMU profile to *%s* until %s…", render.ProfileLabel(p), whenLabel(at, loc))))
	answer(textReply(sd.setUntil(ctx, c.UserID, me, p, at, loc, fallback)))
}

// setUntil reads the current profile, sets p, and schedules the change back
// at at. A change back already pending is replaced, keeping the profile it
// went back to, so that "for 1h" after "for 2h" still ends where both began.
func (sd *scheduleCommand) setUntil(ctx context.Context, user string, me fmuTarget, p enco.Profile, at time.Time, loc *time.Location, fallback bool) string {
	st, err := sd.fmu.FMUStatus(ctx, me.digits)
	switch {
	case err != nil:
		return fmt.Sprintf(":x: I could not read your FMU profile, so I changed nothing: %s", sd.ops.fmuError(err, "fmu status"))
	case st.IsError:
		return fmt.Sprintf(":x: EnCo could not read your FMU profile, so I changed nothing: %s", render.Escape(cmp.Or(strings.TrimSpace(st.Error), "no reason given")))
	case !st.Status.Valid():
		// The profile to go back to comes from the network: only one of
		// the three profiles is worth scheduling.
		return fmt.Sprintf(":x: I could not read your current FMU profile (EnCo's answer is not private, professional or on duty), so no change back can be scheduled and I changed nothing. `/fmu %s` without `until` or `for` sets it for good.",
			strings.ToLower(strings.ReplaceAll(string(p), "_", "-")))
	}
	err = sd.fmu.SetFMUStatus(ctx, me.digits, p)
	sd.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: switchboard.PermFMUSelf, Decision: apiDecision(err), Detail: fmt.Sprintf("own profile set to %s until %s", p, at.UTC().Format(time.RFC3339))})
	if err != nil {
		sd.notes.noteRecent(ctx, user, "Set your FMU profile to "+render.ProfileLabel(p), switchboard.StatusFailed)
		return fmt.Sprintf(":x: Your FMU profile (%s) was not changed: %s", me.label(false), sd.ops.fmuError(err, "fmu set own status"))
	}
	sd.notes.cacheProfile(ctx, me.digits, p)
	sd.notes.noteRecent(ctx, user, "Set your FMU profile to "+render.ProfileLabel(p), switchboard.StatusDone)

	back := st.Status
	id := state.NewHex(4)
	// replaced is the change back of an earlier "until"/"for" that this one
	// replaces; the profile that change had set is the one read before.
	var replaced *state.FMUSchedule
	err = sd.store.UpdateFMUSchedules(ctx, user, func(cur []state.FMUSchedule) ([]state.FMUSchedule, []string, error) {
		back, replaced = st.Status, nil
		var remove []string
		if old := pendingBack(cur); old != nil {
			back = enco.Profile(old.DueProfile)
			remove = append(remove, old.ID)
			o := *old
			replaced = &o
		}
		if len(cur)-len(remove) >= MaxSchedules {
			return nil, nil, tooManySchedules(user, user)
		}
		if back == p {
			return nil, remove, nil
		}
		return []state.FMUSchedule{{
			ID: id, User: user, CreatedBy: user, CreatedAt: sd.now(), Zone: loc.String(),
			Kind: state.ScheduleOnce, Profile: string(back), Due: at, DueProfile: string(back),
		}}, remove, nil
	})
	var uerr *UsageError
	switch {
	case errors.As(err, &uerr):
		return fmt.Sprintf(":warning: Your FMU profile (%s) is now *%s*, but I could not schedule the change back: %s", me.label(false), render.ProfileLabel(p), uerr.Msg)
	case err != nil:
		return fmt.Sprintf(":warning: Your FMU profile (%s) is now *%s*, but I could not schedule the change back. %s", me.label(false), render.ProfileLabel(p), sd.ops.storeFailure(err, "save schedule"))
	case back == p && replaced != nil:
		return fmt.Sprintf(":white_check_mark: Your FMU profile (%s) is now *%s* again. This replaces your earlier change (%s), which would have set it back to *%s*: that is what it is now, so there is nothing left to change back.",
			me.label(false), render.ProfileLabel(p), earlierChange(st.Status, replaced, loc), render.ProfileLabel(back))
	case back == p:
		return fmt.Sprintf(":white_check_mark: Your FMU profile (%s) is *%s*, as it was before, so there is nothing to change back.", me.label(false), render.ProfileLabel(p))
	}
	sd.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: "fmu.schedule", Decision: "scheduled", Detail: fmt.Sprintf("%s: <@%s> back to %s at %s", id, user, back, at.UTC().Format(time.RFC3339))})
	restore := fmt.Sprintf("I will set it back to *%s*", render.ProfileLabel(back))
	if replaced != nil {
		restore = fmt.Sprintf("This replaces your earlier change (%s). I will set it back to *%s*, the profile you had before that change,", earlierChange(st.Status, replaced, loc), render.ProfileLabel(back))
	}
	return fmt.Sprintf(":white_check_mark: Your FMU profile (%s) is now *%s*. %s at %s (`%s`; %s). `/fmu schedule clear %s` cancels that.",
		me.label(false), render.ProfileLabel(p), restore, whenLabel(at, loc), id, zoneNote(loc, fallback), id)
}

// earlierChange words the "until"/"for" an answer replaces: the profile it
// had set (the one read just before this change) and when it was to end.
func earlierChange(set enco.Profile, old *state.FMUSchedule, loc *time.Location) string {
	return fmt.Sprintf("*%s* until %s, `%s`", render.ProfileLabel(set), whenLabel(old.Due, loc), old.ID)
}

// pendingBack returns the change back of an earlier "until"/"for", if any.
func pendingBack(cur []state.FMUSchedule) *state.FMUSchedule {
	for i := range cur {
		if cur[i].Kind == state.ScheduleOnce {
			return &cur[i]
		}
	}
	return nil
}

func tooManySchedules(user, requester string) *UsageError {
	who := fmt.Sprintf("<@%s> has", user)
	if user == requester {
		who = "You have"
	}
	return usageErr(scheduleUsage, "%s %d schedules already, the most one person may have. Remove one first: `/fmu schedule list` shows them, `/fmu schedule clear &lt;id&gt;` removes one.", who, MaxSchedules)
}

func (sd *scheduleCommand) scheduleDown(err error) Reply {
	ref := state.NewHex(4)
	sd.log.Error("schedules", "err", err, "ref", ref)
	return storeDown(ref)
}

// answer answers /fmu schedule …: a weekly rule is stored after the
// acknowledgement (scheduleAdd), lists and clearings, which only read and
// write the store, before it.
func (sd *scheduleCommand) answer(ctx context.Context, c *command, args []token) (Reply, func(context.Context)) {
	if sd.store == nil {
		return noSchedules(), nil
	}
	if len(args) == 0 {
		return textReply(scheduleUsage), nil
	}
	switch strings.ToLower(args[0].text) {
	case "help":
		return textReply(scheduleUsage), nil
	case "list":
		return sd.scheduleList(ctx, c, args[1:]), nil
	case "clear":
		return sd.scheduleClear(ctx, c, args[1:]), nil
	}
	return sd.scheduleAdd(ctx, c, args)
}

// people splits the @people at the start of args from the rest.
func people(args []token) (users []string, rest []token, uerr *UsageError) {
	for i, t := range args {
		switch {
		case t.user != "":
			if !slices.Contains(users, t.user) {
				users = append(users, t.user)
			}
		case t.group != "":
			return nil, nil, usageErr(scheduleUsage, "`%s` is a user group; name the people instead.", t.text)
		default:
			return users, args[i:], nil
		}
	}
	return users, nil, nil
}

// scheduleOwner decides whose schedules a command is about: the requester's
// own (fmu.self) or the people named (fmu.set).
func (sd *scheduleCommand) scheduleOwner(ctx context.Context, c *command, users []string) ([]string, Reply, bool) {
	if len(users) == 0 || (len(users) == 1 && users[0] == c.UserID) {
		reply, ok := sd.gate.allow(ctx, c, switchboard.PermFMUSelf)
		return []string{c.UserID}, reply, ok
	}
	reply, ok := sd.gate.allow(ctx, c, switchboard.PermFMUSet)
	return users, reply, ok
}

// scheduleAdd reads "[@people] <days> HH:MM-HH:MM <profile> else <profile>"
// and checks the permission; the acknowledgement says the rule is being
// scheduled, and the work after it (addWeekly) stores it and answers
// through the response URL.
func (sd *scheduleCommand) scheduleAdd(ctx context.Context, c *command, args []token) (Reply, func(context.Context)) {
	users, rest, uerr := people(args)
	if uerr != nil {
		return usageReply(uerr), nil
	}
	rule, in, out, uerr := parseWeekly(rest)
	if uerr != nil {
		return usageReply(uerr), nil
	}
	if max := sd.maxTargets(); len(users) > max {
		return usageReply(usageErr(scheduleUsage, "That is %d people; one command takes at most %d.", len(users), max)), nil
	}
	owners, reply, ok := sd.scheduleOwner(ctx, c, users)
	if !ok {
		return reply, nil
	}
	whom := "you"
	switch {
	case len(owners) > 1:
		whom = fmt.Sprintf("%d people", len(owners))
	case owners[0] != c.UserID:
		whom = fmt.Sprintf("<@%s>", owners[0])
	}
	ack := fmt.Sprintf(":hourglass_flowing_sand: Scheduling %s for %s: *%s* from %s to %s, *%s* otherwise…",
		rule.Days, whom, render.ProfileLabel(in), rule.Start, rule.End, render.ProfileLabel(out))
	return textReply(ack), func(ctx context.Context) {
		sd.ops.respond(ctx, c.ResponseURL, sd.addWeekly(ctx, c, owners, rule, in, out).Message(), false)
	}
}

// addWeekly stores a weekly rule for each owner, refusing one that overlaps
// a rule they have or would exceed MaxSchedules; nothing is stored unless it
// can be stored for everyone. It reads each owner's mobile number from the
// directory and time zone from Slack, so it runs after the acknowledgement.
func (sd *scheduleCommand) addWeekly(ctx context.Context, c *command, owners []string, rule schedule.Weekly, in, out enco.Profile) Reply {
	type plan struct {
		user     string
		loc      *time.Location
		fallback bool
		sc       state.FMUSchedule
	}
	plans := make([]plan, 0, len(owners))
	now := sd.now()
	for _, u := range owners {
		e, _, _, err := sd.who.lookup(ctx, u)
		if err != nil {
			return sd.who.directoryDown(err)
		}
		if e.Mobile == "" {
			if u == c.UserID {
				return textReply(sd.who.noNumberHint(u, "mobile", "mobile=0470 12 34 56"))
			}
			return usageReply(usageErr(scheduleUsage, "I don't know the mobile number of <@%s>. Ask someone who holds `directory.admin` to link it: `/fmu link @person mobile=0470 12 34 56`.", u))
		}
		loc, fallback, err := sd.who.zone(ctx, u)
		if err != nil {
			return zoneUnknown(u)
		}
		due, start := rule.Next(now, loc)
		if !start {
			// The next change ends a window: the rule is in force now, so
			// its profile is due at once rather than at its next start.
			due, start = now, true
		}
		sc := state.FMUSchedule{
			ID: state.NewHex(4), User: u, CreatedBy: c.UserID, CreatedAt: now, Zone: loc.String(),
			Kind: state.ScheduleWeekly, Profile: string(in), Else: string(out),
			Days: uint8(rule.Days), Start: int(rule.Start), End: int(rule.End),
			Due: due, DueProfile: string(out),
		}
		if start {
			sc.DueProfile = string(in)
		}
		plans = append(plans, plan{user: u, loc: loc, fallback: fallback, sc: sc})
	}
	// Check everyone first, so that a refusal stores nothing for anyone.
	for _, p := range plans {
		cur, err := sd.store.FMUSchedules(ctx, p.user)
		if err != nil {
			return sd.scheduleDown(err)
		}
		if uerr := checkRule(cur, p.sc, rule, c.UserID); uerr != nil {
			return usageReply(uerr)
		}
	}
	var lines []string
	for _, p := range plans {
		err := sd.store.UpdateFMUSchedules(ctx, p.user, func(cur []state.FMUSchedule) ([]state.FMUSchedule, []string, error) {
			if uerr := checkRule(cur, p.sc, rule, c.UserID); uerr != nil {
				return nil, nil, uerr
			}
			return []state.FMUSchedule{p.sc}, nil, nil
		})
		var uerr *UsageError
		if errors.As(err, &uerr) {
			return usageReply(uerr)
		}
		if err != nil {
			return sd.scheduleDown(err)
		}
		sd.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: "fmu.schedule", Decision: "scheduled", Detail: fmt.Sprintf("%s: <@%s> %s %s else %s (%s)", p.sc.ID, p.user, rule, in, out, p.loc)})
		whose := "Yours"
		if p.user != c.UserID {
			whose = fmt.Sprintf("<@%s>'s", p.user)
		}
		if p.sc.Due.Equal(now) {
			end, _ := rule.Next(now, p.loc)
			lines = append(lines, fmt.Sprintf("%s `%s`: its hours have begun, so I am setting *%s* now; next change to *%s* at %s (%s).", whose, p.sc.ID, render.ProfileLabel(in), render.ProfileLabel(out), whenLabel(end, p.loc), zoneNote(p.loc, p.fallback)))
			continue
		}
		lines = append(lines, fmt.Sprintf("%s `%s`: next change to *%s* at %s (%s).", whose, p.sc.ID, render.ProfileLabel(enco.Profile(p.sc.DueProfile)), whenLabel(p.sc.Due, p.loc), zoneNote(p.loc, p.fallback)))
	}
	return textReply(fmt.Sprintf(":white_check_mark: Scheduled %s: *%s* from %s to %s, *%s* otherwise.\n%s",
		rule.Days, render.ProfileLabel(in), rule.Start, rule.End, render.ProfileLabel(out), strings.Join(lines, "\n")))
}

// parseWeekly reads "<days> HH:MM-HH:MM <profile> else <profile>".
func parseWeekly(toks []token) (schedule.Weekly, enco.Profile, enco.Profile, *UsageError) {
	example := "`/fmu schedule weekdays 08:00-18:00 professional else private`"
	toks = joinDays(toks)
	if len(toks) != 5 || !strings.EqualFold(toks[3].text, "else") {
		if len(toks) == 3 {
			// Days, hours and one profile: name what is wrong with the
			// hours before asking for the missing else.
			if _, err := schedule.Parse(toks[0].text, toks[1].text); err != nil {
				return schedule.Weekly{}, "", "", usageErr(scheduleUsage, "%s.", capitalize(err.Error()))
			}
			return schedule.Weekly{}, "", "", usageErr(scheduleUsage, "Say which profile applies outside those hours with `else`, e.g. %s.", example)
		}
		return schedule.Weekly{}, "", "", usageErr(scheduleUsage, "A weekly schedule reads `&lt;days&gt; HH:MM-HH:MM &lt;profile&gt; else &lt;profile&gt;`, e.g. %s.", example)
	}
	rule, err := schedule.Parse(toks[0].text, toks[1].text)
	if err != nil {
		return schedule.Weekly{}, "", "", usageErr(scheduleUsage, "%s.", capitalize(err.Error()))
	}
	in, ok := parseProfile(toks[2].text)
	if !ok {
		return schedule.Weekly{}, "", "", usageErr(scheduleUsage, "`%s` is not a profile: use `private`, `professional` or `on-duty`.", toks[2].text)
	}
	out, ok := parseProfile(toks[4].text)
	if !ok {
		return schedule.Weekly{}, "", "", usageErr(scheduleUsage, "`%s` is not a profile: use `private`, `professional` or `on-duty`.", toks[4].text)
	}
	if in == out {
		return schedule.Weekly{}, "", "", usageErr(scheduleUsage, "Both profiles are *%s*; give two different ones.", render.ProfileLabel(in))
	}
	return rule, in, out, nil
}

// joinDays puts back together the days of a weekly rule, which the
// tokenizer split at their commas ("mon,tue,fri" is three words): the words
// before the first one with a digit, which starts the hours.
func joinDays(toks []token) []token {
	n := slices.IndexFunc(toks, func(t token) bool { return strings.ContainsAny(t.text, "0123456789") })
	if n < 2 {
		return toks
	}
	words := make([]string, n)
	for i, t := range toks[:n] {
		if !t.literal || t.user != "" || t.group != "" {
			return toks
		}
		words[i] = t.text
	}
	return append([]token{{text: strings.Join(words, ","), literal: true}}, toks[n:]...)
}

// checkRule refuses a weekly rule that overlaps one the person has, or that
// would take them past MaxSchedules.
func checkRule(cur []state.FMUSchedule, sc state.FMUSchedule, rule schedule.Weekly, requester string) *UsageError {
	for _, o := range cur {
		if o.Kind != state.ScheduleWeekly {
			continue
		}
		other := weeklyOf(o)
		if day, overlap := schedule.Overlaps(rule, other); overlap {
			whose := "your"
			if sc.User != requester {
				whose = fmt.Sprintf("<@%s>'s", sc.User)
			}
			return usageErr(scheduleUsage, "`%s` overlaps %s schedule `%s` (%s) on %s. Clear it first (`/fmu schedule clear %s`) or pick hours that do not overlap.", rule, whose, o.ID, other, day, o.ID)
		}
	}
	if len(cur) >= MaxSchedules {
		return tooManySchedules(sc.User, requester)
	}
	return nil
}

func weeklyOf(sc state.FMUSchedule) schedule.Weekly {
	return schedule.Weekly{Days: schedule.Days(sc.Days), Start: schedule.Clock(sc.Start), End: schedule.Clock(sc.End)}
}

// describeSchedule is one line about a schedule, for lists and the Home tab.
func describeSchedule(sc state.FMUSchedule) string {
	loc, _ := schedule.Location(sc.Zone)
	next := fmt.Sprintf("*%s* at %s", render.ProfileLabel(enco.Profile(sc.DueProfile)), whenLabel(sc.Due, loc))
	by := ""
	if sc.CreatedBy != sc.User {
		by = fmt.Sprintf(", set by <@%s>", sc.CreatedBy)
	}
	if sc.Kind == state.ScheduleOnce {
		return fmt.Sprintf("`%s` back to %s%s", sc.ID, next, by)
	}
	return fmt.Sprintf("`%s` %s: *%s*, else *%s* — next %s%s", sc.ID, weeklyOf(sc), render.ProfileLabel(enco.Profile(sc.Profile)), render.ProfileLabel(enco.Profile(sc.Else)), next, by)
}

// scheduleList shows a person's schedules.
func (sd *scheduleCommand) scheduleList(ctx context.Context, c *command, args []token) Reply {
	users, rest, uerr := people(args)
	switch {
	case uerr != nil:
		return usageReply(uerr)
	case len(rest) > 0:
		return usageReply(usageErr(scheduleUsage, "`/fmu schedule list` takes at most one @person; `%s` is not one.", rest[0].text))
	case len(users) > 1:
		return usageReply(usageErr(scheduleUsage, "`/fmu schedule list` takes one @person at a time."))
	}
	owners, reply, ok := sd.scheduleOwner(ctx, c, users)
	if !ok {
		return reply
	}
	user := owners[0]
	list, err := sd.store.FMUSchedules(ctx, user)
	if err != nil {
		return sd.scheduleDown(err)
	}
	whose := "You have"
	if user != c.UserID {
		whose = fmt.Sprintf("<@%s> has", user)
	}
	if len(list) == 0 {
		return textReply(whose + " no FMU schedules. Try `/fmu on-duty until 18:00` or `/fmu schedule weekdays 08:00-18:00 professional else private`.")
	}
	lines := []string{fmt.Sprintf("%s %s:", whose, plural(len(list), "FMU schedule"))}
	for _, sc := range list {
		lines = append(lines, "• "+describeSchedule(sc))
	}
	return textReply(strings.Join(lines, "\n"))
}

// scheduleClear removes one schedule by id, or all of a person's.
func (sd *scheduleCommand) scheduleClear(ctx context.Context, c *command, args []token) Reply {
	users, rest, uerr := people(args)
	switch {
	case uerr != nil:
		return usageReply(uerr)
	case len(users) > 1:
		return usageReply(usageErr(scheduleUsage, "`/fmu schedule clear` takes one @person at a time."))
	case len(rest) > 1:
		return usageReply(usageErr(scheduleUsage, "`/fmu schedule clear` takes one schedule id (or none, for all); `%s` is one too many.", rest[1].text))
	}
	id := ""
	if len(rest) == 1 && !strings.EqualFold(rest[0].text, "all") {
		id = strings.ToLower(rest[0].text)
	}
	owners, reply, ok := sd.scheduleOwner(ctx, c, users)
	if !ok {
		return reply
	}
	user := owners[0]
	var removed []state.FMUSchedule
	err := sd.store.UpdateFMUSchedules(ctx, user, func(cur []state.FMUSchedule) ([]state.FMUSchedule, []string, error) {
		removed = removed[:0]
		var ids []string
		for _, sc := range cur {
			if id == "" || sc.ID == id {
				removed = append(removed, sc)
				ids = append(ids, sc.ID)
			}
		}
		if id != "" && len(ids) == 0 {
			var known []string
			for _, sc := range cur {
				known = append(known, "`"+sc.ID+"`")
			}
			hint := "there are none"
			if len(known) > 0 {
				hint = "the ids are " + strings.Join(known, ", ")
			}
			return nil, nil, usageErr(scheduleUsage, "There is no schedule `%s`; %s (`/fmu schedule list` shows them).", id, hint)
		}
		return nil, ids, nil
	})
	var ue *UsageError
	switch {
	case errors.As(err, &ue):
		return usageReply(ue)
	case err != nil:
		return sd.scheduleDown(err)
	case len(removed) == 0:
		return textReply("There were no FMU schedules to clear.")
	}
	for _, sc := range removed {
		sd.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: "fmu.schedule", Decision: "cleared", Detail: fmt.Sprintf("%s: <@%s>", sc.ID, user)})
	}
	if len(removed) == 1 {
		return textReply(":white_check_mark: Cleared " + describeSchedule(removed[0]) + ". The profile stays as it is now.")
	}
	return textReply(fmt.Sprintf(":white_check_mark: Cleared %s. The profile stays as it is now.", plural(len(removed), "schedule")))
}
