package console

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/render"
)

// fakeBot answers every command with a prompt of two buttons and records
// what the console hands it.
type fakeBot struct {
	mu       sync.Mutex
	commands []slack.SlashCommand
	actions  []slack.InteractionCallback
}

func (b *fakeBot) Command(ctx context.Context, sc slack.SlashCommand) (commands.Reply, func(context.Context)) {
	b.mu.Lock()
	b.commands = append(b.commands, sc)
	b.mu.Unlock()
	return commands.Reply{Text: "Go ahead?", Blocks: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Go ahead?* :warning:", false, false), nil, nil),
		slack.NewActionBlock("prompt",
			slack.NewButtonBlockElement("confirm", "op1", slack.NewTextBlockObject(slack.PlainTextType, "Go", false, false)),
			slack.NewButtonBlockElement("cancel", "op1", slack.NewTextBlockObject(slack.PlainTextType, "Stop", false, false)),
		),
	}}, nil
}

func (b *fakeBot) Action(ctx context.Context, cb slack.InteractionCallback) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.actions = append(b.actions, cb)
}

func (b *fakeBot) AppHomeOpened(ctx context.Context, user string) {}

func (b *fakeBot) RunStep(ctx context.Context, s commands.Step) {}

func (b *fakeBot) ViewSubmission(context.Context, slack.InteractionCallback) (*slack.ViewSubmissionResponse, func(context.Context)) {
	return nil, nil
}

func (b *fakeBot) Go(ctx context.Context, work func(context.Context)) { go work(ctx) }

// TestConsoleHandsCommandsAndClicksToTheBot types a command (with a
// mention), a wrong number and a button's number as someone else, and checks
// what the bot got and what the screen shows.
func TestConsoleHandsCommandsAndClicksToTheBot(t *testing.T) {
	bot := &fakeBot{}
	var out bytes.Buffer
	c := New(Config{In: strings.NewReader("/sim status @bob\n3\n/as @alice\n2\n"), Out: &out, EncoURL: "http://sandbox"})
	if err := c.Run(context.Background(), bot); err != nil {
		t.Fatal(err)
	}
	screen := out.String()
	for _, want := range []string{
		"you are @you (U0CONSOLE1) in #console. EnCo sandbox at http://sandbox",
		"(only you) Go ahead? ⚠️\n  [1] Go   [2] Stop   (type the number)\n> ",
		"There is no button 3; the buttons shown are 1 or 2.",
		"You are now @alice (U0ALICE001).",
		"@alice> ",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen does not show %q:\n%s", want, screen)
		}
	}
	if len(bot.commands) != 1 || bot.commands[0].Text != "status <@U0BOB00001|bob>" || bot.commands[0].UserID != UserID || bot.commands[0].ChannelID != ChannelID {
		t.Errorf("commands = %+v, want /sim status with @bob as a mention, from @you in #console", bot.commands)
	}
	if len(bot.actions) != 1 || bot.actions[0].User.ID != "U0ALICE001" || len(bot.actions[0].ActionCallback.BlockActions) != 1 ||
		bot.actions[0].ActionCallback.BlockActions[0].ActionID != "cancel" || bot.actions[0].ActionCallback.BlockActions[0].Value != "op1" {
		t.Errorf("actions = %+v, want @alice's click on cancel op1", bot.actions)
	}
	if got := c.Handled(); got != 4 {
		t.Errorf("Handled() = %d, want the 4 lines typed", got)
	}
	if got := c.Buttons(); len(got) != 2 || got[0] != (Button{Number: 1, Label: "Go", ActionID: "confirm", Value: "op1"}) || got[1].Number != 2 {
		t.Errorf("Buttons() = %+v, want Go and Stop still shown (a click does not remove them)", got)
	}
}

// TestDirectMessagesAreNamedOneWay: a message sent to the person's user ID
// and one sent to the channel OpenDM returns are both shown as a direct
// message, in posts and in the links a workflow step is given.
func TestDirectMessagesAreNamedOneWay(t *testing.T) {
	ctx := context.Background()
	c := New(Config{Out: &bytes.Buffer{}})
	dm, err := c.OpenDM(ctx, UserID)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.PostMessage(ctx, dm, render.Message{Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	link, err := c.Permalink(ctx, dm, ts)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{UserID, dm} {
		if got := channelName(id); got != "(direct message)" {
			t.Errorf("channelName(%s) = %q, want (direct message)", id, got)
		}
	}
	if link != "(direct message) [1]" {
		t.Errorf("Permalink = %q, want (direct message) [1]", link)
	}
	if got := channelName(ChannelID); got != "#console" {
		t.Errorf("channelName(%s) = %q, want #console", ChannelID, got)
	}
}
