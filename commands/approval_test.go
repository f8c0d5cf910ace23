package commands

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// quickSlack is a Slack where an approver clicks an approval request's
// approve button the moment it is posted: from inside chat.postMessage,
// before the post returns its ts. The click carries the message's ts, as
// Slack's do. failPosts makes every post fail instead.
type quickSlack struct {
	*telSlack
	r         *telFixture
	approver  string
	failPosts error
	// clickChannel, when set, is the channel the click says it came from.
	clickChannel string

	mu         sync.Mutex
	clicked    bool
	updates    map[string]string // ts -> text
	ephemerals []string
}

func (s *quickSlack) PostMessage(ctx context.Context, channel string, m render.Message) (string, error) {
	if s.failPosts != nil {
		return "", s.failPosts
	}
	ts, err := s.telSlack.PostMessage(ctx, channel, m)
	id := buttonValue(m, ActionApprove)
	s.mu.Lock()
	click := id != "" && !s.clicked
	s.clicked = s.clicked || click
	s.mu.Unlock()
	if click {
		from := cmp.Or(s.clickChannel, channel)
		s.r.router().Action(ctx, slack.InteractionCallback{
			Type:      slack.InteractionTypeBlockActions,
			User:      slack.User{ID: s.approver},
			Channel:   slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: from}}},
			Container: slack.Container{Type: "message", MessageTs: ts, ChannelID: from},
			ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{
				ActionID: ActionApprove, Value: id, BlockID: "approve:" + id,
			}}},
		})
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

// terminatingSIM counts the M2M requests sent.
type terminatingSIM struct {
	SIMAPI
	mu       sync.Mutex
	requests []enco.M2MAction
}

func (s *terminatingSIM) RequestM2M(_ context.Context, a enco.M2MAction, _ []enco.Device, _ string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, a)
	return "TN1", nil
}

func terminateOp() switchboard.Operation {
	return switchboard.Operation{ID: state.NewHex(16), Kind: switchboard.KindSIMTerminate, UserID: "U0ME", ChannelID: "C1", Status: switchboard.StatusPending,
		Expected: 1, Targets: []switchboard.Target{switchboard.Number("32471000005")},
		Params: switchboard.Params{Title: "Terminate 1 SIM card", Action: string(enco.Termination)}}
}

// TestApprovalClickedTheMomentItIsPosted: an approver who clicks approve
// before the bot has even heard back from chat.postMessage finds the
// approval: it goes through, the request is closed by the ts the click
// carries, and the requester is told it was answered.
func TestApprovalClickedTheMomentItIsPosted(t *testing.T) {
	f := newTelFixture(switchboard.PermSIMTerminate)
	rdb, prefix := redistest.New(t)
	st := state.New(rdb, prefix)
	useStore(&f.cfg, st)
	sim := &terminatingSIM{}
	f.cfg.EnCo.SIM = sim
	qs := &quickSlack{telSlack: f.slack, r: f, approver: "U0BOB", updates: map[string]string{}}
	f.cfg.Slack.Slack = qs

	op := terminateOp()
	f.router().clicks.requestApproval(context.Background(), slack.InteractionCallback{ResponseURL: "https://hooks.example/1"}, op)

	if !qs.clicked {
		t.Fatal("no approval request with an approve button was posted")
	}
	for _, e := range qs.ephemerals {
		if strings.Contains(e, "expired") {
			t.Errorf("the approver was told %q", e)
		}
	}
	if len(sim.requests) != 1 || sim.requests[0] != enco.Termination {
		t.Fatalf("termination requests = %v, want the approved one", sim.requests)
	}
	request := "1700000000.000001" // the first post's ts
	if got := qs.updates[request]; !strings.Contains(got, "Approved by <@U0BOB>") {
		t.Errorf("approval request after the click = %q, want it closed as approved", got)
	}
	if got := f.lastResponse(t); !strings.Contains(got, "answered there already") {
		t.Errorf("requester told %q, want that the request was answered", got)
	}
	conf, pending, err := st.PeekConfirmation(context.Background(), buttonValue(f.slack.posts[0], ActionApprove))
	if err != nil || pending {
		t.Errorf("approval after the click: %+v, pending %v (err %v); want it used up, not noted back", conf, pending, err)
	}
}

// TestApprovalClickedElsewhereBeforeItIsPosted: a click on an approval
// whose request has no ts yet, from another channel than the operation's,
// cannot be on the request: it changes nothing, the clicker is told the
// request is being posted, and the approval stays for the real request.
func TestApprovalClickedElsewhereBeforeItIsPosted(t *testing.T) {
	f := newTelFixture(switchboard.PermSIMTerminate)
	rdb, prefix := redistest.New(t)
	st := state.New(rdb, prefix)
	useStore(&f.cfg, st)
	sim := &terminatingSIM{}
	f.cfg.EnCo.SIM = sim
	qs := &quickSlack{telSlack: f.slack, r: f, approver: "U0BOB", updates: map[string]string{}, clickChannel: "C0OTHER"}
	f.cfg.Slack.Slack = qs

	op := terminateOp()
	f.router().clicks.requestApproval(context.Background(), slack.InteractionCallback{ResponseURL: "https://hooks.example/1"}, op)

	if !qs.clicked {
		t.Fatal("no approval request with an approve button was posted")
	}
	if len(sim.requests) != 0 || len(qs.updates) != 0 {
		t.Errorf("after the click: termination requests %v, request updates %v; want none", sim.requests, qs.updates)
	}
	want := ":hourglass: This approval request is still being posted in <#C1>; use the buttons there once it appears. Nothing was changed."
	if len(qs.ephemerals) != 1 || qs.ephemerals[0] != want {
		t.Errorf("clicker told %q, want %q", qs.ephemerals, want)
	}
	if got := f.lastResponse(t); !strings.Contains(got, "Waiting for approval") {
		t.Errorf("requester told %q, want to wait for approval", got)
	}
	conf, pending, err := st.PeekConfirmation(context.Background(), buttonValue(f.slack.posts[0], ActionApprove))
	if err != nil || !pending || conf.Data["ts"] != "1700000000.000001" {
		t.Errorf("approval after the click: %+v, pending %v (err %v); want it pending with the request's ts", conf, pending, err)
	}
}

// TestApprovalNotPostedIsWithdrawn: when the request cannot be posted, the
// approval stored for it is withdrawn, and the requester is told nothing
// was changed.
func TestApprovalNotPostedIsWithdrawn(t *testing.T) {
	f := newTelFixture(switchboard.PermSIMTerminate)
	qs := &quickSlack{telSlack: f.slack, r: f, updates: map[string]string{}, failPosts: errors.New("chat.postMessage: internal_error")}
	f.cfg.Slack.Slack = qs

	f.router().clicks.requestApproval(context.Background(), slack.InteractionCallback{ResponseURL: "https://hooks.example/1"}, terminateOp())

	if got := f.lastResponse(t); !strings.Contains(got, "could not post the approval request, so nothing was changed") {
		t.Errorf("requester told %q, want that nothing was changed", got)
	}
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	if len(f.store.confs) != 0 {
		t.Errorf("approvals left pending: %+v, want none", f.store.confs)
	}
}

// TestApprovalNotesTheRequestsTS: an approval clicked later finds the ts of
// its request in the store.
func TestApprovalNotesTheRequestsTS(t *testing.T) {
	f := newTelFixture(switchboard.PermSIMTerminate)
	f.router().clicks.requestApproval(context.Background(), slack.InteractionCallback{ResponseURL: "https://hooks.example/1"}, terminateOp())
	if got := f.lastResponse(t); !strings.Contains(got, "Waiting for approval") {
		t.Errorf("requester told %q, want to wait for approval", got)
	}
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	if len(f.store.confs) != 1 || f.store.confs[0].Data["ts"] != "1700000000.000001" {
		t.Errorf("approvals = %+v, want one noting the request's ts", f.store.confs)
	}
}
