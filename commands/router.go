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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
	"github.com/switchboard-bot/switchboard/state"
)

// Checker decides whether a user may use a permission in a channel: Check
// within the command the permission is named after, CheckCommand within the
// slash command being run (whose channel allow-list applies).
type Checker interface {
	Check(ctx context.Context, userID, channelID, permission string) permissions.Decision
	CheckCommand(ctx context.Context, userID, channelID, command, permission string) permissions.Decision
	CheckOffChannel(ctx context.Context, userID, permission string) permissions.Decision
}

// Confirmations keeps the changes that wait for a click: a confirmation,
// or a second person's approval. NoteConfirmation adds to one still
// pending what became known after it was saved (the ts of the posted
// approval request).
type Confirmations interface {
	SaveConfirmation(ctx context.Context, c state.Confirmation, ttl time.Duration) error
	PeekConfirmation(ctx context.Context, id string) (state.Confirmation, bool, error)
	ConsumeConfirmation(ctx context.Context, id string) (state.Confirmation, bool, error)
	NoteConfirmation(ctx context.Context, id, key, value string) (bool, error)
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

// Router answers slash commands and button clicks. Set the fields, then use it
// from any number of goroutines; Wait blocks until work started after
// acknowledgements has finished.
type Router struct {
	Checker Checker
	// The shared state, one concern each (state.Store implements them all).
	AuditTrail         AuditTrail
	Confirmations      Confirmations
	Operations         Operations
	Results            Results
	Counters           Counters
	DirectoryOverrides DirectoryOverrides
	NumberFreezes      NumberFreezes

	SIM SIMAPI
	FMU FMUAPI
	// Voice places call-outs; nil switches /call off (ENCO_VOICE=off).
	Voice     VoiceAPI
	Numbers   NumbersAPI
	Directory Directory
	// Policy holds the settings that shape commands (call barring, limits).
	Policy *permissions.Policy
	Slack  slackpost.Slack
	// DMs opens direct messages, for the confirmations of workflow steps.
	DMs       DirectMessages
	Callbacks Callbacks
	Log       *slog.Logger
	// PublicURL is the base URL EnCo reaches the bot's callback server at
	// (for the per-request callback URLs of FMU and voice).
	PublicURL string

	// MaxTargets caps the ids or numbers in one command (0 means 100).
	MaxTargets int
	// MaskNumbers hides the middle digits of phone numbers in channel posts.
	MaskNumbers bool
	// ConfirmTTL is how long a confirmation button stays valid (0 means 5 minutes).
	ConfirmTTL time.Duration
	// ApprovalTTL is how long a request waits for a second person's approval (0 means 1 hour).
	ApprovalTTL time.Duration
	// OperationTTL is how long an operation waits for its callbacks (0 means 24 hours).
	OperationTTL time.Duration
	// AckTimeout bounds the work done before the acknowledgement (0 means 2 s),
	// leaving room within Slack's 3 s.
	AckTimeout time.Duration
	// WorkTimeout bounds the work after the acknowledgement (0 means 2 minutes).
	WorkTimeout time.Duration
	// OnAck, when set, is told how long each slash command took to acknowledge (for metrics).
	OnAck func(command string, d time.Duration)
	// OnCommand, when set, is told how each slash command ended (Reply.Outcome), for metrics.
	OnCommand func(command, outcome string)

	// Schedules keeps FMU schedules, recent operations and recently read
	// profiles; nil turns schedules off and leaves the Home tab's lists empty.
	Schedules ScheduleStore
	// People gives people's time zones; nil means Europe/Brussels for all.
	People People
	// Home publishes Home tabs; nil turns the Home tab off.
	Home HomePublisher
	// Now is the clock of schedules (time.Now when nil).
	Now func() time.Time

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
	r.log().Info("command", append(attrs, "elapsed", time.Since(start).Round(time.Microsecond))...)
}

func (r *Router) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}

func (r *Router) maxTargets() int           { return cmp.Or(r.MaxTargets, 100) }
func (r *Router) confirmTTL() time.Duration { return cmp.Or(r.ConfirmTTL, 5*time.Minute) }
func (r *Router) operationTTL() time.Duration {
	return cmp.Or(r.OperationTTL, 24*time.Hour)
}

// Command answers a slash command. The Reply goes into the acknowledgement;
// the returned function, when not nil, is the work to do after it (API calls,
// posts) and must be run with Go.
func (r *Router) Command(ctx context.Context, sc slack.SlashCommand) (Reply, func(context.Context)) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(r.AckTimeout, 2*time.Second))
	defer cancel()
	name := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(sc.Command)), "/")
	toks, err := tokenize(sc.Text)
	c := &command{SlashCommand: sc, toks: toks}
	if err != nil {
		reply := usageReply(err)
		r.logCommand(c, reply, start)
		if r.OnCommand != nil {
			r.OnCommand(sc.Command, reply.Outcome())
		}
		return reply, nil
	}
	var (
		reply Reply
		after func(context.Context)
	)
	switch cmd, known := slashCommandNamed(name); {
	case !known:
		reply = textReply(fmt.Sprintf(":warning: I don't know the command `/%s`. I answer %s; add `help` to any of them for usage.", name, commandList())).with("unknown")
	case len(toks) > 0 && strings.EqualFold(toks[0].text, "help"):
		reply = textReply(cmd.helps[0])
	default:
		reply, after = cmd.answer(r, ctx, c)
	}
	r.logCommand(c, reply, start)
	if r.OnCommand != nil {
		r.OnCommand(sc.Command, reply.Outcome())
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
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(r.WorkTimeout, 2*time.Minute))
		defer cancel()
		work(ctx)
	}()
}

// Wait blocks until all work started with Go has finished.
func (r *Router) Wait() { r.bg.Wait() }

// allow checks a permission and records the decision in the audit stream.
// When it is denied, the reply says why.
func (r *Router) allow(ctx context.Context, c *command, permission string) (Reply, bool) {
	var d permissions.Decision
	if c.offChannel {
		d = r.Checker.CheckOffChannel(ctx, c.UserID, permission)
	} else {
		d = r.Checker.CheckCommand(ctx, c.UserID, c.ChannelID, c.Command, permission)
	}
	decision := "denied"
	if d.Allowed {
		decision = "allowed"
	}
	c.permission, c.decision, c.rule = permission, decision, d.Rule
	if !d.Allowed {
		// Refusals are audited like everything else, so one person sending
		// refused commands could fill the trail: past the same per-minute
		// allowance as changes, they are refused without an entry each.
		if reply, ok := r.allowance(ctx, "denied:", c.UserID, func(limit int, wait time.Duration) Reply {
			c.decision = "rate limited"
			return textReply(fmt.Sprintf(":hand: %d of your commands were refused in the last minute, the most the policy allows; I am not reading more from you for %s.", limit, humanDuration(max(wait, time.Second)))).with("rate_limited")
		}); !ok {
			return reply, false
		}
	}
	if err := r.AuditTrail.Audit(ctx, state.AuditEntry{At: time.Now(), UserID: c.UserID, Command: c.Command + " " + c.Text, Decision: decision, Rule: d.Rule}); err != nil {
		// Every decision is recorded; without the store nothing is done.
		ref := state.NewHex(4)
		r.log().Error("audit append failed; command refused", "err", err, "ref", ref, "user", c.UserID)
		return storeDown(ref), false
	}
	if d.Allowed {
		return Reply{}, true
	}
	msg := d.Message
	if msg == "" {
		msg = fmt.Sprintf("You don't have the permission `%s`.", permission)
	}
	return textReply(":no_entry: " + msg).with("denied"), false
}

func (r *Router) audit(ctx context.Context, e state.AuditEntry) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	r.log().Info("audit", "user", e.UserID, "command", e.Command, "decision", e.Decision, "rule", e.Rule, "operation", e.OperationID, "detail", e.Detail)
	if err := r.AuditTrail.Audit(ctx, e); err != nil {
		r.log().Error("audit append failed", "err", err, "user", e.UserID, "decision", e.Decision, "operation", e.OperationID)
	}
}

// storeDown is the answer when Redis does not respond: nothing was done.
func storeDown(ref string) Reply {
	return textReply(fmt.Sprintf(":hourglass: I can't reach my state store right now, so I did nothing. Please try again in a minute. (ref `%s`)", ref)).with("unavailable")
}

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
func (r *Router) confirm(ctx context.Context, c *command, p pending) Reply {
	if reply, ok := r.rateLimit(ctx, c); !ok {
		return reply
	}
	id := state.NewHex(16)
	p.op.ID = state.NewHex(16)
	c.operation = p.op.ID
	p.op.UserID = c.UserID
	p.op.ChannelID = c.ChannelID
	p.op.Status = switchboard.StatusPending
	p.op.Params.Title = p.title
	ttl := r.confirmTTL()
	if err := r.Confirmations.SaveConfirmation(ctx, newConfirmation(id, p.op.Kind, p.op, time.Now(), ttl), ttl); err != nil {
		ref := state.NewHex(4)
		r.log().Error("save confirmation", "err", err, "ref", ref, "user", c.UserID)
		return storeDown(ref)
	}
	r.audit(ctx, state.AuditEntry{UserID: c.UserID, Command: p.op.Kind, Decision: "confirmation requested", OperationID: p.op.ID, Detail: p.title})
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

// Action handles a button click (a block_actions interaction). It is called
// after the interaction has been acknowledged.
func (r *Router) Action(ctx context.Context, cb slack.InteractionCallback) {
	for _, a := range cb.ActionCallback.BlockActions {
		switch a.ActionID {
		case ActionConfirm, ActionCancel, ActionApprove:
			r.confirmClick(ctx, cb, a.ActionID, a.Value)
		case ActionHomeFMUSet:
			r.homeClick(ctx, cb, a.Value)
		default:
			r.log().Warn("unknown action", "action_id", a.ActionID, "user", cb.User.ID)
		}
	}
}

func (r *Router) respond(ctx context.Context, responseURL string, m render.Message, replace bool) {
	if responseURL == "" {
		return
	}
	if err := r.Slack.Respond(ctx, responseURL, m, replace); err != nil {
		r.log().Error("respond", "err", err)
	}
}

// tellUser shows a message to one person: through the response URL when there
// is one, else as an ephemeral message in the channel.
func (r *Router) tellUser(ctx context.Context, cb slack.InteractionCallback, text string) {
	m := textReply(text).Message()
	if err := r.Slack.PostEphemeral(ctx, cb.Channel.ID, cb.User.ID, m); err != nil {
		r.log().Error("ephemeral", "err", err, "user", cb.User.ID)
	}
}

func (r *Router) confirmClick(ctx context.Context, cb slack.InteractionCallback, action, id string) {
	user := cb.User.ID
	conf, ok, err := r.Confirmations.PeekConfirmation(ctx, id)
	if err != nil {
		ref := state.NewHex(4)
		r.log().Error("peek confirmation", "err", err, "ref", ref)
		r.tellUser(ctx, cb, storeDown(ref).Text)
		return
	}
	if !ok {
		r.tellUser(ctx, cb, ":hourglass: This button has expired or was already used. Run the command again if you still want it.")
		return
	}
	if conf.Action == ActionApprove {
		r.approvalClick(ctx, cb, action, conf)
		return
	}
	if action == ActionApprove { // an approve button never belongs to a confirmation
		r.log().Warn("approve click on a confirmation refused", "user", user, "operation", conf.OperationID)
		return
	}
	if user != conf.UserID {
		r.audit(ctx, state.AuditEntry{UserID: user, Command: conf.Action, Decision: "click refused", Rule: "only the requester may confirm", OperationID: conf.OperationID})
		r.log().Warn("click by someone else refused", "user", user, "requester", conf.UserID, "operation", conf.OperationID)
		r.tellUser(ctx, cb, fmt.Sprintf(":no_entry: Only <@%s>, who asked for it, can confirm or cancel this.", conf.UserID))
		return
	}
	conf, ok, err = r.Confirmations.ConsumeConfirmation(ctx, id)
	if err != nil {
		ref := state.NewHex(4)
		r.log().Error("consume confirmation", "err", err, "ref", ref)
		r.tellUser(ctx, cb, storeDown(ref).Text)
		return
	}
	if !ok { // another click (or another replica) got there first
		r.log().Info("confirmation already used", "operation", conf.OperationID, "user", user)
		return
	}
	op, err := confirmedOperation(conf)
	if err != nil {
		r.log().Error("confirmation holds no operation", "err", err, "confirmation", id)
		return
	}
	if action == ActionCancel {
		r.audit(ctx, state.AuditEntry{UserID: user, Command: op.Kind, Decision: "cancelled", OperationID: op.ID})
		if isStep(op) && !r.stepClosed(ctx, cb, r.closeStep(ctx, op, switchboard.StatusCancelled, fmt.Sprintf("<@%s> cancelled it (%s); nothing was changed.", user, op.Params.Title))) {
			return
		}
		r.respond(ctx, cb.ResponseURL, textReply(fmt.Sprintf(":no_entry_sign: Cancelled: %s. Nothing was changed.", op.Params.Title)).Message(), true)
		return
	}
	// The policy may have changed since the command was typed.
	if d := r.Checker.Check(ctx, user, op.ChannelID, permissionOf(op)); !d.Allowed {
		r.audit(ctx, state.AuditEntry{UserID: user, Command: op.Kind, Decision: "denied at confirmation", Rule: d.Rule, OperationID: op.ID})
		if isStep(op) && !r.stepClosed(ctx, cb, r.closeStep(ctx, op, switchboard.StatusFailed, fmt.Sprintf("<@%s> may not do this: %s", user, cmp.Or(d.Message, "no permission "+permissionOf(op))))) {
			return
		}
		r.respond(ctx, cb.ResponseURL, textReply(":no_entry: "+d.Message).Message(), true)
		return
	}
	r.audit(ctx, state.AuditEntry{UserID: user, Command: op.Kind, Decision: "confirmed", OperationID: op.ID, Detail: op.Params.Title})
	if isStep(op) {
		started, err := r.beginStep(ctx, op)
		if !r.stepClosed(ctx, cb, err) {
			return
		}
		where := fmt.Sprintf("in <#%s>", op.ChannelID)
		if op.ChannelID == cb.Channel.ID {
			where = "here"
		}
		r.respond(ctx, cb.ResponseURL, textReply(fmt.Sprintf(":white_check_mark: Confirmed: %s. The results arrive in a thread %s, and the workflow goes on once they are in.", op.Params.Title, where)).Message(), true)
		r.execute(ctx, started, cb.ResponseURL)
		return
	}
	if r.Policy != nil && r.Policy.RequiresApproval(op.Kind) {
		r.requestApproval(ctx, cb, op)
		return
	}
	r.respond(ctx, cb.ResponseURL, textReply(fmt.Sprintf(":white_check_mark: Confirmed: %s. Follow the results in the thread in <#%s>.", op.Params.Title, op.ChannelID)).Message(), true)
	op.CreatedAt = time.Now()
	r.execute(ctx, op, cb.ResponseURL)
}

// execute starts a confirmed operation.
func (r *Router) execute(ctx context.Context, op switchboard.Operation, responseURL string) {
	sc, ok := slashCommandRunning(op.Kind)
	if !ok {
		r.log().Error("no executor for operation", "kind", op.Kind, "operation", op.ID)
		return
	}
	sc.run(r, ctx, op, responseURL)
}

// userError turns an API error into words for the person in Slack. A
// service's own refusal (4xx) is shown; anything else is a generic line with a
// reference, the details go to the log.
func (r *Router) userError(err error, what string) string {
	ref := state.NewHex(4)
	r.log().Error(what, "err", err, "ref", ref)
	if errors.Is(err, enco.ErrCredentialsRefused) {
		return fmt.Sprintf("EnCo refused the bot's own credentials, so nothing was sent. An operator must give the bot valid EnCo credentials (`ENCO_TOKEN`, or `ENCO_CLIENT_ID` and `ENCO_CLIENT_SECRET`); trying again will not help until then. (ref `%s`)", ref)
	}
	if text, ok := encoRefusal(err, ref); ok {
		return text
	}
	var ee *enco.Error
	if errors.As(err, &ee) && ee.StatusCode >= 400 && ee.StatusCode < 500 && ee.StatusCode != 401 && ee.StatusCode != 403 && ee.StatusCode != 429 && ee.Message != "" {
		return fmt.Sprintf("EnCo refused it: %s (HTTP %d, ref `%s`)", render.Escape(truncate(ee.Message, 300)), ee.StatusCode, ref)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("EnCo did not answer in time (ref `%s`). Nothing is known to have changed; check the status before trying again.", ref)
	}
	return fmt.Sprintf("EnCo could not be reached or failed (ref `%s`). Try again later; an operator can find the details under that reference.", ref)
}
