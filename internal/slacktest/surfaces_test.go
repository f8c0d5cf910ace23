package slacktest_test

import (
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

func TestDirectMessages(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)

	ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U0AAAAAAA"}})
	if err != nil {
		t.Fatalf("conversations.open: %v", err)
	}
	if !ch.IsIM || ch.ID == "" || ch.ID[0] != 'D' {
		t.Fatalf("got channel %+v, want an IM channel D…", ch.GroupConversation.Conversation)
	}
	again, _, already, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U0AAAAAAA"}})
	if err != nil || again.ID != ch.ID || !already {
		t.Fatalf("second open: got %v, already_open %v, err %v; want %s, true", again.ID, already, err, ch.ID)
	}
	if _, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U0AAAAAAA", "U0BBBBBBB"}}); slackError(err) != "not_supported" {
		t.Errorf("group DM: got %v, want not_supported", err)
	}

	posted, _, err := api.PostMessageContext(ctx, "U0AAAAAAA", slack.MsgOptionText("by user ID", false))
	if err != nil {
		t.Fatalf("post to user ID: %v", err)
	}
	if posted != ch.ID {
		t.Errorf("post to user ID answered channel %q, want the DM %q", posted, ch.ID)
	}
	if _, _, err := api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText("by DM channel", false)); err != nil {
		t.Fatalf("post to DM channel: %v", err)
	}
	got := fake.DirectMessages("U0AAAAAAA")
	if len(got) != 2 || got[0].Text != "by user ID" || got[1].Text != "by DM channel" {
		t.Errorf("got direct messages %+v, want both posts in order", got)
	}
	if other := fake.DirectMessages("U0BBBBBBB"); len(other) != 0 {
		t.Errorf("another user got %+v, want nothing", other)
	}
}

func TestViewsPublish(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)

	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{textBlock("*PRIVATE*")}}}
	resp, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U0AAAAAAA", View: home})
	if err != nil {
		t.Fatalf("views.publish: %v", err)
	}
	home.Blocks.BlockSet = []slack.Block{textBlock("*ON_DUTY*")}
	if _, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U0AAAAAAA", View: home}); err != nil {
		t.Fatalf("views.publish again: %v", err)
	}
	views := fake.PublishedViews("U0AAAAAAA")
	if len(views) != 2 || views[0].ID != resp.View.ID {
		t.Fatalf("got %d views (first %q), want 2, the first %q", len(views), views[0].ID, resp.View.ID)
	}
	last, ok := fake.HomeView("U0AAAAAAA")
	if !ok || len(last.View.Blocks.BlockSet) != 1 {
		t.Fatalf("HomeView: got %+v, %v", last, ok)
	}
	if sec, isSection := last.View.Blocks.BlockSet[0].(*slack.SectionBlock); !isSection || sec.Text.Text != "*ON_DUTY*" {
		t.Errorf("got last view block %#v, want the ON_DUTY section", last.View.Blocks.BlockSet[0])
	}
	if _, ok := fake.HomeView("U0BBBBBBB"); ok {
		t.Error("another user has a view, want none")
	}

	modal := slack.HomeTabViewRequest{Type: slack.VTModal}
	if _, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U0AAAAAAA", View: modal}); slackError(err) != "invalid_arguments" {
		t.Errorf("publish a modal: got %v, want invalid_arguments", err)
	}
}

func TestFunctionCompletions(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)

	if err := api.FunctionCompleteSuccessContext(ctx, "Fx0001",
		slack.FunctionCompleteSuccessRequestOptionOutput(map[string]string{"profile": "ON_DUTY"})); err != nil {
		t.Fatalf("completeSuccess: %v", err)
	}
	if err := api.FunctionCompleteErrorContext(ctx, "Fx0002", "denied: fmu.self is needed"); err != nil {
		t.Fatalf("completeError: %v", err)
	}
	if err := api.FunctionCompleteErrorContext(ctx, "Fx0003", ""); slackError(err) != "invalid_arguments" {
		t.Errorf("completeError without text: got %v, want invalid_arguments", err)
	}
	got := fake.FunctionCompletions("")
	if len(got) != 2 {
		t.Fatalf("got %d completions, want 2: %+v", len(got), got)
	}
	if c := got[0]; c.ExecutionID != "Fx0001" || !c.Success || c.Outputs["profile"] != "ON_DUTY" {
		t.Errorf("got %+v, want Fx0001 succeeded with profile ON_DUTY", c)
	}
	if c := fake.FunctionCompletions("Fx0002"); len(c) != 1 || c[0].Success || c[0].Error != "denied: fmu.self is needed" {
		t.Errorf("got %+v, want Fx0002 failed with its reason", c)
	}
}

func TestAppHomeOpened(t *testing.T) {
	fake := slacktest.New(t)
	events := startRecordingBot(t, fake)
	ctx := testContext(t)
	ack, err := fake.AppHomeOpened(ctx, "U0AAAAAAA")
	if err != nil {
		t.Fatalf("AppHomeOpened: %v", err)
	}
	evt := receive(ctx, t, events)
	apiEvent, _ := evt.Data.(slackevents.EventsAPIEvent)
	opened, isOpened := apiEvent.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !isOpened {
		t.Fatalf("got inner event %T, want *slackevents.AppHomeOpenedEvent", apiEvent.InnerEvent.Data)
	}
	if opened.User != "U0AAAAAAA" || opened.Tab != "home" || opened.Channel != fake.DMChannel("U0AAAAAAA") {
		t.Errorf("got %+v, want user U0AAAAAAA, tab home, their DM channel", opened)
	}
	if evt.Request == nil || evt.Request.EnvelopeID != ack.EnvelopeID {
		t.Errorf("got request %+v, want envelope %s", evt.Request, ack.EnvelopeID)
	}
}
