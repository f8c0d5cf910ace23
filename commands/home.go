package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// homeTab shows and answers the Home tab.
type homeTab struct {
	gate      *gate
	ops       *operator
	who       *whois
	notes     *notebook
	store     ScheduleStore // nil: no schedules nor recent operations
	fmu       FMUAPI
	publisher HomePublisher // nil: the Home tab is off
	commands  registry      // for the help it points to
	approvals *Approvals    // nil: no approvals to list
	callOff   bool          // /call is switched off (ENCO_VOICE=off): not offered
	now       func() time.Time
	log       *slog.Logger
}

// The Home tab shows a person their FMU profile with a button per profile,
// their FMU schedules and their last operations. Slack sends app_home_opened
// each time someone opens the tab, so it is built afresh then, and after a
// click on one of its buttons.

// ActionHomeFMUSet is the action_id of the Home tab's profile buttons; their
// value is the profile (design.md).
const ActionHomeFMUSet = "home_fmu_set"

// HomePublisher publishes a person's Home tab (views.publish).
type HomePublisher interface {
	PublishHome(ctx context.Context, user string, blocks []slack.Block) error
}

// permissionUses says what each permission lets people do, for those who
// cannot use the Home tab's profile buttons.
var permissionUses = map[string]string{
	switchboard.PermFMURead:        "`/fmu status &lt;targets&gt;` — read other people's FMU profiles",
	switchboard.PermFMUSet:         "`/fmu on-duty &lt;targets&gt;` — set other people's FMU profiles",
	switchboard.PermSIMRead:        "`/sim status &lt;numbers&gt;` — read M2M SIM cards",
	switchboard.PermSIMActivate:    "`/sim activate &lt;numbers&gt;` — activate M2M SIM cards",
	switchboard.PermSIMDeactivate:  "`/sim deactivate &lt;numbers&gt;` — deactivate M2M SIM cards",
	switchboard.PermSIMReactivate:  "`/sim reactivate &lt;numbers&gt;` — reactivate M2M SIM cards",
	switchboard.PermSIMTerminate:   "`/sim terminate &lt;numbers&gt;` — terminate M2M SIM cards",
	switchboard.PermNumberRead:     "`/number available` — search FlexIO numbers",
	switchboard.PermNumberReserve:  "`/number reserve &lt;number&gt;` — reserve FlexIO numbers",
	switchboard.PermNumberRelease:  "`/number release &lt;number&gt;` — release FlexIO numbers",
	switchboard.PermCallSelf:       "`/call &lt;destination&gt;` — call out from your fixed number",
	switchboard.PermCallAny:        "`/call &lt;destination&gt; from=&lt;origin&gt;` — call out from any number",
	switchboard.PermDirectoryAdmin: "`/fmu link @person mobile=…` — link people's numbers",
	switchboard.PermAuditRead:      "`/sim audit` — read the audit trail",
}

// Slack sends app_home_opened on every open, and each view costs a
// views.publish and may cost an EnCo read: opens publish at most homeOpens
// views per person per homeOpensWindow (across replicas). An open past that
// leaves the view last published, which a click on the tab refreshes.
const (
	homeOpens       = 3
	homeOpensWindow = 30 * time.Second
)

// opened publishes the Home tab of a person who opened it, within the
// allowance of views per person.
func (h *homeTab) opened(ctx context.Context, user string) {
	if h.publisher == nil || user == "" {
		return
	}
	if h.gate.counters != nil {
		ok, _, err := h.gate.counters.Allow(ctx, "home-opens:"+user, homeOpens, homeOpensWindow)
		if err == nil && !ok {
			h.log.Debug("home tab open past the allowance; view left as it was", "user", user)
			return
		}
	}
	h.publishHome(ctx, user, "")
}

func (h *homeTab) publishHome(ctx context.Context, user, notice string) {
	if h.publisher == nil || user == "" {
		return
	}
	blocks := h.homeView(ctx, user, notice)
	if h.approvals != nil {
		blocks = append(blocks, h.approvals.HomeBlocks(ctx, user)...)
	}
	if err := h.publisher.PublishHome(ctx, user, blocks); err != nil {
		h.log.Warn("publish home tab", "err", err, "user", user)
	}
}

// homeView builds a person's Home tab; notice, when set, is the outcome of
// their last click, shown at the top.
func (h *homeTab) homeView(ctx context.Context, user, notice string) []slack.Block {
	blocks := []slack.Block{slack.NewHeaderBlock(plain("Your FMU profile"))}
	if notice != "" {
		blocks = append(blocks, section(notice))
	}
	d := h.gate.checker.CheckOffChannel(ctx, user, switchboard.PermFMUSelf)
	switch {
	case !d.Allowed:
		blocks = append(blocks, section(":no_entry: "+cmp.Or(d.Message, "You don't have the permission `fmu.self`.")+" So you cannot set your own FMU profile here."))
		return append(blocks, h.mayDo(ctx, user)...)
	}
	e, _, _, err := h.who.lookup(ctx, user)
	switch {
	case err != nil:
		ref := state.NewHex(4)
		h.log.Error("directory lookup", "err", err, "ref", ref, "user", user)
		blocks = append(blocks, section(fmt.Sprintf(":hourglass: I could not look up your number in the directory just now. Open this tab again in a minute. (ref `%s`)", ref)))
	case e.Mobile == "":
		blocks = append(blocks, section(h.who.noNumberHint(user, "mobile", "mobile=0470 12 34 56")))
	default:
		blocks = append(blocks, h.profileBlocks(ctx, user, e.Mobile)...)
	}
	blocks = append(blocks, slack.NewDividerBlock(), section("*Scheduled changes*\n"+h.homeSchedules(ctx, user)))
	blocks = append(blocks, slack.NewDividerBlock(), section("*Your last operations*\n"+h.homeRecent(ctx, user)))
	return blocks
}

// profileBlocks shows the current profile and a button per profile.
func (h *homeTab) profileBlocks(ctx context.Context, user, msisdn string) []slack.Block {
	me := fmuTarget{digits: msisdn}
	current, err := h.currentProfile(ctx, user, msisdn)
	var head string
	var failed profileFailure
	var spent readsSpent
	switch {
	case errors.As(err, &spent):
		head = fmt.Sprintf("%s — I did not read your profile: %s", me.label(false), strings.TrimPrefix(spent.reply.Text, ":hand: "))
	case errors.As(err, &failed):
		head = fmt.Sprintf("%s — I could not read your profile: %s", me.label(false), failed.why)
	case err != nil:
		why := h.ops.fmuError(err, "home fmu status")
		h.cacheProfileFailure(ctx, msisdn, why)
		head = fmt.Sprintf("%s — I could not read your profile: %s", me.label(false), why)
	default:
		head = fmt.Sprintf("%s is *%s*.", me.label(false), render.ProfileLabel(current))
	}
	blocks := []slack.Block{section(head)}
	for _, p := range []struct {
		profile enco.Profile
		what    string
	}{
		{enco.ProfilePrivate, "business calls do not reach your mobile"},
		{enco.ProfileProfessional, "business calls reach your mobile"},
		{enco.ProfileOnDuty, "business calls reach your mobile while you are on call"},
	} {
		label := "Set " + render.ProfileLabel(p.profile)
		if p.profile == current {
			label = render.ProfileLabel(p.profile) + " (current)"
		}
		btn := slack.NewButtonBlockElement(ActionHomeFMUSet, string(p.profile), plain(label))
		if p.profile == current {
			btn.Style = slack.StylePrimary
		}
		text := fmt.Sprintf("*%s* — %s", render.ProfileLabel(p.profile), p.what)
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, slack.NewAccessory(btn), slack.SectionBlockOptionBlockID("home_fmu_"+string(p.profile))))
	}
	return blocks
}

// profileFailureTTL is how long a failed profile read is shown again
// without asking EnCo (or logging it) again.
const profileFailureTTL = 30 * time.Second

// failedProfile marks a cached failure in the profile cache, before the
// words that were shown for it (no profile starts so).
const failedProfile = "failed:"

// profileFailure is a failed read found in the cache: why is what the person
// was told the first time, its reference included.
type profileFailure struct{ why string }

func (f profileFailure) Error() string { return "cached profile read failure: " + f.why }

// cacheProfileFailure remembers a failed read briefly, so that opening the
// Home tab again and again while EnCo fails neither asks EnCo each time nor
// logs each failure.
func (h *homeTab) cacheProfileFailure(ctx context.Context, msisdn, why string) {
	if h.store == nil {
		return
	}
	if err := h.store.CacheFMUProfile(ctx, msisdn, failedProfile+why, profileFailureTTL); err != nil {
		h.log.Warn("cache profile failure", "err", err)
	}
}

// readsSpent is a read the person's allowance of reads refused.
type readsSpent struct{ reply Reply }

func (s readsSpent) Error() string { return "reads per minute spent: " + s.reply.Text }

// currentProfile reads user's profile on msisdn, from the short-lived cache
// when it has it; a failure cached there comes back as a profileFailure. A
// read from EnCo counts against user's reads per minute (readsSpent).
func (h *homeTab) currentProfile(ctx context.Context, user, msisdn string) (enco.Profile, error) {
	if h.store != nil {
		if p, ok, err := h.store.CachedFMUProfile(ctx, msisdn); err == nil && ok {
			if why, failed := strings.CutPrefix(p, failedProfile); failed {
				return "", profileFailure{why: why}
			}
			return enco.Profile(p), nil
		}
	}
	if h.gate.counters != nil {
		if reply, ok := h.gate.readAllowance(ctx, &command{SlashCommand: slack.SlashCommand{UserID: user, Command: "home"}}, 1); !ok {
			return "", readsSpent{reply: reply}
		}
	}
	st, err := h.fmu.FMUStatus(ctx, msisdn)
	if err != nil {
		return "", err
	}
	if st.IsError {
		return "", &enco.Error{Op: "fmu status", StatusCode: 200, Message: cmp.Or(strings.TrimSpace(st.Error), "no reason given")}
	}
	h.notes.cacheProfile(ctx, msisdn, st.Status)
	return st.Status, nil
}

func (h *homeTab) homeSchedules(ctx context.Context, user string) string {
	if h.store == nil {
		return "Schedules are not available on this bot."
	}
	list, err := h.store.FMUSchedules(ctx, user)
	if err != nil {
		return h.ops.storeFailure(err, "home schedules")
	}
	if len(list) == 0 {
		return "None. Try `/fmu on-duty until 18:00`, `/fmu private for 2h` or `/fmu schedule weekdays 08:00-18:00 professional else private`."
	}
	lines := make([]string, 0, len(list))
	for _, sc := range list {
		lines = append(lines, "• "+describeSchedule(sc))
	}
	return strings.Join(lines, "\n") + "\n`/fmu schedule clear &lt;id&gt;` removes one."
}

func (h *homeTab) homeRecent(ctx context.Context, user string) string {
	if h.store == nil {
		return "Not available on this bot."
	}
	ops, err := h.store.RecentOps(ctx, user)
	if err != nil {
		return h.ops.storeFailure(err, "home recent operations")
	}
	if len(ops) == 0 {
		return "None yet."
	}
	loc, _, _ := h.who.zone(ctx, user)
	lines := make([]string, 0, len(ops))
	for _, op := range ops {
		lines = append(lines, fmt.Sprintf("• %s — %s: %s", op.At.In(loc).Format("Mon 2 Jan 15:04"), op.Title, recentOutcome(op)))
	}
	return strings.Join(lines, "\n")
}

// recentOutcome says how a recent operation ended: an operation is done once
// every target answered, which says nothing of how many succeeded.
func recentOutcome(op state.RecentOp) string {
	switch {
	case op.Status != switchboard.StatusDone || op.Failed == 0:
		return op.Status
	case op.Succeeded == 0:
		return "failed"
	}
	return fmt.Sprintf("done: %d succeeded, %d failed", op.Succeeded, op.Failed)
}

// mayDo lists what a person may do, for those without fmu.self.
func (h *homeTab) mayDo(ctx context.Context, user string) []slack.Block {
	var lines []string
	for _, p := range permissions.KnownPermissions() {
		use, ok := permissionUses[p]
		if !ok || (h.callOff && switchboard.CommandOf(p) == switchboard.CommandCall) {
			continue // nothing, or /call switched off (ENCO_VOICE=off)
		}
		if h.gate.checker.CheckOffChannel(ctx, user, p).Allowed {
			lines = append(lines, "• "+use)
		}
	}
	if len(lines) == 0 {
		return []slack.Block{section("The policy grants you no command yet. Ask an admin to add you to a role; " + h.commands.sentence("`/%s help`") + " show what each command does.")}
	}
	return []slack.Block{section("*What you may do*\n" + strings.Join(lines, "\n"))}
}

// click sets the clicker's own profile from a Home tab button, with the
// permission check and audit of /fmu <profile>, and publishes the tab again.
func (h *homeTab) click(ctx context.Context, cb slack.InteractionCallback, value string) {
	user := cb.User.ID
	p := enco.Profile(value)
	if !p.Valid() {
		h.log.Warn("home click with an unknown profile", "value", value, "user", user)
		return
	}
	c := &command{SlashCommand: slack.SlashCommand{Command: "/fmu", Text: strings.ToLower(string(p)) + " (Home tab)", UserID: user}, offChannel: true}
	if reply, ok := h.gate.allow(ctx, c, switchboard.PermFMUSelf); !ok {
		h.publishHome(ctx, user, reply.Text)
		return
	}
	// A button sets the profile at once: a change that waits for an
	// approval goes through /fmu, whose confirmation asks for it.
	if h.approvals != nil {
		if rule, ok := h.approvals.Rules.Approval(switchboard.PermFMUSelf, 1); ok {
			word := strings.ReplaceAll(strings.ToLower(string(p)), "_", "-")
			h.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: switchboard.PermFMUSelf, Decision: "refused", Rule: "approval rule " + rule.Name, Detail: "own profile to " + string(p) + " from the Home tab needs approval"})
			h.publishHome(ctx, user, fmt.Sprintf(":lock: Changing your FMU profile needs approval (rule *%s*), which this button cannot ask for. Type `/fmu %s` in a channel: after you confirm, the request goes to the approvers. Nothing was changed.", render.Escape(rule.Name), word))
			return
		}
	}
	mine, reply, ok := h.who.ownNumbers(ctx, user)
	if !ok {
		h.publishHome(ctx, user, reply.Text)
		return
	}
	if mine.Mobile == "" {
		h.publishHome(ctx, user, "")
		return
	}
	if reply, ok := h.gate.rateLimit(ctx, c); !ok {
		h.publishHome(ctx, user, reply.Text)
		return
	}
	me := fmuTarget{digits: mine.Mobile}
	err := h.fmu.SetFMUStatus(ctx, me.digits, p)
	h.gate.audit(ctx, switchboard.AuditEntry{UserID: user, Command: switchboard.PermFMUSelf, Decision: apiDecision(err), Detail: "own profile set to " + string(p) + " from the Home tab"})
	if err != nil {
		h.notes.noteRecent(ctx, user, "Set your FMU profile to "+render.ProfileLabel(p), switchboard.StatusFailed)
		h.publishHome(ctx, user, fmt.Sprintf(":x: Your FMU profile was not changed: %s", h.ops.fmuError(err, "home fmu set")))
		return
	}
	h.notes.cacheProfile(ctx, me.digits, p)
	h.notes.noteRecent(ctx, user, "Set your FMU profile to "+render.ProfileLabel(p), switchboard.StatusDone)
	loc, _, _ := h.who.zone(ctx, user)
	h.publishHome(ctx, user, fmt.Sprintf(":white_check_mark: Set to *%s* at %s.", render.ProfileLabel(p), h.now().In(loc).Format("15:04")))
}
