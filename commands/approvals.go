package commands

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
	"github.com/switchboard-bot/switchboard/state"
)

// Approvals: a change that a rule of the policy's approvals: covers runs
// only once the rule's number of distinct approvers approve it. After the
// requester confirms, the bot posts the requester's thread (where the
// change's results arrive once it runs) and the request, with approve and
// deny buttons and a link to that thread, in the rule's channel. The request
// message always shows who approved and how many approvals are missing; a
// deny, the requester's cancel or the expiry ends it, and both messages say
// how it ended.

// The action_ids of the buttons of approval requests; their value is the
// request's id.
const (
	ActionDeny          = "deny"
	ActionCancelRequest = "cancel_request"
)

// Verdict is what the approval gate made of a confirmed change.
type Verdict int

const (
	// RunsNow: no rule covers the change; the caller runs it.
	RunsNow Verdict = iota
	// WaitsForApproval: the request is posted; the change runs once it is
	// approved, from the approval that completes it.
	WaitsForApproval
	// NotRequested: a rule covers the change but the request could not be
	// made; the requester was told, and nothing runs.
	NotRequested
)

// ApprovalGate is what a confirmed change passes before it runs: the
// operation and how many targets it names in, whether it runs now out.
// responseURL, when set, answers the requester's confirmation.
type ApprovalGate interface {
	Gate(ctx context.Context, op switchboard.Operation, targets int, responseURL string) Verdict
}

var _ ApprovalGate = (*Approvals)(nil)

// ApprovalStore keeps approval requests (state.Store).
type ApprovalStore interface {
	CreateApproval(ctx context.Context, a state.ApprovalRequest, keep time.Duration) error
	NoteApprovalMessage(ctx context.Context, id, ts string) (bool, error)
	Approval(ctx context.Context, id string) (state.ApprovalRequest, bool, error)
	Approve(ctx context.Context, id, user string, now time.Time) (string, state.ApprovalRequest, bool, error)
	EndApproval(ctx context.Context, id, status, user, reason string, now time.Time) (state.ApprovalRequest, bool, bool, error)
	ClaimApprovalExpiries(ctx context.Context, now time.Time, n int, lease time.Duration) ([]string, error)
	PendingApprovals(ctx context.Context, limit int) ([]state.ApprovalRequest, error)
}

// ApprovalRules finds the rule covering a change and decides who may
// answer a request (permissions.Checker).
type ApprovalRules interface {
	Approval(permission string, targets int) (permissions.ApprovalRule, bool)
	MayApprove(ctx context.Context, userID, channelID, permission string, rule permissions.ApprovalRule) permissions.Decision
	// Check decides whether the requester still holds the permission when
	// the last approval comes in.
	Check(ctx context.Context, userID, channelID, permission string) permissions.Decision
}

// Permalinks gives a message's link (chat.getPermalink).
type Permalinks interface {
	Permalink(ctx context.Context, channel, ts string) (string, error)
}

// Auditor appends to the audit trail.
type Auditor interface {
	Audit(ctx context.Context, e switchboard.AuditEntry) error
}

// Approvals runs approval requests: the gate, the clicks on their buttons,
// their expiry and the lists of what waits. Set the fields, then use it from
// any number of goroutines and replicas.
type Approvals struct {
	Store ApprovalStore
	Rules ApprovalRules
	Slack slackpost.Slack
	// Links gives the link to the requester's thread; nil leaves it out.
	Links Permalinks
	Audit Auditor
	// AuditRefusal, when set, audits a click or denial refused (someone
	// not an approver, the requester approving) within the allowance of
	// audited refusals, so that trying again and again does not flood the
	// trail; nil audits each one.
	AuditRefusal func(ctx context.Context, e switchboard.AuditEntry)
	// Execute carries out an approved change, once, on the replica whose
	// approval completed it.
	Execute func(ctx context.Context, op switchboard.Operation)
	// Waiting, when set, is told that a request is posted and waits until
	// its deadline.
	Waiting func(ctx context.Context, op switchboard.Operation, until time.Time)
	// Ended, when set, is told that a request ended without running its
	// change (denied, cancelled, expired or never posted), with why.
	Ended func(ctx context.Context, op switchboard.Operation, why string)
	// MaskNumbers hides the middle digits of numbers in the posts.
	MaskNumbers bool
	// Keep is how long an ended request is kept, for late clicks (0 means
	// 24 hours).
	Keep time.Duration
	// Tick is the longest pause between two looks for expired requests (0
	// means 1 s); Lease how long a claimed expiry is held from the other
	// replicas (0 means 30 s).
	Tick, Lease time.Duration
	Now         func() time.Time
	Log         *slog.Logger
}

func (a *Approvals) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Approvals) log() *slog.Logger { return cmp.Or(a.Log, slog.Default()) }

// refused audits a refusal (see AuditRefusal).
func (a *Approvals) refused(ctx context.Context, e switchboard.AuditEntry) {
	if a.AuditRefusal == nil {
		a.audit(ctx, e)
		return
	}
	e.At = a.now()
	a.AuditRefusal(ctx, e)
}

func (a *Approvals) audit(ctx context.Context, e switchboard.AuditEntry) {
	e.At = a.now()
	a.log().Info("audit", "user", e.UserID, "command", e.Command, "decision", e.Decision, "rule", e.Rule, "operation", e.OperationID, "detail", e.Detail)
	if err := a.Audit.Audit(ctx, e); err != nil {
		a.log().Error("audit append failed", "err", err, "user", e.UserID, "decision", e.Decision, "operation", e.OperationID)
	}
}

// ruleOf is the rule a stored request was made under, for deciding who
// may answer it.
func ruleOf(r state.ApprovalRequest) permissions.ApprovalRule {
	return permissions.ApprovalRule{Name: r.Rule, Required: r.Required, Approvers: r.Approvers, Channel: r.Channel}
}

// Gate implements ApprovalGate. When a rule covers op, it posts the
// requester's thread in op's channel and the request in the rule's, and
// answers the requester through responseURL.
func (a *Approvals) Gate(ctx context.Context, op switchboard.Operation, targets int, responseURL string) Verdict {
	perm := permissionOf(op)
	rule, ok := a.Rules.Approval(perm, targets)
	if !ok {
		return RunsNow
	}
	now := a.now()
	req := state.ApprovalRequest{
		ID: state.NewHex(16), Operation: op, Rule: rule.Name, Required: rule.Required, Approvers: rule.Approvers,
		Channel: cmp.Or(rule.Channel, op.ChannelID), Targets: targets,
		Status: state.ApprovalPending, CreatedAt: now, ExpiresAt: now.Add(rule.Expires),
	}
	stop := func(text string) Verdict {
		a.respond(ctx, responseURL, text)
		if a.Ended != nil {
			a.Ended(ctx, op, stripMrkdwn(text))
		}
		return NotRequested
	}
	// The requester's thread comes first: the request links to it, and the
	// change's results arrive in it.
	ts, err := a.Slack.PostMessage(ctx, op.ChannelID, a.threadMessage(req))
	if err != nil {
		a.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "approval not requested", Rule: rule.Name, OperationID: op.ID, Detail: cmp.Or(slackpost.SlackErrorCode(err), "slack unreachable")})
		if slackpost.NotInChannel(err) {
			return stop(fmt.Sprintf(":warning: I can't post in <#%s> because I'm not a member. Invite me with `/invite @Switchboard` there, then run the command again. Nothing was changed.", op.ChannelID))
		}
		return stop(":x: I could not post in this channel, so nothing was changed: " + a.slackProblem(err, "post approval thread"))
	}
	req.Operation.ThreadTS = ts
	if a.Links != nil {
		if link, err := a.Links.Permalink(ctx, op.ChannelID, ts); err != nil {
			a.log().Warn("permalink of the requester's thread", "err", err, "operation", op.ID)
		} else {
			req.Link = link
		}
	}
	// Stored before the request is posted, so that an approver who clicks
	// the moment it appears finds it.
	if err := a.Store.CreateApproval(ctx, req, a.keep()); err != nil {
		ref := state.NewHex(4)
		a.log().Error("create approval", "err", err, "ref", ref, "operation", op.ID)
		text := fmt.Sprintf(":hourglass: I can't reach my state store right now, so I did not ask for the approval and nothing was changed. Please try again in a minute. (ref `%s`)", ref)
		a.update(ctx, op.ChannelID, ts, textReply(text).Message())
		return stop(text)
	}
	reqTS, err := a.Slack.PostMessage(ctx, req.Channel, a.requestMessage(req))
	if err != nil {
		text := ":x: I could not post the approval request, so nothing was changed: " + a.slackProblem(err, "post approval request")
		if slackpost.NotInChannel(err) {
			text = fmt.Sprintf(":warning: I can't post the approval request in <#%s> because I'm not a member. Ask someone there to invite me with `/invite @Switchboard`, then run the command again. Nothing was changed.", req.Channel)
		}
		ended, ok := a.end(ctx, req.ID, state.ApprovalWithdrawn, op.UserID, "the request could not be posted")
		if !ok {
			// Answered in spite of the error (Slack posted it after all),
			// or the store failed.
			a.respond(ctx, responseURL, notEnded(ended))
			return WaitsForApproval
		}
		a.update(ctx, op.ChannelID, ts, textReply(text).Message())
		if a.Ended != nil {
			a.Ended(ctx, ended.Operation, stripMrkdwn(text))
		}
		a.respond(ctx, responseURL, text)
		return NotRequested
	}
	if a.Waiting != nil {
		a.Waiting(ctx, req.Operation, req.ExpiresAt)
	}
	if _, err := a.Store.NoteApprovalMessage(ctx, req.ID, reqTS); err != nil {
		a.log().Warn("note the approval request's ts", "err", err, "operation", op.ID)
	}
	// A click that came before the ts was noted could not update the
	// request message; it shows the request as it stands now.
	if now, ok, err := a.Store.Approval(ctx, req.ID); err == nil && ok && (now.Status != state.ApprovalPending || len(now.ApprovedBy) > 0) {
		now.TS = reqTS
		a.update(ctx, now.Channel, reqTS, a.requestMessage(now))
	}
	a.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "approval requested", Rule: rule.Name, OperationID: op.ID,
		Detail: fmt.Sprintf("%s; %d approvals needed in %s", op.Params.Title, req.Required, req.Channel)})
	a.respond(ctx, responseURL, fmt.Sprintf(":lock: Waiting for approval: %s needs %s from %s. I posted the request in <#%s>; the results will follow in %s.",
		op.Params.Title, plural(req.Required, "approval"), rule.ApproverMentions(perm), req.Channel, threadLink(req, "your thread")))
	return WaitsForApproval
}

func (a *Approvals) keep() time.Duration { return cmp.Or(a.Keep, 24*time.Hour) }

// threadLink links to the requester's thread when its link is known.
func threadLink(r state.ApprovalRequest, words string) string {
	if r.Link == "" {
		return fmt.Sprintf("the thread in <#%s>", r.Operation.ChannelID)
	}
	return fmt.Sprintf("<%s|%s>", r.Link, words)
}

// Click handles approve, deny and cancel_request on a request.
func (a *Approvals) Click(ctx context.Context, cb slack.InteractionCallback, action, id string) {
	if note, _ := a.decide(ctx, cb.User.ID, action, id, ""); note != "" {
		a.tell(ctx, cb, note)
	}
}

// decide applies one person's approve, deny (with reason) or cancel to a
// request. It returns what to tell them when it changed nothing (the
// messages of the request tell the rest), and whether it changed anything.
func (a *Approvals) decide(ctx context.Context, user, action, id, reason string) (string, bool) {
	req, ok, err := a.Store.Approval(ctx, id)
	switch {
	case err != nil:
		ref := state.NewHex(4)
		a.log().Error("read approval", "err", err, "ref", ref)
		return storeDown(ref).Text, false
	case !ok:
		return ":hourglass: This request has ended and is no longer kept. Nothing was changed.", false
	case req.Status != state.ApprovalPending:
		return endedNote(req), false
	}
	op := req.Operation
	perm := permissionOf(op)
	requester := user == op.UserID
	if action == ActionDeny && requester {
		action = ActionCancelRequest // the requester's deny withdraws the request
	}
	switch action {
	case ActionCancelRequest:
		if !requester {
			return fmt.Sprintf(":no_entry: Only <@%s>, who asked for it, can cancel this request; approvers use Deny.", op.UserID), false
		}
	case ActionApprove, ActionDeny:
		if requester {
			a.refused(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "approval refused", Rule: "the requester cannot approve their own request", OperationID: op.ID})
			return fmt.Sprintf(":no_entry: You asked for this, so you can't approve it: %s from %s. Cancel request withdraws it.", plural(req.Missing(), "more approval")+" "+isAre(req.Missing())+" needed", ruleOf(req).ApproverMentions(perm)), false
		}
		if d := a.Rules.MayApprove(ctx, user, op.ChannelID, perm, ruleOf(req)); !d.Allowed {
			a.refused(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: action + " refused", Rule: d.Rule, OperationID: op.ID})
			msg := d.Message
			if !d.Unsure && len(req.Approvers) == 0 {
				msg = fmt.Sprintf("Only someone holding `%s` can answer this request. %s", perm, d.Message)
			}
			return ":no_entry: " + msg, false
		}
	default:
		return "", false
	}
	switch action {
	case ActionApprove:
		return a.approve(ctx, user, req)
	case ActionDeny:
		ended, ok := a.end(ctx, id, state.ApprovalDenied, user, reason)
		if !ok {
			return notEnded(ended), false
		}
		a.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "approval denied", Rule: ended.Rule, OperationID: op.ID, Detail: cmp.Or(reason, "no reason given")})
		a.closed(ctx, ended)
	default:
		ended, ok := a.end(ctx, id, state.ApprovalCancelled, user, "")
		if !ok {
			return notEnded(ended), false
		}
		a.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "approval cancelled", Rule: ended.Rule, OperationID: op.ID})
		a.closed(ctx, ended)
	}
	return "", true
}

// approve counts one approval; the one that completes the request runs the
// change.
func (a *Approvals) approve(ctx context.Context, user string, req state.ApprovalRequest) (string, bool) {
	op := req.Operation
	vote, req, found, err := a.Store.Approve(ctx, req.ID, user, a.now())
	switch {
	case err != nil:
		ref := state.NewHex(4)
		a.log().Error("approve", "err", err, "ref", ref)
		return storeDown(ref).Text, false
	case !found:
		return ":hourglass: This request has ended and is no longer kept. Nothing was changed.", false
	}
	switch vote {
	case state.VoteRepeated:
		return fmt.Sprintf(":ballot_box_with_check: Your approval is in already; it counts once. %s.", capitalize(missingWords(req))), false
	case state.VoteRequester:
		return ":no_entry: You asked for this, so you can't approve it.", false
	case state.VoteClosed:
		return endedNote(req), false
	case state.VoteDue:
		return ":hourglass: This request has expired. Nothing was changed; the requester can ask again.", false
	case state.VoteCounted:
		a.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "approved", Rule: req.Rule, OperationID: op.ID,
			Detail: fmt.Sprintf("%d of %d, requested by %s", len(req.ApprovedBy), req.Required, op.UserID)})
		a.refresh(ctx, req)
	case state.VoteApproved:
		a.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "approved", Rule: req.Rule, OperationID: op.ID,
			Detail: fmt.Sprintf("%d of %d, requested by %s", len(req.ApprovedBy), req.Required, op.UserID)})
		// The request may have waited for hours: the requester may have
		// lost the permission (left a role's user group, say) since.
		if d := a.Rules.Check(ctx, op.UserID, op.ChannelID, permissionOf(op)); !d.Allowed {
			a.revoked(ctx, req, d)
			return "", true
		}
		// The change's first message takes the place of the requester's
		// thread's as it starts.
		a.update(ctx, req.Channel, req.TS, a.requestMessage(req))
		a.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "executed after approval", Rule: req.Rule, OperationID: op.ID,
			Detail: "approved by " + strings.Join(req.ApprovedBy, ", ")})
		op = req.Operation
		op.Params.Title += " (approved by " + mentions(req.ApprovedBy) + ")"
		op.CreatedAt = a.now()
		a.Execute(ctx, op)
	}
	return "", true
}

// revoked ends an approved request whose requester no longer holds its
// permission: nothing runs, and both messages, the requester and whoever
// waits on the change are told why.
func (a *Approvals) revoked(ctx context.Context, req state.ApprovalRequest, d permissions.Decision) {
	op := req.Operation
	a.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: "denied at approval", Rule: d.Rule, OperationID: op.ID})
	why := cmp.Or(d.Message, fmt.Sprintf("<@%s> no longer holds `%s`.", op.UserID, permissionOf(op)))
	text := fmt.Sprintf(":no_entry: Approved by %s, but not run: %s Nothing was changed.", mentions(req.ApprovedBy), why)
	a.update(ctx, req.Channel, req.TS, textReply(fmt.Sprintf(":lock: <@%s> asked: *%s*\n%s", op.UserID, op.Params.Title, text)).Message())
	a.update(ctx, op.ChannelID, op.ThreadTS, textReply(fmt.Sprintf("*%s* — requested by <@%s>. %s", op.Params.Title, op.UserID, text)).Message())
	reply := textReply(fmt.Sprintf("<@%s> %s", op.UserID, text)).Message()
	reply.ThreadTS = op.ThreadTS
	if _, err := a.Slack.PostMessage(ctx, op.ChannelID, reply); err != nil {
		a.log().Error("tell the requester their approved change did not run", "err", err, "operation", op.ID)
	}
	if a.Ended != nil {
		a.Ended(ctx, op, stripMrkdwn(text))
	}
}

// refresh shows a request's approvals so far. Two approvals counted at once
// on two replicas update the message in any order, so after its update
// each reads the request again and updates once more if it changed.
func (a *Approvals) refresh(ctx context.Context, req state.ApprovalRequest) {
	a.update(ctx, req.Channel, req.TS, a.requestMessage(req))
	now, ok, err := a.Store.Approval(ctx, req.ID)
	if err != nil || !ok || (now.Status == req.Status && len(now.ApprovedBy) == len(req.ApprovedBy)) {
		return
	}
	a.update(ctx, now.Channel, now.TS, a.requestMessage(now))
}

// end ends a pending request; ok is false when it had ended already (the
// request returned says how), is no longer kept, or the store failed
// (logged; the request returned is then the zero value).
func (a *Approvals) end(ctx context.Context, id, status, user, reason string) (state.ApprovalRequest, bool) {
	req, ended, found, err := a.Store.EndApproval(ctx, id, status, user, reason, a.now())
	switch {
	case err != nil:
		a.log().Error("end approval", "err", err, "approval", id, "status", status)
		return state.ApprovalRequest{}, false
	case !found:
		return state.ApprovalRequest{ID: id, Status: state.ApprovalGone}, false
	}
	return req, ended
}

// notEnded says why a deny or cancel changed nothing: the request had
// ended already, or the store could not be reached.
func notEnded(req state.ApprovalRequest) string {
	if req.Status == "" || req.Status == state.ApprovalPending {
		return storeDown(state.NewHex(4)).Text
	}
	return endedNote(req)
}

// closed tells both messages and the requester how a request ended without
// running, and whoever waits on the change.
func (a *Approvals) closed(ctx context.Context, req state.ApprovalRequest) {
	op := req.Operation
	a.update(ctx, req.Channel, req.TS, a.requestMessage(req))
	a.update(ctx, op.ChannelID, op.ThreadTS, a.threadMessage(req))
	reply := textReply(fmt.Sprintf("<@%s> %s", op.UserID, endedNote(req))).Message()
	reply.ThreadTS = op.ThreadTS
	if _, err := a.Slack.PostMessage(ctx, op.ChannelID, reply); err != nil {
		a.log().Error("tell the requester how the request ended", "err", err, "operation", op.ID)
	}
	if a.Ended != nil {
		a.Ended(ctx, op, stripMrkdwn(endedNote(req)))
	}
}

// Run ends expired requests until ctx ends. Every replica runs one; each
// expiry is claimed by one of them and reported once.
func (a *Approvals) Run(ctx context.Context) error {
	tick := cmp.Or(a.Tick, time.Second)
	lease := cmp.Or(a.Lease, 30*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		a.sweep(ctx, lease)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (a *Approvals) sweep(ctx context.Context, lease time.Duration) {
	now := a.now()
	ids, err := a.Store.ClaimApprovalExpiries(ctx, now, 100, lease)
	if err != nil {
		if ctx.Err() == nil {
			a.log().Warn("claim approval expiries", "err", err)
		}
		return
	}
	for _, id := range ids {
		req, ok := a.end(ctx, id, state.ApprovalExpired, "", "")
		if !ok {
			continue
		}
		a.audit(ctx, switchboard.AuditEntry{UserID: req.Operation.UserID, Command: req.Operation.Kind, Decision: "approval expired", Rule: req.Rule, OperationID: req.Operation.ID,
			Detail: fmt.Sprintf("%d of %d approvals in after %s", len(req.ApprovedBy), req.Required, humanDuration(req.ExpiresAt.Sub(req.CreatedAt)))})
		a.closed(ctx, req)
	}
}

// Pending returns the requests that wait for user as an approver and those
// user asked for.
func (a *Approvals) Pending(ctx context.Context, user string) (waiting, asked []state.ApprovalRequest, err error) {
	all, err := a.Store.PendingApprovals(ctx, maxPendingShown)
	if err != nil {
		return nil, nil, err
	}
	now := a.now()
	for _, r := range all {
		switch {
		case !r.ExpiresAt.After(now):
		case r.Operation.UserID == user:
			asked = append(asked, r)
		case r.ApprovedByUser(user):
		case a.Rules.MayApprove(ctx, user, r.Operation.ChannelID, permissionOf(r.Operation), ruleOf(r)).Allowed:
			waiting = append(waiting, r)
		}
	}
	return waiting, asked, nil
}

// maxPendingShown bounds the requests one list reads.
const maxPendingShown = 200

// pendingLine is one request in a list of what waits.
func pendingLine(r state.ApprovalRequest, now time.Time, asker bool) string {
	who := fmt.Sprintf("asked by <@%s>", r.Operation.UserID)
	if asker {
		who = "asked by you"
	}
	return fmt.Sprintf("• *%s* (%s) — %s in <#%s>, %d of %d approvals in, expires in %s · %s · id `%s`",
		r.Operation.Params.Title, r.Rule, who, r.Channel, len(r.ApprovedBy), r.Required, humanDuration(max(r.ExpiresAt.Sub(now).Round(time.Minute), time.Second)), threadLink(r, "thread"), r.ID[:8])
}

// requestMessage is the request as its channel shows it: the buttons while
// it waits, how it ended after.
func (a *Approvals) requestMessage(r state.ApprovalRequest) render.Message {
	op := r.Operation
	perm := permissionOf(op)
	head := fmt.Sprintf(":lock: <@%s> asks: *%s*", op.UserID, op.Params.Title)
	var b strings.Builder
	b.WriteString(head)
	for i, t := range op.Targets {
		if i == maxPromptLines {
			// The requester's confirmation attached the full list to the
			// requester's channel already.
			fmt.Fprintf(&b, "\n• %s The full list was attached to <#%s> with the request.", leftOut(maxPromptLines, len(op.Targets)), op.ChannelID)
			break
		}
		b.WriteString("\n• " + render.TargetLabel(op, t, a.MaskNumbers))
	}
	status := approvalStatus(r)
	blocks := []slack.Block{section(b.String())}
	detail := fmt.Sprintf("Rule *%s*: %s from %s; the requester cannot approve. %s", r.Rule, plural(r.Required, "approval"), ruleOf(r).ApproverMentions(perm), threadLink(r, "Requester's thread"))
	if r.Status == state.ApprovalPending {
		detail += fmt.Sprintf(" · expires <!date^%d^{date_short_pretty} {time}|%s>", r.ExpiresAt.Unix(), r.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	blocks = append(blocks, contextLine(detail), section(status))
	if r.Status == state.ApprovalPending {
		approve := slack.NewButtonBlockElement(ActionApprove, r.ID, plain("Approve"))
		approve.Style = slack.StylePrimary
		deny := slack.NewButtonBlockElement(ActionDeny, r.ID, plain("Deny"))
		deny.Style = slack.StyleDanger
		blocks = append(blocks, slack.NewActionBlock("approval:"+r.ID, approve, deny))
	}
	return render.Message{Text: fmt.Sprintf("%s — %s", strings.TrimPrefix(head, ":lock: "), stripMrkdwn(status)), Blocks: blocks}
}

// threadMessage is the requester's thread's first message while the request
// waits, and after it ended without running.
func (a *Approvals) threadMessage(r state.ApprovalRequest) render.Message {
	op := r.Operation
	var text string
	switch r.Status {
	case state.ApprovalPending:
		text = fmt.Sprintf(":lock: *%s* — requested by <@%s>, waiting for %s in <#%s>. %s",
			op.Params.Title, op.UserID, plural(r.Required, "approval"), r.Channel, approvalStatus(r))
	default:
		text = fmt.Sprintf("*%s* — requested by <@%s>. %s", op.Params.Title, op.UserID, endedNote(r))
	}
	blocks := []slack.Block{section(text)}
	if r.Status == state.ApprovalPending && r.ID != "" {
		blocks = append(blocks, slack.NewActionBlock("approval_thread:"+r.ID, slack.NewButtonBlockElement(ActionCancelRequest, r.ID, plain("Cancel request"))))
	}
	return render.Message{Text: stripMrkdwn(text), Blocks: blocks}
}

// approvalStatus says who approved and how many approvals are missing, or
// how the request ended.
func approvalStatus(r state.ApprovalRequest) string {
	if r.Status != state.ApprovalPending {
		return endedNote(r)
	}
	if len(r.ApprovedBy) == 0 {
		return fmt.Sprintf(":hourglass_flowing_sand: No approval yet; %s.", missingWords(r))
	}
	return fmt.Sprintf(":hourglass_flowing_sand: Approved by %s; %s.", mentions(r.ApprovedBy), missingWords(r))
}

// missingWords says how many approvals a request still needs.
func missingWords(r state.ApprovalRequest) string {
	return fmt.Sprintf("%d of %d approvals in, %d more needed", len(r.ApprovedBy), r.Required, r.Missing())
}

// endedNote says how a request ended.
func endedNote(r state.ApprovalRequest) string {
	title := r.Operation.Params.Title
	switch r.Status {
	case state.ApprovalApproved:
		return fmt.Sprintf(":white_check_mark: Approved by %s: %s, requested by <@%s>. The results follow in %s.", mentions(r.ApprovedBy), title, r.Operation.UserID, threadLink(r, "the requester's thread"))
	case state.ApprovalDenied:
		why := ""
		if r.Reason != "" {
			why = " Reason: " + render.Escape(r.Reason) + "."
		}
		return fmt.Sprintf(":no_entry_sign: Denied by <@%s>: %s, requested by <@%s>. Nothing was changed.%s", r.EndedBy, title, r.Operation.UserID, why)
	case state.ApprovalCancelled:
		return fmt.Sprintf(":no_entry_sign: Cancelled by <@%s>: %s. Nothing was changed.", r.EndedBy, title)
	case state.ApprovalExpired:
		return fmt.Sprintf(":hourglass: Expired: %s, requested by <@%s>, got %d of %d approvals in time. Nothing was changed; ask again if it is still needed.", title, r.Operation.UserID, len(r.ApprovedBy), r.Required)
	case state.ApprovalGone:
		return ":hourglass: This request has ended and is no longer kept. Nothing was changed."
	case state.ApprovalWithdrawn:
		return fmt.Sprintf(":x: Withdrawn: %s; the request could not be posted. Nothing was changed.", title)
	}
	return fmt.Sprintf(":hourglass: %s is waiting for approval.", title)
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// mentions renders user IDs as "<@A>, <@B> and <@C>".
func mentions(users []string) string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = "<@" + u + ">"
	}
	switch len(out) {
	case 0:
		return "nobody"
	case 1:
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1]
}

func (a *Approvals) update(ctx context.Context, channel, ts string, m render.Message) {
	if ts == "" {
		return
	}
	if err := a.Slack.UpdateMessage(ctx, channel, ts, m); err != nil {
		a.log().Error("update approval message", "err", err, "channel", channel)
	}
}

func (a *Approvals) respond(ctx context.Context, responseURL, text string) {
	if responseURL == "" {
		return
	}
	if err := a.Slack.Respond(ctx, responseURL, textReply(text).Message(), true); err != nil {
		a.log().Error("respond", "err", err)
	}
}

// tell shows a message to the person who clicked.
func (a *Approvals) tell(ctx context.Context, cb slack.InteractionCallback, text string) {
	if err := a.Slack.PostEphemeral(ctx, cb.Channel.ID, cb.User.ID, textReply(text).Message()); err != nil {
		a.log().Error("ephemeral", "err", err, "user", cb.User.ID)
	}
}

// slackProblem words a failed Slack call for a person and logs the details
// under a reference.
func (a *Approvals) slackProblem(err error, what string) string {
	ref := state.NewHex(4)
	a.log().Error(what, "err", err, "ref", ref)
	if code := slackpost.SlackErrorCode(err); code != "" {
		return fmt.Sprintf("Slack refused it (%s, ref `%s`).", render.Escape(code), ref)
	}
	return fmt.Sprintf("Slack could not be reached (ref `%s`). Try again later; an operator can find the details under that reference.", ref)
}

// approvalsUsage explains /sim approvals.
const approvalsUsage = "*Usage*\n`/sim approvals` — the requests waiting for your approval, and those you asked for\n" +
	"`/sim approvals deny &lt;id&gt; &lt;reason&gt;` — deny a request and say why (its id is in the list; the buttons deny without a reason)"

// maxReason bounds a denial's reason.
const maxReason = 300

// command answers /sim approvals (text is the command's text, args its
// tokens after "approvals"): the lists of what waits, or a denial with its
// reason. It reads and writes Redis only, so it answers in the
// acknowledgement.
func (a *Approvals) command(ctx context.Context, user, text string, args []token) Reply {
	if len(args) == 0 {
		waiting, asked, err := a.Pending(ctx, user)
		if err != nil {
			ref := state.NewHex(4)
			a.log().Error("pending approvals", "err", err, "ref", ref)
			return storeDown(ref)
		}
		return textReply(a.pendingText(waiting, asked))
	}
	if !strings.EqualFold(args[0].text, "deny") {
		return usageReply(usageErr(approvalsUsage, "`%s` is not something `/sim approvals` does: type `/sim approvals` for the list, or `/sim approvals deny &lt;id&gt; &lt;reason&gt;`.", args[0].text))
	}
	if len(args) < 2 {
		return usageReply(usageErr(approvalsUsage, "Say which request to deny: `/sim approvals deny &lt;id&gt; &lt;reason&gt;`, with the id `/sim approvals` lists."))
	}
	prefix := strings.ToLower(args[1].text)
	if len(prefix) < 8 || strings.Trim(prefix, "0123456789abcdef") != "" {
		return usageReply(usageErr(approvalsUsage, "`%s` is not a request id: ids are hexadecimal, like `3f9a61c2` (the 8 characters `/sim approvals` shows).", args[1].text))
	}
	// The reason as typed ("approvals deny <id> " first); it is escaped
	// wherever it is shown.
	var reason string
	if words := strings.Fields(text); len(words) > 3 {
		reason = truncate(strings.Join(words[3:], " "), maxReason)
	}
	all, err := a.Store.PendingApprovals(ctx, maxPendingShown)
	if err != nil {
		ref := state.NewHex(4)
		a.log().Error("pending approvals", "err", err, "ref", ref)
		return storeDown(ref)
	}
	for _, r := range all {
		if !strings.HasPrefix(r.ID, prefix) {
			continue
		}
		note, done := a.decide(ctx, user, ActionDeny, r.ID, reason)
		if !done {
			return textReply(note)
		}
		if r.Operation.UserID == user {
			return textReply(fmt.Sprintf(":no_entry_sign: You cancelled your request: %s. Nothing was changed.", r.Operation.Params.Title))
		}
		return textReply(fmt.Sprintf(":no_entry_sign: You denied %s, requested by <@%s>. Nothing was changed; the request and the requester's thread say so.", r.Operation.Params.Title, r.Operation.UserID))
	}
	return textReply(fmt.Sprintf(":hourglass: No request waiting for approval has the id `%s`: it may have ended. `/sim approvals` lists those that wait.", prefix))
}

// pendingText lists what waits for a person and what they asked for.
func (a *Approvals) pendingText(waiting, asked []state.ApprovalRequest) string {
	if len(waiting) == 0 && len(asked) == 0 {
		return ":white_check_mark: No request waits for your approval, and none of yours waits for someone else's."
	}
	now := a.now()
	var b strings.Builder
	if len(waiting) > 0 {
		fmt.Fprintf(&b, "*Waiting for your approval* (%d)", len(waiting))
		for _, r := range waiting {
			b.WriteString("\n" + pendingLine(r, now, false))
		}
	} else {
		b.WriteString("No request waits for your approval.")
	}
	b.WriteString("\n")
	if len(asked) > 0 {
		fmt.Fprintf(&b, "*Your requests waiting for approval* (%d)", len(asked))
		for _, r := range asked {
			b.WriteString("\n" + pendingLine(r, now, true))
		}
	} else {
		b.WriteString("None of your requests waits for approval.")
	}
	return b.String()
}

// HomeBlocks shows on a person's Home tab what waits for their approval
// and what they asked for; nothing when nothing waits.
func (a *Approvals) HomeBlocks(ctx context.Context, user string) []slack.Block {
	waiting, asked, err := a.Pending(ctx, user)
	if err != nil {
		a.log().Warn("pending approvals for the home tab", "err", err, "user", user)
		return nil
	}
	if len(waiting) == 0 && len(asked) == 0 {
		return nil
	}
	return []slack.Block{slack.NewDividerBlock(), section("*Approvals*\n" + a.pendingText(waiting, asked))}
}
