package commands

import (
	"context"
	"fmt"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/simfile"
	"github.com/switchboard-bot/switchboard/slackpost"
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

// slowFiles is a SharedFiles whose download waits until release is closed.
type slowFiles struct {
	release chan struct{}
	content []byte
}

func (f slowFiles) DownloadFile(ctx context.Context, id string, max int64) (slackpost.SharedFile, error) {
	select {
	case <-f.release:
	case <-ctx.Done():
		return slackpost.SharedFile{}, ctx.Err()
	}
	return slackpost.SharedFile{Name: "cards.csv", Content: f.content}, nil
}

// updatedViews is a Views that hands every views.update to a channel.
type updatedViews struct{ updates chan slack.ModalViewRequest }

func (v updatedViews) OpenView(context.Context, string, slack.ModalViewRequest) (string, error) {
	return "V1", nil
}
func (v updatedViews) UpdateView(_ context.Context, _, _ string, view slack.ModalViewRequest) error {
	v.updates <- view
	return nil
}

// TestBulkPreviewOfASlowFileFollowsByUpdate: when the file takes longer
// to read than the ack may wait, the ack shows that it is being read, and
// the preview follows by views.update.
func TestBulkPreviewOfASlowFileFollowsByUpdate(t *testing.T) {
	f := newTelFixture()
	store := f.store
	views := updatedViews{updates: make(chan slack.ModalViewRequest, 1)}
	files := slowFiles{release: make(chan struct{}), content: []byte("0471000001\n0471000002\n")}
	b := &simBulk{
		gate:          &gate{checker: telChecker{"sim.deactivate": true}, trail: store, counters: store, log: f.cfg.Log},
		confirmations: store, views: views, files: files, readBudget: 10 * time.Millisecond, log: f.cfg.Log,
	}
	form := bulkModal("deactivate", "C0CHAN")
	cb := slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: "U0ME"},
		View: slack.View{ID: "V1", CallbackID: ViewSIMBulk, PrivateMetadata: form.PrivateMetadata, State: &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
			blockAction: {blockAction: {SelectedOption: slack.OptionBlockObject{Value: "deactivate"}}},
			blockFile:   {blockFile: {Files: []slack.File{{ID: "F1", Name: "cards.csv"}}}},
		}}}}
	resp, after := b.viewSubmission(context.Background(), cb)
	if resp == nil || resp.ResponseAction != slack.RAUpdate || resp.View == nil || resp.View.Title.Text != "Reading the file" || after == nil {
		t.Fatalf("ack = %+v, want an update to the reading view and work to follow", resp)
	}
	close(files.release)
	go after(context.Background())
	select {
	case v := <-views.updates:
		if v.CallbackID != ViewSIMBulkPreview || v.Submit == nil || v.Submit.Text != "Deactivate 2 cards" {
			t.Errorf("views.update = %q with button %+v, want the preview of 2 cards", v.CallbackID, v.Submit)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no views.update with the preview")
	}
}
