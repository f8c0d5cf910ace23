package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-bot/switchboard/slackpost"
)

// TestStepThreadURLIsAPermalinkOrTheChannel: a SIM change step's thread_url
// is the thread's permalink from chat.getPermalink, asked again when Slack
// fails for a moment; when Slack refuses for good (the message is gone), it
// is a link that opens the channel, never empty.
func TestStepThreadURLIsAPermalinkOrTheChannel(t *testing.T) {
	h := newHarness(t, withPolicy(stepPolicy))
	tests := []struct {
		name, slackError, user string
		permalink              bool
	}{
		{"passing failure", "internal_error", opsUser, true},
		{"message gone", "message_not_found", opsUser2, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.slack.FailNext("chat.getPermalink", 1, tt.slackError)
			inputs := simChangeInputs(tt.user, "deactivate", demoMSISDN(1+i))
			inputs["channel_id"] = opsChan
			exec := h.step("sim_change", inputs)
			h.click(tt.user, h.slack.DMChannel(tt.user), "confirm", h.dmButton(tt.user, "confirm"))
			got := h.completion(exec)
			h.completedOnce(exec)
			parents := h.parents(opsChan)
			want := slackpost.ChannelLink(opsChan)
			if tt.permalink {
				want = fmt.Sprintf("https://switchboard-test.slack.com/archives/%s/p%s", opsChan, strings.ReplaceAll(parents[i].TS, ".", ""))
			}
			if !got.Success || got.Outputs["thread_url"] != want {
				t.Errorf("completion %+v: want success with thread_url %s", got, want)
			}
		})
	}
	if n := len(h.slack.Calls("chat.getPermalink")); n != 3 {
		t.Errorf("chat.getPermalink calls = %d, want 3 (the passing failure asked again)", n)
	}
}
