package main

import (
	"strings"
	"testing"
)

// TestFleetChangeWaitsForApproval: a change from a file that an approval
// rule covers (targets_over) sends nothing when its preview is submitted;
// the request waits in the rule's channel, and once approved every card
// goes, once.
func TestFleetChangeWaitsForApproval(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(leadsPolicy("4h")))
	cards := addFleet(h.enco, 5)
	var pasted strings.Builder
	for _, c := range cards {
		pasted.WriteString("+" + c + "\n")
	}
	modal := h.openBulkForm("/sim deactivate")
	ack, err := h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, bulkValues("deactivate", nil, pasted.String()))
	if err != nil {
		t.Fatal(err)
	}
	preview := submitAnswer(t, ack)
	if preview.View == nil || !strings.Contains(viewText(preview.View.Blocks), "asks for an approval before it runs") {
		t.Fatalf("preview = %s, want it to say an approval comes first", ack.Payload)
	}
	ack, err = h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := submitAnswer(t, ack); a.View == nil || !strings.Contains(viewText(a.View.Blocks), "asks for an approval first") {
		t.Errorf("confirmation answered %s, want it to say the change waits for an approval", ack.Payload)
	}
	req := h.requestMessage(opsChan)
	if !strings.Contains(string(req.Blocks), "big-deactivations") {
		t.Errorf("request = %q %s, want the rule big-deactivations", req.Text, req.Blocks)
	}
	if n := h.m2mRequests(); n != 0 {
		t.Fatalf("EnCo got %d change requests before the approval, want none", n)
	}
	h.click(opsUser, opsChan, "approve", buttonValue(t, req.Blocks, "approve"))
	if n := h.m2mRequests(); n != 0 {
		t.Fatalf("the requester's own approval sent %d requests, want none", n)
	}
	h.click(adminUser, opsChan, "approve", buttonValue(t, req.Blocks, "approve"))
	h.waitFor("the five cards deactivated after the approval", func() bool {
		for _, p := range h.parents(opsChan) {
			if strings.Contains(p.Text, "all 5 done") {
				return true
			}
		}
		return false
	})
	counts, _ := h.sentDevices("deactivation")
	for _, c := range cards {
		if counts[c] != 1 {
			t.Errorf("card %s sent %d times, want once", c, counts[c])
		}
	}
}
