package commands

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

const approvalTestPolicy = `roles:
  - name: sim-admins
    members: [U0ME, U0BOB, U0CAROL]
    permissions: ["sim.*"]
approvals:
  - name: big
    permissions: [sim.deactivate]
    targets_over: 2
    required: 2
    channel: C0APPROVE
`

// quickSlack is a Slack where an approver clicks an approval request's
// approve button the moment it is posted: from inside chat.postMessage,
// before the post returns its ts. failRequests makes the request's post
// fail instead.
type quickSlack struct {
	*telSlack
	a            *Approvals
	approver     string
	failRequests error

	mu         sync.Mutex
	clicked    bool
	updates    map[string]string // ts -> text
	ephemerals []string
}

func (s *quickSlack) PostMessage(ctx context.Context, channel string, m render.Message) (string, error) {
	id := buttonValue(m, ActionApprove)
	if id != "" && s.failRequests != nil {
		return "", s.failRequests
	}
	ts, err := s.telSlack.PostMessage(ctx, channel, m)
	s.mu.Lock()
	click := id != "" && !s.clicked && s.approver != ""
	s.clicked = s.clicked || click
	s.mu.Unlock()
	if click {
		s.a.Click(ctx, slack.InteractionCallback{User: slack.User{ID: s.approver}}, ActionApprove, id)
	}
	return ts, err
}

func (s *quickSlack) UpdateMessage(_ context.Context, _, ts string, m render.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates[ts] = m.Text
	return nil
}

func (s *quickSlack) PostEphemeral(_ context.Context, _, _ string, m render.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ephemerals = append(s.ephemerals, m.Text)
	return nil
}

// buttonValue is the value of a message's button with actionID, "" when it
// has none.
func buttonValue(m render.Message, actionID string) string {
	for _, b := range m.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == actionID {
					return btn.Value
				}
			}
		}
	}
	return ""
}

// approvalFixture is an Approvals on a real store and policy, whose
// executions and ends are recorded.
type approvalFixture struct {
	a     *Approvals
	slack *quickSlack
	store *state.Store

	mu       sync.Mutex
	executed []switchboard.Operation
	ended    []string
}

func newApprovalFixture(t *testing.T, approver string) *approvalFixture {
	t.Helper()
	p, err := permissions.Parse([]byte(approvalTestPolicy), Names())
	if err != nil {
		t.Fatal(err)
	}
	rdb, prefix := redistest.New(t)
	f := &approvalFixture{store: state.New(rdb, prefix)}
	f.slack = &quickSlack{telSlack: &telSlack{}, approver: approver, updates: map[string]string{}}
	f.a = &Approvals{
		Store: f.store, Rules: permissions.NewChecker(p, nil), Slack: f.slack, Audit: f.store,
		Execute: func(_ context.Context, op switchboard.Operation) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.executed = append(f.executed, op)
		},
		Ended: func(_ context.Context, _ switchboard.Operation, why string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.ended = append(f.ended, why)
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	f.slack.a = f.a
	return f
}

func deactivateOp(n int) switchboard.Operation {
	op := switchboard.Operation{ID: state.NewHex(16), Kind: switchboard.KindSIMDeactivate, UserID: "U0ME", ChannelID: "C1", Status: switchboard.StatusPending,
		Expected: n, Params: switchboard.Params{Title: "Deactivate SIM cards", Action: string(enco.Deactivation)}}
	for range n {
		op.Targets = append(op.Targets, switchboard.Number("32471000005"))
	}
	return op
}

// TestApprovalGateLetsSmallChangesRun: targets_over lets a change naming
// no more cards than that run at once, and holds back a larger one.
func TestApprovalGateLetsSmallChangesRun(t *testing.T) {
	f := newApprovalFixture(t, "")
	ctx := context.Background()
	if v := f.a.Gate(ctx, deactivateOp(2), 2, "https://hooks.example/1"); v != RunsNow {
		t.Errorf("Gate(2 cards) = %v, want RunsNow", v)
	}
	if len(f.slack.posts) != 0 {
		t.Errorf("posts for a change that runs now: %d, want 0", len(f.slack.posts))
	}
	if v := f.a.Gate(ctx, deactivateOp(3), 3, "https://hooks.example/1"); v != WaitsForApproval {
		t.Errorf("Gate(3 cards) = %v, want WaitsForApproval", v)
	}
	if waiting, _, err := f.a.Pending(ctx, "U0BOB"); err != nil || len(waiting) != 1 {
		t.Errorf("pending for an approver: %d, %v; want 1", len(waiting), err)
	}
}

// TestApprovalClickedTheMomentItIsPosted: an approver who clicks approve
// before the bot has even heard back from chat.postMessage finds the
// request, stored before it was posted: the approval counts.
func TestApprovalClickedTheMomentItIsPosted(t *testing.T) {
	f := newApprovalFixture(t, "U0BOB")
	ctx := context.Background()
	if v := f.a.Gate(ctx, deactivateOp(3), 3, "https://hooks.example/1"); v != WaitsForApproval {
		t.Fatalf("Gate = %v, want WaitsForApproval", v)
	}
	if !f.slack.clicked {
		t.Fatal("no approval request with an approve button was posted")
	}
	if len(f.slack.ephemerals) != 0 {
		t.Errorf("the approver was told %q, want their approval counted", f.slack.ephemerals)
	}
	_, asked, err := f.a.Pending(ctx, "U0ME")
	if err != nil || len(asked) != 1 || !asked[0].ApprovedByUser("U0BOB") || asked[0].TS == "" {
		t.Fatalf("the request after the early click: %+v, %v; want U0BOB's approval in and the request's ts noted", asked, err)
	}
	if got := f.slack.updates[asked[0].TS]; !strings.Contains(got, "Approved by <@U0BOB>; 1 of 2 approvals in") {
		t.Errorf("request message after the early click = %q, want it to show U0BOB's approval", got)
	}
	if got := f.lastResponse(t); !strings.Contains(got, "Waiting for approval") || !strings.Contains(got, "<#C0APPROVE>") {
		t.Errorf("requester told %q, want to wait for approval in <#C0APPROVE>", got)
	}
	// The second approval runs the change.
	f.a.Click(ctx, slack.InteractionCallback{User: slack.User{ID: "U0CAROL"}}, ActionApprove, asked[0].ID)
	if len(f.executed) != 1 || !strings.Contains(f.executed[0].Params.Title, "approved by <@U0BOB> and <@U0CAROL>") {
		t.Errorf("executed %+v, want the change once, approved by both", f.executed)
	}
	if got := f.slack.updates[asked[0].TS]; !strings.Contains(got, "Approved by <@U0BOB> and <@U0CAROL>") {
		t.Errorf("request message = %q, want it closed as approved by both", got)
	}
}

func (f *approvalFixture) lastResponse(t *testing.T) string {
	t.Helper()
	f.slack.telSlack.mu.Lock()
	defer f.slack.telSlack.mu.Unlock()
	if len(f.slack.responses) == 0 {
		t.Fatal("no response to the requester")
	}
	return f.slack.responses[len(f.slack.responses)-1].Text
}

// TestApprovalNotPostedIsWithdrawn: when the request cannot be posted, it
// is withdrawn, the requester's thread and the requester say nothing was
// changed, and whatever waits on the change is told.
func TestApprovalNotPostedIsWithdrawn(t *testing.T) {
	f := newApprovalFixture(t, "")
	f.slack.failRequests = errors.New("chat.postMessage: internal_error")
	ctx := context.Background()
	if v := f.a.Gate(ctx, deactivateOp(3), 3, "https://hooks.example/1"); v != NotRequested {
		t.Errorf("Gate = %v, want NotRequested", v)
	}
	if got := f.lastResponse(t); !strings.Contains(got, "could not post the approval request, so nothing was changed") {
		t.Errorf("requester told %q, want that nothing was changed", got)
	}
	if got := f.slack.updates["1700000000.000001"]; !strings.Contains(got, "nothing was changed") {
		t.Errorf("requester's thread = %q, want it to say nothing was changed", got)
	}
	if len(f.ended) != 1 {
		t.Errorf("ends told: %q, want one", f.ended)
	}
	if _, asked, _ := f.a.Pending(ctx, "U0ME"); len(asked) != 0 {
		t.Errorf("requests left pending: %+v, want none", asked)
	}
}

// TestApprovalRequestDoesNotAttachTheListAgain: the requester's confirmation
// attached the full target list to the channel; the approval request points
// to it rather than upload the same file again.
func TestApprovalRequestDoesNotAttachTheListAgain(t *testing.T) {
	f := newApprovalFixture(t, "")
	op := deactivateOp(maxPromptLines + 2)
	if v := f.a.Gate(context.Background(), op, len(op.Targets), ""); v != WaitsForApproval {
		t.Fatalf("Gate = %v, want WaitsForApproval", v)
	}
	if len(f.slack.files) != 0 {
		t.Errorf("files uploaded with the approval request: %v, want none (the confirmation attached the list)", f.slack.files)
	}
	if len(f.slack.posts) != 2 {
		t.Fatalf("posts = %d, want the requester's thread and the approval request", len(f.slack.posts))
	}
	var text strings.Builder
	for _, b := range f.slack.posts[1].Blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
			text.WriteString(s.Text.Text)
		}
	}
	if !strings.Contains(text.String(), "2 more not shown (10 of 12 listed). The full list was attached to <#C1> with the request.") {
		t.Errorf("approval request = %q, want it to say how many it left out and where the list is", text.String())
	}
}

// revokedRules is the policy's checker, with one person who has lost every
// permission since asking (left the user group of their role, say).
type revokedRules struct {
	*permissions.Checker
	revoked string
}

func (r revokedRules) Check(ctx context.Context, user, channel, perm string) permissions.Decision {
	if user == r.revoked {
		return permissions.Decision{Permission: perm, Rule: "no role grants " + perm, Message: "You don't have the permission `" + perm + "`."}
	}
	return r.Checker.Check(ctx, user, channel, perm)
}

// TestApprovedChangeOfARequesterWhoLostThePermissionDoesNotRun: the
// request waited while the requester lost the permission; the approval
// that completes it runs nothing, and says why.
func TestApprovedChangeOfARequesterWhoLostThePermissionDoesNotRun(t *testing.T) {
	f := newApprovalFixture(t, "U0BOB")
	ctx := context.Background()
	if v := f.a.Gate(ctx, deactivateOp(3), 3, "https://hooks.example/1"); v != WaitsForApproval {
		t.Fatalf("Gate = %v, want WaitsForApproval", v)
	}
	_, asked, err := f.a.Pending(ctx, "U0ME")
	if err != nil || len(asked) != 1 {
		t.Fatalf("pending: %+v, %v", asked, err)
	}
	f.a.Rules = revokedRules{Checker: f.a.Rules.(*permissions.Checker), revoked: "U0ME"}
	f.a.Click(ctx, slack.InteractionCallback{User: slack.User{ID: "U0CAROL"}}, ActionApprove, asked[0].ID)
	if len(f.executed) != 0 {
		t.Errorf("executed %+v, want nothing: the requester lost the permission", f.executed)
	}
	if len(f.ended) != 1 || !strings.Contains(f.ended[0], "but not run") {
		t.Errorf("ended %q, want one note that the approved change did not run", f.ended)
	}
	if got := f.slack.updates[asked[0].TS]; !strings.Contains(got, "but not run") || !strings.Contains(got, "sim.deactivate") {
		t.Errorf("request message = %q, want it to say the change did not run and why", got)
	}
}
