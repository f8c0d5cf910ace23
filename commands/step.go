package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
	"github.com/switchboard-bot/switchboard/state"
)

// stepRunner runs Workflow Builder steps.
type stepRunner struct {
	gate       *gate
	ops        *operator
	who        *whois
	confirm    *confirmer
	sim        *simCommand // reads sim_ids as /sim reads its ids
	exec       executor
	counters   Counters
	operations Operations
	dms        DirectMessages
	slack      slackpost.Slack
	policy     *permissions.Policy
	approvals  *Approvals // nil: no change waits for an approval
	limits
	log *slog.Logger
}

// Workflow Builder steps
//
// A workflow reaching one of the bot's steps (a function in the app
// manifest) arrives as a function_executed event. Its inputs were chosen by
// the workflow's author, not by the person named in them, so a change never
// runs on the author's word alone: the named user (user_id) gets a direct
// message with confirm / cancel buttons, and the change runs as if they had
// typed the slash command themselves — their permission, their rate of
// changes, their name on the operation. The one exception is a person
// setting their own FMU profile: when the workflow was started by the very
// user it names (the step's interactivity input says who clicked), that
// click is their confirmation, as /fmu on-duty needs none.
//
// From the event on, the step's operation is stored in Redis (status
// pending, with the confirmation's deadline as its own), so the expiry
// sweeper fails the step when nobody answers; a confirmation moves it to
// running and its deadline to the operation's. The step completes the way
// the operation closes: the last result, the expiry, a cancel, a denial or
// a failure each queue one completion (render.KindStep), and the sender
// lets only the first of them reach Slack.

// stepSeenTTL is how long a step execution is remembered, so that an event
// Slack delivers again does not ask twice.
const stepSeenTTL = 72 * time.Hour

// Step is one execution of a Workflow Builder step: the event's function
// callback_id, execution id and inputs, read.
type Step struct {
	// ExecutionID is the event's function_execution_id.
	ExecutionID string
	// Function is the step's callback_id (set_fmu_profile, sim_change).
	Function string
	// User is the user_id input: whom the change is for, who confirms it.
	User string
	// Interactor is the person who started the workflow with a click, when
	// the step has an interactivity input; "" otherwise.
	Interactor string
	// Profile is set_fmu_profile's profile input.
	Profile string
	// Action and SIMIDs are sim_change's action and sim_ids inputs.
	Action, SIMIDs string
	// Channel is sim_change's optional channel_id input: where the parent
	// message and thread go instead of the direct message.
	Channel string
}

// DirectMessages opens the direct message channel between the bot and a
// user (conversations.open).
type DirectMessages interface {
	OpenDM(ctx context.Context, user string) (string, error)
}

var (
	// A Slack user ID is U or W and about ten letters and digits; the bound
	// keeps a made-up one from being repeated at length in refusals.
	stepUserID    = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	stepChannelID = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
)

// stepActions are the SIM changes sim_change offers. Termination is left
// out: it is final and needs a second person's approval.
var stepActions = []string{"activate", "deactivate", "reactivate"}

// OnFunctionExecuted handles a function_executed event (a
// commands.EventHandler).
func (st *stepRunner) OnFunctionExecuted(ctx context.Context, e slackevents.EventsAPIEvent) {
	ev, ok := e.InnerEvent.Data.(*slackevents.FunctionExecutedEvent)
	if !ok {
		st.log.Warn("function_executed event without its data dropped")
		return
	}
	st.run(ctx, StepFromEvent(ev))
}

// StepFromEvent reads a function_executed event's inputs. Inputs that are
// not text are left empty, and RunStep names them.
func StepFromEvent(ev *slackevents.FunctionExecutedEvent) Step {
	text := func(name string) string {
		s, _ := ev.Inputs[name].(string)
		return strings.TrimSpace(s)
	}
	s := Step{
		ExecutionID: ev.FunctionExecutionID,
		Function:    ev.Function.CallbackID,
		User:        text("user_id"),
		Profile:     text("profile"),
		Action:      text("action"),
		SIMIDs:      text("sim_ids"),
		Channel:     text("channel_id"),
	}
	// The interactivity input: {"interactor": {"id": "U…", …}, "interactivity_pointer": …}.
	if in, ok := ev.Inputs["interactivity"].(map[string]any); ok {
		if who, ok := in["interactor"].(map[string]any); ok {
			s.Interactor, _ = who["id"].(string)
		}
	}
	return s
}

// run answers one step execution: it checks the step and its inputs
// against the policy, and asks the named user to confirm (or runs an own FMU
// profile change at once). Whatever goes wrong completes the step with an
// error saying what, and calls no EnCo API.
func (st *stepRunner) run(ctx context.Context, s Step) {
	log := st.log.With("execution", truncate(s.ExecutionID, 40), "step", truncate(s.Function, 40), "user", truncate(s.User, 40))
	if s.ExecutionID == "" {
		log.Warn("workflow step without an execution id dropped")
		return
	}
	first, err := st.counters.FirstSeen(ctx, "step", s.ExecutionID, stepSeenTTL)
	if err != nil {
		// Without the store the step can be neither tracked nor completed
		// once; Slack ends it when it times out.
		log.Error("workflow step not started: state store unavailable", "err", err)
		return
	}
	if !first {
		log.Info("workflow step delivered again; already handled")
		return
	}
	op, ownProfile, why := st.stepOperation(ctx, s)
	if why != "" {
		log.Info("workflow step refused", "reason", why)
		st.auditStepRefusal(ctx, s, why)
		st.ops.failStep(ctx, s.ExecutionID, "", why)
		return
	}
	ttl := st.confirm.confirmTTL()
	op.ExpiresAt = op.CreatedAt.Add(ttl)
	if err := st.operations.CreateOperation(ctx, op, ttl+expiryKeep); err != nil {
		st.ops.failStep(ctx, s.ExecutionID, "", st.ops.storeFailure(err, "create step operation"))
		return
	}
	if ownProfile && st.needsApproval(op) {
		// The confirmation's click is what asks for the approval.
		ownProfile = false
	}
	if ownProfile {
		st.gate.audit(ctx, switchboard.AuditEntry{UserID: s.User, Command: op.Kind, Decision: "confirmed", Rule: "own profile, workflow started by the same person", OperationID: op.ID, Detail: op.Params.Title})
		st.startStep(ctx, op, "")
		return
	}
	if err := st.ops.scheduleExpiry(ctx, op); err != nil {
		st.ops.failStep(ctx, s.ExecutionID, op.ID, st.ops.storeFailure(err, "schedule step confirmation deadline"))
		return
	}
	st.askStepConfirmation(ctx, op, ttl)
}

// stepOperation builds the operation a step asks for, still pending, or
// says why the step cannot run. ownProfile is true for a person setting
// their own FMU profile from a workflow they started themselves.
func (st *stepRunner) stepOperation(ctx context.Context, s Step) (op switchboard.Operation, ownProfile bool, why string) {
	if st.policy == nil || !st.policy.AllowsStep(s.Function) {
		return op, false, fmt.Sprintf("Switchboard's policy does not allow the step %q in workflows; an admin can add it under workflows.allow.", truncate(s.Function, 60))
	}
	if !stepUserID.MatchString(s.User) {
		return op, false, "The user_id input must be a person (a Slack user ID such as U0123ABCD); it is empty or not a user."
	}
	if s.Channel != "" && !stepChannelID.MatchString(s.Channel) {
		return op, false, fmt.Sprintf("The channel_id input %q is not a channel ID (C…, G… or D…).", truncate(s.Channel, 60))
	}
	op = switchboard.Operation{ID: state.NewHex(16), UserID: s.User, Status: switchboard.StatusPending, CreatedAt: time.Now(), Params: switchboard.Params{Step: s.ExecutionID, StepFunction: s.Function}}
	var title string
	switch s.Function {
	case switchboard.StepSetFMUProfile:
		p, ok := parseProfile(s.Profile)
		if !ok {
			return op, false, fmt.Sprintf("The profile input %q is not an FMU profile; use PRIVATE, PROFESSIONAL or ON_DUTY.", truncate(s.Profile, 60))
		}
		mine, reply, ok := st.who.ownNumbers(ctx, s.User)
		if !ok {
			return op, false, stripMrkdwn(reply.Text)
		}
		if mine.Mobile == "" {
			return op, false, fmt.Sprintf("Switchboard does not know the mobile number of <@%s>; someone holding directory.admin can link it with /fmu link.", s.User)
		}
		ownProfile = s.Interactor == s.User
		op.Kind = switchboard.KindFMUSet
		op.Params.Permission = switchboard.PermFMUSelf
		op.Params.Profile = string(p)
		op.Params.Who = map[string]string{mine.Mobile: s.User}
		op.Targets = []switchboard.Target{fmuTarget{digits: mine.Mobile}.target()}
		title = fmt.Sprintf("Set the FMU profile of %s to %s", fmuTarget{digits: mine.Mobile, user: s.User}.label(st.mask), render.ProfileLabel(p))
	case switchboard.StepSIMChange:
		action := strings.ToLower(s.Action)
		change, ok := simChanges[action]
		if !ok || action == "terminate" {
			return op, false, fmt.Sprintf("The action input %q is not a SIM change this step makes; use activate, deactivate or reactivate.", truncate(s.Action, 60))
		}
		if s.SIMIDs == "" {
			return op, false, "The sim_ids input is empty; give one or more SIM cards: mobile numbers, iccid:… or imsi:…, separated by spaces or commas."
		}
		toks, err := tokenize(s.SIMIDs)
		if err != nil {
			return op, false, "The sim_ids input is not valid: " + stripMrkdwn(err.Error())
		}
		devices, uerr := st.sim.simDevices(action, toks)
		if uerr != nil {
			return op, false, "The sim_ids input is not valid: " + stripMrkdwn(uerr.Msg)
		}
		op.Kind = switchboard.CommandSIM + "." + action
		op.Params.Action = string(change.action)
		for _, d := range devices {
			op.Targets = append(op.Targets, d.Target())
		}
		title = fmt.Sprintf("%s %s", change.verb, plural(len(devices), "SIM card"))
	default:
		return op, false, fmt.Sprintf("Switchboard has no step %q.", truncate(s.Function, 60))
	}
	op.Expected = len(op.Targets)
	op.Params.Title = title
	channel, err := st.stepChannel(ctx, s)
	if err != nil {
		return op, false, fmt.Sprintf("I could not open a direct message with <@%s>: %s", s.User, st.ops.slackError(err, "open step DM"))
	}
	op.ChannelID = channel
	if s.Channel == "" {
		op.Params.StepDM = true // the channel is the named user's DM
	}
	perm := permissionOf(op)
	if reply, ok := st.stepAllowance(ctx, s, ownProfile); !ok {
		return op, false, fmt.Sprintf("Not now for <@%s>: %s", s.User, stripMrkdwn(reply.Text))
	}
	d := st.gate.checker.Check(ctx, s.User, channel, perm)
	if !d.Allowed {
		// Audited as the step's refusal, not under the person it names.
		return op, false, fmt.Sprintf("<@%s> may not do this: %s", s.User, cmp.Or(d.Message, "no permission "+perm))
	}
	st.gate.audit(ctx, switchboard.AuditEntry{UserID: s.User, Command: "step " + s.Function, Decision: "allowed", Rule: d.Rule, OperationID: op.ID, Detail: title})
	return op, ownProfile, ""
}

// stepAllowance counts a step against an allowance before it may ask
// anything. A person setting their own profile from a workflow they
// started is making their own change: it counts against their changes per
// minute, as /fmu does. Any other step only asks the named person, who has
// not agreed to anything yet: it counts against an allowance of its own, of
// as many steps naming that person a minute as the policy allows changes,
// so that a workflow can neither flood them with requests nor use up their
// allowance; their confirmation is charged when they click (see
// chargeConfirmedStep).
func (st *stepRunner) stepAllowance(ctx context.Context, s Step, ownProfile bool) (Reply, bool) {
	if ownProfile {
		return st.gate.rateLimit(ctx, &command{SlashCommand: slack.SlashCommand{UserID: s.User, Command: "step", Text: s.Function}})
	}
	return st.gate.allowance(ctx, "step-asks:", s.User, func(limit int, wait time.Duration) Reply {
		return textReply(fmt.Sprintf("workflows have asked %d changes in their name in the last minute, the most the policy allows. Try again in %s.", limit, humanDuration(max(wait, time.Second)))).with("rate_limited")
	})
}

// auditStepRefusal records a refused step. The step's inputs are the
// workflow author's, so the entry is filed under the person who started the
// workflow (the interactor) when the step says, else under "workflow" —
// never under the person it names — and within an allowance (see
// auditRefusal).
func (st *stepRunner) auditStepRefusal(ctx context.Context, s Step, why string) {
	filer := "workflow"
	if stepUserID.MatchString(s.Interactor) {
		filer = s.Interactor
	}
	st.gate.auditRefusal(ctx, "step", switchboard.AuditEntry{UserID: filer, Command: "step " + truncate(s.Function, 40), Decision: "refused",
		Detail: fmt.Sprintf("execution %s: %s", truncate(s.ExecutionID, 40), why)})
}

// stepChannel is where a step's messages go: channel_id when given, else the
// direct message with the named user, where the confirmation goes too.
func (st *stepRunner) stepChannel(ctx context.Context, s Step) (string, error) {
	if s.Channel != "" {
		return s.Channel, nil
	}
	return st.openDM(ctx, s.User)
}

// openDM opens the direct message channel with user.
func (st *stepRunner) openDM(ctx context.Context, user string) (string, error) {
	if st.dms == nil {
		return "", errors.New("no direct messages configured")
	}
	return st.dms.OpenDM(ctx, user)
}

// askStepConfirmation sends the named user the confirm / cancel buttons in a
// direct message.
func (st *stepRunner) askStepConfirmation(ctx context.Context, op switchboard.Operation, ttl time.Duration) {
	exec := op.Params.Step
	conf := newConfirmation(state.NewHex(16), op.Kind, op, op.CreatedAt, ttl)
	if err := st.confirm.store.SaveConfirmation(ctx, conf, ttl); err != nil {
		st.abandonStep(ctx, op, st.ops.storeFailure(err, "save step confirmation"))
		return
	}
	lines := make([]string, 0, min(len(op.Targets), 10)+1)
	for i, t := range op.Targets {
		if i == 10 {
			lines = append(lines, fmt.Sprintf("… and %d more", len(op.Targets)-i))
			break
		}
		lines = append(lines, render.TargetLabel(op, t, false))
	}
	// The SIM change's channel is the DM already when no channel_id was
	// given: open it once.
	dm, err := op.ChannelID, error(nil)
	if !op.Params.StepDM {
		dm, err = st.openDM(ctx, op.UserID)
	}
	if err == nil {
		where := "here"
		if op.ChannelID != dm {
			where = fmt.Sprintf("in <#%s>", op.ChannelID)
		}
		p := pending{op: op, title: op.Params.Title, lines: lines, confirmLabel: "Confirm", danger: op.Kind == switchboard.KindSIMDeactivate,
			note: fmt.Sprintf("A workflow asks for this in your name; nothing happens unless you confirm. The results arrive in a thread %s.", where)}
		_, err = st.slack.PostMessage(ctx, dm, p.prompt("A workflow asks: ", conf.ID, ttl).Message())
	}
	if err != nil {
		st.abandonStep(ctx, op, fmt.Sprintf("I could not ask <@%s> to confirm in a direct message: %s", op.UserID, st.ops.slackError(err, "post step confirmation")))
		return
	}
	st.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "confirmation requested", OperationID: op.ID, Detail: "workflow step " + exec + ": " + op.Params.Title})
}

// permissionOf is the permission op needs.
func permissionOf(op switchboard.Operation) string {
	return cmp.Or(op.Params.Permission, op.Kind)
}

// isStep reports whether a workflow step started op.
func isStep(op switchboard.Operation) bool { return op.Params.Step != "" }

// errStepClosed: the step's operation left pending before this click (the
// confirmation's deadline passed, or another click closed it).
var errStepClosed = errors.New("the workflow step is closed already")

// closeStep moves a step's pending operation to status (cancelled, failed)
// and fails the step with why. It returns errStepClosed when the operation
// was not pending any more: its step has ended some other way.
func (st *stepRunner) closeStep(ctx context.Context, op switchboard.Operation, status, why string) error {
	if _, err := st.operations.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error {
		if o.Status != switchboard.StatusPending {
			return errStepClosed
		}
		o.Status = status
		return nil
	}); err != nil {
		return err
	}
	st.ops.failStep(ctx, op.Params.Step, op.ID, why)
	return nil
}

// abandonStep fails a step whose operation cannot go on, unless it has
// ended already.
func (st *stepRunner) abandonStep(ctx context.Context, op switchboard.Operation, why string) {
	if err := st.closeStep(ctx, op, switchboard.StatusFailed, why); err != nil && !errors.Is(err, errStepClosed) {
		st.log.Error("close workflow step", "err", err, "operation", op.ID)
	}
}

// beginStep moves a step's operation from pending to running, with the
// operation's own deadline, in one atomic update, so that a confirmation and
// the confirmation's expiry (or a second click) cannot both win. It returns
// errStepClosed when the operation was not pending any more.
func (st *stepRunner) beginStep(ctx context.Context, op switchboard.Operation) (switchboard.Operation, error) {
	now := time.Now()
	started, err := st.operations.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error {
		if o.Status != switchboard.StatusPending {
			return errStepClosed
		}
		o.Status = switchboard.StatusRunning
		o.CreatedAt = now
		o.ExpiresAt = now.Add(st.ops.operationTTL())
		return nil
	})
	if err != nil {
		return started, err
	}
	// The confirmation's deadline gives way to the operation's.
	if err := st.ops.scheduleExpiry(ctx, started); err != nil {
		st.log.Error("schedule workflow step deadline", "err", err, "operation", op.ID)
	}
	return started, nil
}

// startStep begins a step's operation and runs it as a confirmed slash
// command's runs.
func (st *stepRunner) startStep(ctx context.Context, op switchboard.Operation, responseURL string) {
	started, err := st.beginStep(ctx, op)
	switch {
	case errors.Is(err, errStepClosed):
		st.log.Info("workflow step closed before it started", "operation", op.ID)
	case err != nil:
		st.ops.failStep(ctx, op.Params.Step, op.ID, st.ops.storeFailure(err, "start workflow step"))
	default:
		st.exec.execute(ctx, started, responseURL)
	}
}

// stepClosed tells the clicker when a step's operation could not move on
// (err): it had ended already, or the store failed. It reports whether the
// click may go on (err is nil).
func (st *stepRunner) stepClosed(ctx context.Context, cb slack.InteractionCallback, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errStepClosed):
		st.ops.respond(ctx, cb.ResponseURL, textReply(":hourglass: This request from a workflow has ended already (it expired or was answered); nothing more was changed.").Message(), true)
	default:
		st.ops.respond(ctx, cb.ResponseURL, textReply(":x: "+st.ops.storeFailure(err, "workflow step click")).Message(), true)
	}
	return false
}

// slackMarkup matches the mrkdwn a usage message carries for Slack but a
// step's error text (shown in Workflow Builder) does not render.
var slackMarkup = strings.NewReplacer("`", "", "*", "")

func stripMrkdwn(s string) string {
	s = slackMarkup.Replace(s)
	for _, prefix := range []string{":hourglass: ", ":warning: ", ":x: ", ":no_entry: ", ":hand: "} {
		s = strings.TrimPrefix(s, prefix)
	}
	return s
}

// needsApproval reports whether an approval rule covers op, which then
// goes through a confirmation even when it is one's own profile.
func (st *stepRunner) needsApproval(op switchboard.Operation) bool {
	if st.approvals == nil {
		return false
	}
	_, ok := st.approvals.Rules.Approval(permissionOf(op), len(op.Targets))
	return ok
}
