// Package commands reads the bot's slash commands (/sim, /fmu, /number, /call),
// button clicks and Workflow Builder steps (step.go), checks them against the
// policy, and turns them into EnCo API calls and Slack messages.
//
// Everything before the acknowledgement is quick and local: parsing, the
// permission check, saving a confirmation in Redis. Its answer travels in the
// acknowledgement itself (ephemeral). Calls to EnCo happen after the ack, so a
// slow EnCo never makes Slack show "the app did not respond".
package commands

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/permissions"
)

// Checker decides whether a user may use a permission in a channel: Check
// within the command the permission is named after, CheckCommand within the
// slash command being run (whose channel allow-list applies).
type Checker interface {
	Check(ctx context.Context, userID, channelID, permission string) permissions.Decision
	CheckCommand(ctx context.Context, userID, channelID, command, permission string) permissions.Decision
	CheckOffChannel(ctx context.Context, userID, permission string) permissions.Decision
}

// SIMAPI is the M2M part of the EnCo client.
type SIMAPI interface {
	SIMCards(ctx context.Context, msisdn string) ([]enco.SIMCard, error)
	RequestM2M(ctx context.Context, a enco.M2MAction, devices []enco.Device, callbackToken string) (string, error)
}

// Callbacks is told when an operation's tracking number becomes known, so that
// callbacks which arrived before it (and were parked) are delivered, and takes
// the results EnCo gave in a reply where a callback was expected.
type Callbacks interface {
	TrackingKnown(ctx context.Context, opID string)
	RecordFMUResults(ctx context.Context, op switchboard.Operation, results []enco.FMUResult) (int, error)
}

// Directory finds a person's own numbers (mobile, fixed).
type Directory interface {
	Lookup(ctx context.Context, userID string) (e switchboard.Entry, source string, ok bool, err error)
}

// Router answers slash commands, button clicks, Home tab visits and
// workflow steps, handing each to the value that answers it. Make it with
// New, then use it from any number of goroutines; Wait blocks until work
// started after acknowledgements has finished.
type Router struct {
	reg       registry
	clicks    *clicks
	home      *homeTab
	steps     *stepRunner
	sched     *scheduleCommand
	bulk      *simBulk   // nil: no change from a file
	approvals *Approvals // nil: approvals are off
	counters  Counters   // the first sighting of a delivery Slack may repeat

	ackTimeout, workTimeout time.Duration
	onAck                   func(command string, d time.Duration)
	onCommand               func(command, outcome string)
	log                     *slog.Logger

	bg sync.WaitGroup
}

// command is one slash command being answered.
type command struct {
	slack.SlashCommand
	toks []token
	// offChannel marks a command that comes from no channel (a Home tab
	// click): channel allow-lists do not apply to it.
	offChannel bool

	// What its handling decided, for its log line.
	permission, decision, rule string
	operation                  string // the operation it started or prepared
}

// logCommand writes the one log line of a slash command: who, where, the
// permission decision, how it ended and its operation, if any.
func (r *Router) logCommand(c *command, reply Reply, start time.Time) {
	attrs := []any{"user", c.UserID, "channel", c.ChannelID, "command", c.Command, "outcome", reply.Outcome()}
	for _, a := range []struct{ key, value string }{
		{"permission", c.permission}, {"decision", c.decision}, {"rule", c.rule}, {"operation", c.operation},
	} {
		if a.value != "" {
			attrs = append(attrs, a.key, a.value)
		}
	}
	r.log.Info("command", append(attrs, "elapsed", time.Since(start).Round(time.Microsecond))...)
}

// Command answers a slash command. The Reply goes into the acknowledgement;
// the returned function, when not nil, is the work to do after it (API calls,
// posts) and must be run with Go.
func (r *Router) Command(ctx context.Context, sc slack.SlashCommand) (Reply, func(context.Context)) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(r.ackTimeout, 2*time.Second))
	defer cancel()
	name := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(sc.Command)), "/")
	toks, err := tokenize(sc.Text)
	c := &command{SlashCommand: sc, toks: toks}
	if err != nil {
		reply := usageReply(err)
		r.logCommand(c, reply, start)
		if r.onCommand != nil {
			r.onCommand(sc.Command, reply.Outcome())
		}
		return reply, nil
	}
	var (
		reply Reply
		after func(context.Context)
	)
	switch cmd, known := r.reg.named(name); {
	case !known:
		reply = textReply(fmt.Sprintf(":warning: I don't know the command `/%s`. I answer %s; add `help` to any of them for usage.", name, r.reg.list())).with("unknown")
	case len(toks) > 0 && strings.EqualFold(toks[0].text, "help"):
		reply = textReply(cmd.spec().helps[0])
	default:
		reply, after = cmd.answer(ctx, c)
	}
	r.logCommand(c, reply, start)
	if r.onCommand != nil {
		r.onCommand(sc.Command, reply.Outcome())
	}
	return reply, after
}

// Go runs work after an acknowledgement, with its own deadline, tracked so
// that Wait can let it finish at shutdown.
func (r *Router) Go(ctx context.Context, work func(context.Context)) {
	if work == nil {
		return
	}
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(r.workTimeout, 2*time.Minute))
		defer cancel()
		work(ctx)
	}()
}

// Wait blocks until all work started with Go has finished.
func (r *Router) Wait() { r.bg.Wait() }

// Action handles a button click (a block_actions interaction). It is called
// after the interaction has been acknowledged.
func (r *Router) Action(ctx context.Context, cb slack.InteractionCallback) {
	for _, a := range cb.ActionCallback.BlockActions {
		switch a.ActionID {
		case ActionConfirm, ActionCancel:
			r.clicks.click(ctx, cb, a.ActionID, a.Value)
		case ActionApprove, ActionDeny, ActionCancelRequest:
			if r.approvals != nil {
				r.approvals.Click(ctx, cb, a.ActionID, a.Value)
			}
		case ActionHomeFMUSet:
			r.home.click(ctx, cb, a.Value)
		default:
			r.log.Warn("unknown action", "action_id", a.ActionID, "user", cb.User.ID)
		}
	}
}

// AppHomeOpened shows a person their Home tab.
func (r *Router) AppHomeOpened(ctx context.Context, user string) { r.home.opened(ctx, user) }

// RunStep answers one workflow step execution.
func (r *Router) RunStep(ctx context.Context, s Step) { r.steps.run(ctx, s) }

// OnFunctionExecuted handles a function_executed event (an EventHandler).
func (r *Router) OnFunctionExecuted(ctx context.Context, e slackevents.EventsAPIEvent) {
	r.steps.OnFunctionExecuted(ctx, e)
}

// Approvals returns the approval flow, whose Run ends expired requests
// (nil when approvals are off); set its fields before running it.
func (r *Router) Approvals() *Approvals { return r.approvals }

// Scheduler returns the scheduler that makes the FMU schedules' changes
// when they fall due; set its fields before running it.
func (r *Router) Scheduler() *Scheduler {
	return &Scheduler{schedules: r.sched}
}
