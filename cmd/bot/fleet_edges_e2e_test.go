package main

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
)

// previewPasted submits the form of a change from a file with cards pasted
// and returns the answer.
func (h *harness) previewPasted(action string, cards []string) slack.ViewSubmissionResponse {
	h.t.Helper()
	modal := h.openBulkForm("/sim bulk")
	ack, err := h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, bulkValues(action, nil, strings.Join(cards, "\n")))
	if err != nil {
		h.t.Fatal(err)
	}
	return submitAnswer(h.t, ack)
}

// TestFleetChangeCountsAgainstTheAllowance: a change from a file is one
// change of the person's allowance per minute, however many cards it
// names, as a typed change is; past the allowance the form is answered
// with the reason, no preview is kept, the refusal is audited, and
// nothing goes to EnCo.
func TestFleetChangeCountsAgainstTheAllowance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(strings.Replace(fleetPolicy, "limits:\n", "limits:\n  changes_per_minute: 2\n", 1)))
	cards := addFleet(h.enco, 30)

	// Thirty cards are one change, not thirty.
	if a := h.previewPasted("deactivate", cards); a.ResponseAction != slack.RAUpdate || a.View == nil {
		t.Fatalf("first change from a file: %+v, want its preview", a)
	}
	// A typed change is the second.
	if _, reply := h.command(opsUser, opsChan, "/sim deactivate "+cards[0]); !strings.Contains(reply.Text, "Confirm or cancel") {
		t.Fatalf("typed change: %q, want its confirmation", reply.Text)
	}
	// The third, from a file, is past the allowance.
	a := h.previewPasted("deactivate", cards[:5])
	if a.ResponseAction != slack.RAErrors || !strings.Contains(a.Errors["pasted"], "2 changes in the last minute") {
		t.Fatalf("change past the allowance answered %+v, want errors on the pasted block naming the allowance", a)
	}
	if !strings.Contains(a.Errors["pasted"], "nothing was prepared") {
		t.Errorf("refusal %q does not say nothing was prepared", a.Errors["pasted"])
	}
	limited := h.auditWhere(func(e switchboard.AuditEntry) bool {
		return e.UserID == opsUser && e.Decision == "rate limited" && e.Command == "/sim bulk deactivate"
	})
	if len(limited) != 1 {
		t.Errorf("rate-limited entries for the change from a file: %d, want 1", len(limited))
	}
	// And the changes from a file counted: a typed change is refused too.
	if _, reply := h.command(opsUser, opsChan, "/sim deactivate "+cards[1]); !strings.Contains(reply.Text, "2 changes in the last minute") {
		t.Errorf("typed change after two: %q, want it refused by the allowance", reply.Text)
	}
	if n := h.m2mRequests(); n != 0 {
		t.Errorf("EnCo M2M requests = %d, want none", n)
	}
}
