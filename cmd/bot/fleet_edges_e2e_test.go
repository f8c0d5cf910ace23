package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
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

// TestFleetOfNumbersExpiresCountingTheUnanswered: a change of thirty
// numbers from a file, in requests of ten, of which EnCo answers eighteen
// before it expires. Its results name ICCIDs, so the expiry cannot name
// the twelve numbers without an answer: it counts them, says why, and
// points at the report, which lists the eighteen that answered; it does
// not send the reader to thread replies that a change this size does not
// post for cards that succeeded.
func TestFleetOfNumbersExpiresCountingTheUnanswered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(fleetPolicy), withConfig(func(c *Config) { c.EncoM2MBatch = 10 }))
	cards := addFleet(h.enco, 30)
	h.enco.SetDropCallbacks(true)
	var file strings.Builder
	file.WriteString("MSISDN;Site\n")
	for i, c := range cards {
		fmt.Fprintf(&file, "0%s;Site %d\n", c[2:], i)
	}
	shared := h.slack.AddFile("closed-sites.csv", "csv", []byte(file.String()))
	parent := h.deactivateFromFile(shared)
	dropped := h.droppedCallbacks(30)
	if got := resend(t, h.cfg.PublicURL, dropped[:18]); !allStatus(got, http.StatusOK) {
		t.Fatalf("callbacks answered %v, want 200 each", got)
	}
	op, ok := h.operationOfToken(callbackToken(dropped[0]))
	if !ok {
		t.Fatal("no operation for the callbacks' token")
	}
	h.waitFor("eighteen results", func() bool {
		res, err := h.store.Results(h.ctx, op.ID)
		return err == nil && len(res) == 18
	})

	if n, err := h.main.expirer.Sweep(h.ctx, time.Now().Add(25*time.Hour)); err != nil || n != 1 {
		t.Fatalf("sweep expired %d (%v), want the change", n, err)
	}
	var notice string
	h.waitFor("the expiry notice", func() bool {
		for _, m := range h.slack.Thread(opsChan, parent.TS) {
			if strings.Contains(m.Text, "expired") {
				notice = m.Text
			}
		}
		return notice != ""
	})
	for _, want := range []string{"12 of 30", "offers no way to look up the ICCID of a number", "file"} {
		if !strings.Contains(notice, want) {
			t.Errorf("expiry notice lacks %q: %q", want, notice)
		}
	}
	if strings.Contains(notice, "replies above") {
		t.Errorf("expiry notice sends the reader to replies the thread does not have: %q", notice)
	}
	for _, c := range cards {
		if strings.Contains(notice, c[5:]) {
			t.Errorf("expiry notice names number %s as unanswered, which it cannot know: %q", c, notice)
		}
	}
	rows := h.reportRows(opsChan, parent.TS)
	done := 0
	for _, row := range rows {
		if row[2] == "done" && row[1] == "iccid" {
			done++
		}
	}
	if done != 18 || len(rows) != 18 {
		t.Errorf("report: %d rows, %d done by ICCID; want the 18 that answered: %v", len(rows), done, rows)
	}
}

// TestFleetOfIMSIsReportsEachCardOnce: EnCo's answers name ICCIDs for a
// file of IMSIs too. The report lists each card once, under the ICCID
// EnCo gave, and the summary says why the IMSIs are not named.
func TestFleetOfIMSIsReportsEachCardOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(fleetPolicy), withConfig(func(c *Config) { c.EncoM2MBatch = 10 }))
	addFleet(h.enco, 30)
	var file strings.Builder
	file.WriteString("imsi\n")
	for i := range 30 {
		fmt.Fprintf(&file, "2060199%08d\n", i)
	}
	shared := h.slack.AddFile("imsis.csv", "csv", []byte(file.String()))
	parent := h.deactivateFromFile(shared)
	rows := h.reportRows(opsChan, parent.TS)
	outcomes := map[string]int{}
	for _, row := range rows {
		outcomes[row[1]+" "+row[2]]++
	}
	if len(rows) != 30 || outcomes["iccid done"] != 30 {
		t.Errorf("report: %d rows, %v; want 30 ICCIDs done", len(rows), outcomes)
	}
	var summary string
	for _, m := range h.slack.Thread(opsChan, parent.TS) {
		if strings.Contains(m.Text, "Finished") {
			summary = m.Text
		}
	}
	if !strings.Contains(summary, "all 30 succeeded") || !strings.Contains(summary, "IMSI") {
		t.Errorf("summary = %q, want all 30 succeeded and why the IMSIs are not named", summary)
	}
}

// TestFleetRefusedActionsDoNotFloodTheTrail: a person submitting the form
// again and again for an action they may not take is refused each time,
// but past the allowance of refused commands the refusals are no longer
// written one by one, as for typed commands.
func TestFleetRefusedActionsDoNotFloodTheTrail(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(strings.Replace(fleetPolicy, "limits:\n", "limits:\n  changes_per_minute: 2\n", 1)))
	cards := addFleet(h.enco, 3)
	var last slack.ViewSubmissionResponse
	for range 5 {
		last = h.previewPasted("terminate", cards)
		if last.ResponseAction != slack.RAErrors || last.Errors["action"] == "" {
			t.Fatalf("terminate answered %+v, want errors on the action block", last)
		}
	}
	if !strings.Contains(last.Errors["action"], "2 of your commands were refused in the last minute") {
		t.Errorf("fifth refusal = %q, want it past the allowance of refusals", last.Errors["action"])
	}
	denied := h.auditWhere(func(e switchboard.AuditEntry) bool {
		return e.UserID == opsUser && e.Command == "/sim bulk terminate" && e.Decision == "denied"
	})
	if len(denied) != 2 {
		t.Errorf("denied entries = %d, want the allowance's 2", len(denied))
	}
	if n := h.m2mRequests(); n != 0 {
		t.Errorf("EnCo M2M requests = %d, want none", n)
	}
}

// deactivateFromFile deactivates the cards of a shared file through the
// form, its preview and the confirmation, and returns the change's parent
// message.
func (h *harness) deactivateFromFile(shared slack.File) slacktest.Message {
	h.t.Helper()
	modal := h.openBulkForm("/sim deactivate")
	ack, err := h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, bulkValues("deactivate", []slack.File{shared}, ""))
	if err != nil || submitAnswer(h.t, ack).ResponseAction != slack.RAUpdate {
		h.t.Fatalf("preview: %s, %v", ack.Payload, err)
	}
	if _, err := h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, nil); err != nil {
		h.t.Fatal(err)
	}
	h.waitFor("the parent message", func() bool { return len(h.parents(opsChan)) == 1 })
	return h.parents(opsChan)[0]
}
