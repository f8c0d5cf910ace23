package commands

import (
	"context"
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/simfile"
)

// openedViews is a Views whose every view opens.
type openedViews struct{}

func (openedViews) OpenView(context.Context, string, slack.ModalViewRequest) (string, error) {
	return "V0TEST", nil
}
func (openedViews) UpdateView(context.Context, string, string, slack.ModalViewRequest) error {
	return nil
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 2400: "2,400", 10000: "10,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestBulkViewsKeepSlacksLimits: titles and buttons of at most 24
// characters, whatever the action and count.
func TestBulkViewsKeepSlacksLimits(t *testing.T) {
	b := &simBulk{}
	list := simfile.List{Column: "the first column"}
	for i := range 10000 {
		list.Cards = append(list.Cards, switchboard.Number(fmt.Sprintf("32471%06d", i)))
	}
	for action, change := range simChanges {
		v := bulkModal(action, "C0OPS0000")
		p := b.previewView("id", switchboard.Operation{ChannelID: "C0OPS0000", Params: switchboard.Params{Title: "x"}}, change, list, "the pasted cards")
		for _, text := range []string{v.Title.Text, v.Submit.Text, v.Close.Text, p.Title.Text, p.Submit.Text, p.Close.Text} {
			if utf8.RuneCountInString(text) > 24 {
				t.Errorf("%s: %q is over Slack's 24 characters", action, text)
			}
		}
		if want := change.verb + " 10,000 cards"; p.Submit.Text != want {
			t.Errorf("%s: button %q, want %q", action, p.Submit.Text, want)
		}
	}
}
