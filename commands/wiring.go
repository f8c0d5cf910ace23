package commands

import (
	"cmp"
	"log/slog"
	"math"
	"time"

	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/slackpost"
)

// Config is what New wires the commands from. Each command takes from it
// only what it uses.
type Config struct {
	Checker Checker
	// Policy holds the settings that shape commands (call barring, limits,
	// approvals, workflow steps).
	Policy *permissions.Policy
	// State is the shared state, one concern each (state.Store implements
	// them all).
	State Stores
	// EnCo is the EnCo API client's parts (enco.Client implements them all).
	EnCo EnCo
	// Slack posts, and the Slack calls around it.
	Slack SlackParts
	// Directory finds a person's own numbers.
	Directory Directory
	// Callbacks is told when an operation's tracking number becomes known.
	Callbacks Callbacks
	// ApprovalRules finds the approval rule covering a change and who may
	// answer a request (permissions.Checker); nil, or no State.Approvals,
	// turns approvals off.
	ApprovalRules ApprovalRules
	// PublicURL is the base URL EnCo reaches the bot's callback server at
	// (for the per-request callback URLs of FMU and voice).
	PublicURL string
	Log       *slog.Logger
	Settings  Settings
	// Fleet sends SIM changes in batches and takes changes from a file.
	Fleet Fleet
}

// Fleet is what SIM changes of many cards use. Without Sender a change is
// one request; without Views there is no change from a file.
type Fleet struct {
	Sender M2MSender
	Views  Views
	Files  SharedFiles
	// MaxTargets caps the cards of a change from a file (limits.max_bulk_targets).
	MaxTargets func() int
}

// Stores are the parts of the shared state the commands use.
type Stores struct {
	AuditTrail         AuditTrail
	Confirmations      Confirmations
	Operations         Operations
	Results            Results
	Counters           Counters
	DirectoryOverrides DirectoryOverrides
	NumberFreezes      NumberFreezes
	// Approvals keeps approval requests.
	Approvals ApprovalStore
	// Schedules keeps FMU schedules, recent operations and recently read
	// profiles; nil turns schedules off and leaves the Home tab's lists empty.
	Schedules ScheduleStore
}

// EnCo are the parts of the EnCo API client the commands call.
type EnCo struct {
	SIM     SIMAPI
	FMU     FMUAPI
	Voice   VoiceAPI
	Numbers NumbersAPI
}

// SlackParts are the Slack calls the commands make.
type SlackParts struct {
	Slack slackpost.Slack
	// DMs opens direct messages, for the confirmations of workflow steps.
	DMs DirectMessages
	// Links gives the link to a message (the requester's thread, in an
	// approval request); nil leaves such links out.
	Links Permalinks
	// Home publishes Home tabs; nil turns the Home tab off.
	Home HomePublisher
	// People gives people's time zones; nil means Europe/Brussels for all.
	People People
}

// Settings are the numbers and hooks that shape the commands.
type Settings struct {
	// MaxTargets caps the ids or numbers in one command (0 means 100).
	MaxTargets int
	// MaskNumbers hides the middle digits of phone numbers in channel posts.
	MaskNumbers bool
	// ConfirmTTL is how long a confirmation button stays valid (0 means 5 minutes).
	ConfirmTTL time.Duration
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
	// OnUnaudited, when set, is told of each refusal past the allowance of
	// audited refusals (kind "rate_limited", "step" or "approval"), for metrics.
	OnUnaudited func(kind string)
	// Now is the clock of schedules (time.Now when nil).
	Now func() time.Time
}

// limits are the settings most commands share: how many targets one
// command takes, and whether channel posts mask numbers.
type limits struct {
	max  int
	mask bool
}

func (l limits) maxTargets() int { return cmp.Or(l.max, 100) }

// New wires the commands from cfg: each command, the Home tab, schedules and
// workflow steps gets its own value holding the dependencies it uses.
func New(cfg Config) *Router {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	now := cfg.Settings.Now
	if now == nil {
		now = time.Now
	}
	st, set := cfg.State, cfg.Settings
	lim := limits{max: set.MaxTargets, mask: set.MaskNumbers}
	g := &gate{checker: cfg.Checker, trail: st.AuditTrail, counters: st.Counters, policy: cfg.Policy, limits: lim, onUnaudited: set.OnUnaudited, log: log}
	ops := &operator{slack: cfg.Slack.Slack, store: st.Operations, results: st.Results, gate: g, mask: set.MaskNumbers, ttl: set.OperationTTL, log: log}
	notes := &notebook{now: now, log: log}
	if st.Schedules != nil {
		ops.recent = st.Schedules
		notes.store = st.Schedules
	}
	confirm := &confirmer{store: st.Confirmations, gate: g, ttl: set.ConfirmTTL, log: log}
	lists := &lister{slack: cfg.Slack.Slack, ops: ops, dms: cfg.Slack.DMs, log: log}
	who := &whois{directory: cfg.Directory, zones: cfg.Slack.People, policy: cfg.Policy, log: log}

	sim := &simCommand{gate: g, confirm: confirm, ops: ops, lists: lists, sim: cfg.EnCo.SIM, callbacks: cfg.Callbacks,
		operations: st.Operations, trail: st.AuditTrail, sender: cfg.Fleet.Sender, limits: lim, log: log}
	sched := &scheduleCommand{gate: g, ops: ops, who: who, notes: notes, store: st.Schedules, fmu: cfg.EnCo.FMU, now: now, limits: lim, log: log}
	dir := &directoryCommand{gate: g, who: who, directory: cfg.Directory, overrides: st.DirectoryOverrides}
	fmu := &fmuCommand{gate: g, confirm: confirm, ops: ops, lists: lists, who: who, notes: notes, dir: dir, sched: sched,
		fmu: cfg.EnCo.FMU, callbacks: cfg.Callbacks, publicURL: cfg.PublicURL, limits: lim, log: log}
	number := &numberCommand{gate: g, confirm: confirm, ops: ops, lists: lists, numbers: cfg.EnCo.Numbers, freezes: st.NumberFreezes,
		operations: st.Operations, limits: lim, log: log}
	call := &callCommand{gate: g, confirm: confirm, ops: ops, lists: lists, who: who, voice: cfg.EnCo.Voice, policy: cfg.Policy,
		operations: st.Operations, publicURL: cfg.PublicURL, limits: lim, log: log}
	reg := newRegistry(sim, fmu, number, call)
	reg.log = log
	steps := &stepRunner{gate: g, ops: ops, who: who, confirm: confirm, sim: sim, exec: reg, counters: st.Counters, operations: st.Operations,
		dms: cfg.Slack.DMs, slack: cfg.Slack.Slack, policy: cfg.Policy, limits: lim, log: log}
	home := &homeTab{gate: g, ops: ops, who: who, notes: notes, store: st.Schedules, fmu: cfg.EnCo.FMU, publisher: cfg.Slack.Home, commands: reg,
		callOff: cfg.EnCo.Voice == nil, now: now, log: log}
	var approvals *Approvals
	if st.Approvals != nil && cfg.ApprovalRules != nil {
		hooks := approvalHooks{steps: steps, exec: reg, ops: ops, log: log}
		approvals = &Approvals{Store: st.Approvals, Rules: cfg.ApprovalRules, Slack: cfg.Slack.Slack, Links: cfg.Slack.Links, Audit: st.AuditTrail,
			AuditRefusal: g.auditApprovalRefusal,
			Execute:      hooks.run, Waiting: hooks.waiting, Ended: hooks.ended, MaskNumbers: set.MaskNumbers, Log: log}
		sim.approvals, home.approvals, steps.approvals = approvals, approvals, approvals
	}
	clicks := &clicks{gate: g, ops: ops, lists: lists, steps: steps, exec: reg, confirmations: st.Confirmations, approvals: approvals, slack: cfg.Slack.Slack,
		limits: lim, log: log}
	if cfg.Fleet.Views != nil {
		sim.bulk = &simBulk{gate: g, confirmations: st.Confirmations, views: cfg.Fleet.Views, files: cfg.Fleet.Files, changes: clicks,
			responses: cfg.Slack.Slack, maxCards: cfg.Fleet.MaxTargets, log: log}
		if cfg.Fleet.Sender != nil {
			sim.bulk.batch = cfg.Fleet.Sender.BatchSize(math.MaxInt)
		}
	}
	return &Router{reg: reg, clicks: clicks, home: home, steps: steps, sched: sched, counters: st.Counters, bulk: sim.bulk, approvals: approvals,
		ackTimeout: set.AckTimeout, workTimeout: set.WorkTimeout, onAck: set.OnAck, onCommand: set.OnCommand, log: log}
}
