package main

import (
	"strings"
	"testing"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// filesIn returns the files shared to channel.
func (h *harness) filesIn(channel string) []slacktest.File {
	var out []slacktest.File
	for _, f := range h.slack.Files() {
		if f.Channel == channel {
			out = append(out, f)
		}
	}
	return out
}

// privateFiles returns the files shared in direct messages.
func (h *harness) privateFiles() []slacktest.File {
	var out []slacktest.File
	for _, f := range h.slack.Files() {
		if strings.HasPrefix(f.Channel, "D") {
			out = append(out, f)
		}
	}
	return out
}

// A confirmation that names only ten of its targets sends the full list to
// the requester alone; the channel gets it with the confirmation, and a
// cancelled change leaves nothing in it.
func TestConfirmationListIsPrivateUntilConfirmed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cards := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

	_, reply := h.command(opsUser, opsChan, simCommand("deactivate", cards...))
	if !strings.Contains(string(reply.Blocks), "2 more not shown (10 of 12 listed). The full list follows as a CSV file in a direct message to you") {
		t.Fatalf("prompt = %s, want it to say the full list goes to the requester", reply.Blocks)
	}
	h.waitFor("the full list in a direct message", func() bool { return len(h.privateFiles()) == 1 })
	if f := h.privateFiles()[0]; strings.Count(string(f.Content), "\n") != len(cards)+1 {
		t.Errorf("private file %s holds %q, want a header and %d rows", f.Name, f.Content, len(cards))
	}
	cancel := h.click(opsUser, opsChan, "cancel", reply.button(t, "cancel"))
	h.telResponse(cancel, "Cancelled")
	if files := h.filesIn(opsChan); len(files) != 0 {
		t.Errorf("files in the channel after a cancel: %+v, want none", files)
	}

	_, reply = h.command(opsUser, opsChan, simCommand("deactivate", cards...))
	h.waitFor("the second list in a direct message", func() bool { return len(h.privateFiles()) == 2 })
	if files := h.filesIn(opsChan); len(files) != 0 {
		t.Errorf("files in the channel before the click: %+v, want none", files)
	}
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the full list in the channel once confirmed", func() bool { return len(h.filesIn(opsChan)) == 1 })
}

// With mask_numbers, the full list of a confirmation shows the numbers
// whole to the requester, as the prompt's own lines do (they must see what
// they confirm), and masked in the channel once confirmed.
func TestConfirmationListIsWholeForTheRequesterAndMaskedInTheChannel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(testPolicy+"mask_numbers: true\n"))
	cards := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

	_, reply := h.command(opsUser, opsChan, simCommand("deactivate", cards...))
	h.waitFor("the full list in a direct message", func() bool { return len(h.privateFiles()) == 1 })
	if f := h.privateFiles()[0]; !strings.Contains(string(f.Content), "+32 471 00 00 12") {
		t.Errorf("the requester's file %s holds %q, want the numbers whole (+32 471 00 00 12)", f.Name, f.Content)
	}
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the full list in the channel once confirmed", func() bool { return len(h.filesIn(opsChan)) == 1 })
	if f := h.filesIn(opsChan)[0]; strings.Contains(string(f.Content), "00 00 12") || !strings.Contains(string(f.Content), "••") {
		t.Errorf("the channel's file %s holds %q, want the numbers masked", f.Name, f.Content)
	}
}
