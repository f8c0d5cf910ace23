package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// fleetCard is card i of the cards a fleet test adds to the sandbox.
func fleetCard(i int) (msisdn, iccid string) {
	return fmt.Sprintf("32471%06d", 500000+i), fmt.Sprintf("893201099%011d", i)
}

// addFleet adds n active cards to the sandbox and returns their MSISDNs.
func addFleet(sb *sandbox.Sandbox, n int) []string {
	out := make([]string, n)
	for i := range n {
		msisdn, iccid := fleetCard(i)
		sb.AddSIM(sandbox.SIM{MSISDN: msisdn, ICCID: iccid, IMSI: fmt.Sprintf("2060199%08d", i), State: sandbox.StateActive})
		out[i] = msisdn
	}
	return out
}

// sentDevices counts how often each device went to EnCo in requests whose
// path ends with action.
func (h *harness) sentDevices(action string) (map[string]int, int) {
	h.t.Helper()
	counts := map[string]int{}
	reqs := h.encoCalls("/m2m/1.0.0/requests/" + action)
	for _, r := range reqs {
		var devices []struct{ Identifier string }
		if err := json.Unmarshal(r.Body, &devices); err != nil {
			h.t.Fatalf("request body %s: %v", r.Body, err)
		}
		for _, d := range devices {
			counts[d.Identifier]++
		}
	}
	return counts, len(reqs)
}

// frontProxy stands for the load balancer in front of the replicas: EnCo
// calls one public URL, and the proxy passes the call to a live replica.
type frontProxy struct {
	srv    *httptest.Server
	target atomic.Pointer[url.URL]
}

func newFrontProxy(t *testing.T) *frontProxy {
	p := &frontProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(p.target.Load()) }}
	p.srv = httptest.NewServer(rp)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *frontProxy) to(r *replica) { p.target.Store(&url.URL{Scheme: "http", Host: r.cfg.HTTPAddr}) }

// TestFleetReplicaKilledBetweenTwoRequestsSendsEachCardOnce: a change of
// twelve cards goes as four requests of three; the replica sending it is
// stopped after its second request, and the other replica carries on from
// the first request not yet sent. Every card goes to EnCo exactly once, and
// every result comes into the one operation.
func TestFleetReplicaKilledBetweenTwoRequestsSendsEachCardOnce(t *testing.T) {
	t.Parallel()
	c := newCluster(t, withPolicy(testPolicy+"limits:\n  max_targets: 20\n"), withMain(func(m *Main) {
		m.sender.Lease, m.sender.Poll = time.Second, 50*time.Millisecond
	}))
	front := newFrontProxy(t)
	c.cfg.PublicURL = front.srv.URL
	c.cfg.EncoM2MBatch, c.cfg.EncoM2MRate, c.cfg.BulkThreshold = 3, 2, 4
	cards := addFleet(c.enco, 12)
	replicas := map[string]*replica{"a": c.start("a"), "b": c.start("b")}
	front.to(replicas["a"])

	parent := c.confirmed(opsUser, opsChan, "/sim deactivate "+strings.Join(cards, " "))
	c.waitFor("two requests sent", func() bool {
		_, n := c.sentDevices("deactivation")
		return n >= 2
	})
	// The replica sending is the one that logged the requests.
	var sender, other string
	for _, line := range strings.Split(c.logs.String(), "\n") {
		if strings.Contains(line, "m2m request accepted") {
			sender, _, _ = strings.Cut(line, ": ")
			break
		}
	}
	other = map[string]string{"a": "b", "b": "a"}[sender]
	if other == "" {
		t.Fatalf("no replica logged a request; logs:\n%s", c.logs)
	}
	front.to(replicas[other])
	replicas[sender].kill()

	c.waitFor("the summary", func() bool {
		for _, m := range c.slack.Thread(opsChan, parent.TS) {
			if strings.Contains(m.Text, "Finished") {
				return true
			}
		}
		return false
	})
	counts, requests := c.sentDevices("deactivation")
	if requests != 4 {
		t.Errorf("requests: got %d, want 4 of 3 cards", requests)
	}
	for _, card := range cards {
		if counts[card] != 1 {
			t.Errorf("card %s sent %d times, want once", card, counts[card])
		}
	}
	if len(counts) != len(cards) {
		t.Errorf("cards sent: got %d distinct, want %d", len(counts), len(cards))
	}
	thread := c.slack.Thread(opsChan, parent.TS)
	if last := thread[len(thread)-1].Text; !strings.Contains(last, "all 12 succeeded") {
		t.Errorf("summary = %q, want all 12 succeeded", last)
	}
	carried := false
	for _, line := range strings.Split(c.logs.String(), "\n") {
		if strings.HasPrefix(line, other+": ") && strings.Contains(line, "m2m request accepted") {
			carried = true
		}
	}
	if !carried {
		t.Errorf("replica %s sent no request after %s stopped; logs:\n%s", other, sender, c.logs)
	}
}

// withConfig adjusts the configuration before the bot opens.
func withConfig(f func(*Config)) harnessOption {
	return func(h *harness) { f(&h.cfg) }
}

// fleetPolicy lets opsUser change SIM cards, and caps a change from a file
// at 50 cards.
const fleetPolicy = testPolicy + "limits:\n  max_bulk_targets: 50\n"

// openBulkForm runs text (/sim bulk, or /sim <action> without cards) and
// returns the modal it opened.
func (h *harness) openBulkForm(text string) slacktest.Modal {
	h.t.Helper()
	before := len(h.slack.Modals())
	_, reply := h.command(opsUser, opsChan, text)
	if !strings.Contains(reply.Text, "Opening the form") {
		h.t.Fatalf("%s answered %q, want the form to open", text, reply.Text)
	}
	var modal slacktest.Modal
	h.waitFor("the form to open", func() bool {
		ms := h.slack.Modals()
		if len(ms) > before {
			for _, m := range ms {
				if m.View.CallbackID == commands.ViewSIMBulk && !m.Closed && m.Updates == 0 {
					modal = m
				}
			}
		}
		return modal.ID != ""
	})
	return modal
}

// bulkValues are the state values of the form's submission.
func bulkValues(action string, files []slack.File, pasted string) map[string]map[string]slack.BlockAction {
	v := map[string]map[string]slack.BlockAction{
		"action": {"action": {Type: "static_select", SelectedOption: slack.OptionBlockObject{Value: action}}},
		"file":   {"file": {Type: "file_input", Files: files}},
		"pasted": {"pasted": {Type: "plain_text_input", Value: pasted}},
	}
	return v
}

// submitAnswer decodes a view submission's ack.
func submitAnswer(t *testing.T, ack slacktest.Ack) slack.ViewSubmissionResponse {
	t.Helper()
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           *slack.View       `json:"view"`
	}
	if err := json.Unmarshal(ack.Payload, &resp); err != nil {
		t.Fatalf("view submission ack %s: %v", ack.Payload, err)
	}
	out := slack.ViewSubmissionResponse{ResponseAction: slack.ViewResponseAction(resp.ResponseAction), Errors: resp.Errors}
	if resp.View != nil {
		out.View = &slack.ModalViewRequest{CallbackID: resp.View.CallbackID, Submit: resp.View.Submit, Blocks: resp.View.Blocks, PrivateMetadata: resp.View.PrivateMetadata, Title: resp.View.Title}
	}
	return out
}

// viewText is the text of a view's sections and context lines.
func viewText(blocks slack.Blocks) string {
	var b strings.Builder
	for _, bl := range blocks.BlockSet {
		switch x := bl.(type) {
		case *slack.SectionBlock:
			if x.Text != nil {
				b.WriteString(x.Text.Text + "\n")
			}
		case *slack.ContextBlock:
			for _, e := range x.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					b.WriteString(t.Text + "\n")
				}
			}
		}
	}
	return b.String()
}

// TestFleetFromAFile: /sim bulk opens the form; its submission is answered
// in the ack itself with the preview (counts, duplicates, lines not
// understood, a button naming the action and count); submitting the
// preview sends the cards in batches, and the thread ends with the summary.
func TestFleetFromAFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(fleetPolicy), withConfig(func(c *Config) { c.EncoM2MBatch = 10 }))
	cards := addFleet(h.enco, 30)
	var file strings.Builder
	file.WriteString("\ufeffSite;MSISDN;Note\r\n")
	for i, c := range cards {
		fmt.Fprintf(&file, "Site %d;=\"0%s\";closed\r\n", i, c[2:])
	}
	fmt.Fprintf(&file, "Site 0 again;+%s;\r\nTotal;30 cards;\r\n;;\r\n", cards[0])
	shared := h.slack.AddFile("closed-sites.csv", "csv", []byte(file.String()))

	modal := h.openBulkForm("/sim bulk")
	if len(modal.View.Blocks.BlockSet) < 3 {
		t.Fatalf("form has %d blocks, want action, file and pasted", len(modal.View.Blocks.BlockSet))
	}
	for i, id := range []string{"action", "file", "pasted"} {
		in, ok := modal.View.Blocks.BlockSet[i].(*slack.InputBlock)
		if !ok || in.BlockID != id {
			t.Fatalf("block %d: got %#v, want the input block %q", i, modal.View.Blocks.BlockSet[i], id)
		}
	}
	if h.m2mRequests() != 0 {
		t.Fatal("opening the form called EnCo")
	}

	ack, err := h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, bulkValues("deactivate", []slack.File{shared}, ""))
	if err != nil {
		t.Fatal(err)
	}
	// The preview is the ack's own answer, not a later views.update.
	answer := submitAnswer(t, ack)
	if answer.ResponseAction != slack.RAUpdate || answer.View == nil || answer.View.CallbackID != commands.ViewSIMBulkPreview {
		t.Fatalf("submission answered %s, want response_action update to %s", ack.Payload, commands.ViewSIMBulkPreview)
	}
	text := viewText(answer.View.Blocks)
	for _, want := range []string{"Deactivate 30 SIM cards", "closed-sites.csv", `"MSISDN" column`, "1 duplicate line dropped", "1 line not understood", "line 33: `30 cards`"} {
		if !strings.Contains(text, want) {
			t.Errorf("preview lacks %q:\n%s", want, text)
		}
	}
	if got := answer.View.Submit.Text; got != "Deactivate 30 cards" {
		t.Errorf("preview's button = %q, want %q", got, "Deactivate 30 cards")
	}
	if h.m2mRequests() != 0 {
		t.Fatal("the preview called EnCo")
	}

	ack, err = h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := submitAnswer(t, ack); a.View == nil || !strings.Contains(viewText(a.View.Blocks), "Confirmed: Deactivate 30 SIM cards") {
		t.Errorf("confirmation answered %s, want the confirmed notice", ack.Payload)
	}
	h.waitFor("the parent message", func() bool { return len(h.parents(opsChan)) == 1 })
	parent := h.parents(opsChan)[0]
	h.waitFor("the summary", func() bool {
		for _, m := range h.slack.Thread(opsChan, parent.TS) {
			if strings.Contains(m.Text, "Finished") {
				return true
			}
		}
		return false
	})
	counts, requests := h.sentDevices("deactivation")
	if requests != 3 || len(counts) != 30 {
		t.Errorf("requests = %d naming %d cards, want 3 of 10 naming 30", requests, len(counts))
	}
	for _, c := range cards {
		if counts[c] != 1 {
			t.Errorf("card %s sent %d times, want once", c, counts[c])
		}
	}
	var summary string
	for _, m := range h.slack.Thread(opsChan, parent.TS) {
		if strings.Contains(m.Text, "Finished") {
			summary = m.Text
		}
	}
	// The file gave numbers; EnCo's results name ICCIDs, and the summary
	// says once why the numbers cannot be named.
	if !strings.Contains(summary, "all 30 succeeded") || !strings.Contains(summary, "offers no way to look up the ICCID of a number") {
		t.Errorf("summary = %q, want all 30 succeeded and why results name ICCIDs", summary)
	}
	rows := h.reportRows(opsChan, parent.TS)
	if len(rows) != 30 {
		t.Fatalf("report rows = %d, want 30", len(rows))
	}
	for _, row := range rows {
		if row[1] != "iccid" || row[2] != "done" || !strings.HasPrefix(row[0], "893201099") {
			t.Errorf("report row %v, want an ICCID of the file's cards, done", row)
		}
	}
}

// TestFleetFormOpensFromAChangeWithoutCards: /sim deactivate alone opens
// the form with deactivate chosen.
func TestFleetFormOpensFromAChangeWithoutCards(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(fleetPolicy))
	modal := h.openBulkForm("/sim deactivate")
	in := modal.View.Blocks.BlockSet[0].(*slack.InputBlock)
	sel, ok := in.Element.(*slack.SelectBlockElement)
	if !ok || sel.InitialOption == nil || sel.InitialOption.Value != "deactivate" {
		t.Errorf("action block = %#v, want deactivate preset", in.Element)
	}
}

// TestFleetRefusals: each bad input is answered in the submission's ack
// with an error on the block to fix, and nothing goes to EnCo.
func TestFleetRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(fleetPolicy))
	card := demoMSISDN(1)
	gone := h.slack.AddFile("gone.csv", "csv", []byte(card+"\n"))
	h.slack.DeleteFile(gone.ID)
	var over strings.Builder
	for i := range 51 {
		fmt.Fprintf(&over, "0471 %06d\n", 600000+i)
	}
	tests := []struct {
		name         string
		action       string
		file         []byte
		files        []slack.File
		pasted       string
		block, wants string
	}{
		{name: "neither a file nor pasted cards", action: "deactivate", block: "file", wants: "Attach a CSV or text file"},
		{name: "an empty file", action: "deactivate", file: []byte{}, block: "file", wants: "no card in it"},
		{name: "only comments", action: "deactivate", file: []byte("# nothing\n\n"), block: "file", wants: "no card in it"},
		{name: "no valid line", action: "deactivate", file: []byte("site 1\nsite 2\n"), block: "file", wants: `Line 1 ("site 1")`},
		{name: "a binary file", action: "deactivate", file: []byte("PK\x03\x04\x14\x00"), block: "file", wants: "workbook"},
		{name: "a file over 10 MB", action: "deactivate", file: bytes.Repeat([]byte(card+"\n"), 10<<20/12+1), block: "file", wants: "over 10 MB"},
		{name: "over the limit", action: "deactivate", file: []byte(over.String()), block: "file", wants: "more than 50 cards"},
		{name: "over the limit, pasted", action: "deactivate", pasted: over.String(), block: "pasted", wants: "more than 50 cards"},
		{name: "an action not permitted", action: "terminate", file: []byte(card + "\n"), block: "action", wants: "sim.terminate"},
		{name: "a file gone", action: "deactivate", files: []slack.File{gone}, block: "file", wants: "gone"},
		{name: "both a file and pasted cards", action: "deactivate", file: []byte(card + "\n"), pasted: card, block: "pasted", wants: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.files
			if tt.file != nil {
				files = []slack.File{h.slack.AddFile("cards.csv", "csv", tt.file)}
			}
			modal := h.openBulkForm("/sim bulk")
			ack, err := h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, bulkValues(tt.action, files, tt.pasted))
			if err != nil {
				t.Fatal(err)
			}
			a := submitAnswer(t, ack)
			if a.ResponseAction != slack.RAErrors || !strings.Contains(a.Errors[tt.block], tt.wants) {
				t.Errorf("answer %s, want errors naming block %q with %q", ack.Payload, tt.block, tt.wants)
			}
		})
	}
	if n := h.m2mRequests(); n != 0 {
		t.Errorf("EnCo M2M requests = %d, want none", n)
	}
}

// reportRows reads the report file attached in a thread.
func (h *harness) reportRows(channel, thread string) [][]string {
	h.t.Helper()
	var file slacktest.File
	h.waitFor("the report file in the thread", func() bool {
		for _, f := range h.slack.Files() {
			if f.Channel == channel && f.ThreadTS == thread && strings.HasPrefix(f.Name, "sim-") {
				file = f
				return true
			}
		}
		return false
	})
	rows, err := csv.NewReader(bytes.NewReader(file.Content)).ReadAll()
	if err != nil {
		h.t.Fatalf("report %s: %v\n%s", file.Name, err, file.Content)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "identifier,type,outcome,enco_message,time" {
		h.t.Fatalf("report header = %v", rows)
	}
	return rows[1:]
}

// TestFleetFailuresNamedThenTheFile: a change of 25 cards of which 22 fail
// names the first 20 failures in the thread, says how many more the file
// holds, and the file lists every card; EnCo's messages that look like
// formulas are written so that no spreadsheet runs them.
func TestFleetFailuresNamedThenTheFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(fleetPolicy), withConfig(func(c *Config) { c.EncoM2MBatch = 10 }))
	formulas := []string{`=HYPERLINK("http://evil.example","click")`, "+SUM(1,2)", "-2+3", "@cmd", "\t=1+1"}
	var iccids []string
	for i := range 25 {
		msisdn, iccid := fleetCard(100 + i)
		sim := sandbox.SIM{MSISDN: msisdn, ICCID: iccid, IMSI: fmt.Sprintf("2060198%08d", i), State: sandbox.StateActive}
		if i >= 3 {
			sim.Refuse = formulas[i%len(formulas)]
		}
		h.enco.AddSIM(sim)
		iccids = append(iccids, "iccid:"+iccid)
	}
	shared := h.slack.AddFile("cards.txt", "txt", []byte(strings.Join(iccids, "\n")))
	modal := h.openBulkForm("/sim bulk")
	ack, err := h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, bulkValues("deactivate", []slack.File{shared}, ""))
	if err != nil || submitAnswer(t, ack).ResponseAction != slack.RAUpdate {
		t.Fatalf("preview: %s, %v", ack.Payload, err)
	}
	if _, err := h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, nil); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the parent message", func() bool { return len(h.parents(opsChan)) == 1 })
	parent := h.parents(opsChan)[0]
	rows := h.reportRows(opsChan, parent.TS)

	var failures int
	var summary string
	for _, m := range h.slack.Thread(opsChan, parent.TS) {
		switch {
		case strings.Contains(m.Text, "Finished"):
			summary = m.Text
		case strings.Contains(m.Text, "deactivation failed"):
			failures++
		}
	}
	if failures != 20 {
		t.Errorf("failure replies = %d, want the first 20", failures)
	}
	if !strings.Contains(summary, "3 succeeded, 22 failed") || !strings.Contains(summary, "…and 2 more, see the file") {
		t.Errorf("summary = %q, want the counts and …and 2 more, see the file", summary)
	}
	if len(rows) != 25 {
		t.Fatalf("report rows = %d, want 25: %v", len(rows), rows)
	}
	outcomes := map[string]int{}
	for _, row := range rows {
		outcomes[row[2]]++
		if row[1] != "iccid" {
			t.Errorf("row %v: type %q, want iccid (the file gave ICCIDs)", row, row[1])
		}
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q of row %v would run as a formula", cell, row)
			}
		}
	}
	if outcomes["done"] != 3 || outcomes["failed"] != 22 {
		t.Errorf("outcomes = %v, want 3 done and 22 failed", outcomes)
	}
	if !slices.ContainsFunc(rows, func(r []string) bool { return r[3] == `'=HYPERLINK("http://evil.example","click")` }) {
		t.Errorf("report lacks EnCo's formula-like message kept as text: %v", rows)
	}
}

// TestFleetRefusedRequestFailsItsOwnCards: EnCo refuses the first of three
// requests; its ten cards fail with the reason and the other twenty go on.
// EnCo here also calls back before it answers each request, so results
// wait for their request's tracking number and still count once.
func TestFleetRefusedRequestFailsItsOwnCards(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(fleetPolicy), withConfig(func(c *Config) { c.EncoM2MBatch = 10 }))
	cards := addFleet(h.enco, 30)
	h.enco.SetCallbackBeforeResponse(true)
	modal := h.openBulkForm("/sim deactivate")
	ack, err := h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, bulkValues("deactivate", nil, strings.Join(cards, "\n")))
	if err != nil || submitAnswer(t, ack).ResponseAction != slack.RAUpdate {
		t.Fatalf("preview: %s, %v", ack.Payload, err)
	}
	h.enco.FailNext(1, http.StatusBadRequest)
	if _, err := h.slack.ViewSubmission(h.ctx, opsUser, modal.ID, nil); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the parent message", func() bool { return len(h.parents(opsChan)) == 1 })
	parent := h.parents(opsChan)[0]
	rows := h.reportRows(opsChan, parent.TS)
	var summary string
	refused := 0
	for _, m := range h.slack.Thread(opsChan, parent.TS) {
		switch {
		case strings.Contains(m.Text, "Finished"):
			summary = m.Text
		case strings.Contains(m.Text, "deactivation not sent: EnCo refused the request"):
			refused++
		}
	}
	if !strings.Contains(summary, "20 succeeded, 10 failed") {
		t.Errorf("summary = %q, want 20 succeeded, 10 failed", summary)
	}
	if refused != 10 {
		t.Errorf("replies naming the refusal = %d, want 10", refused)
	}
	failed := 0
	for _, row := range rows {
		if row[2] == "failed" {
			failed++
			if row[1] != "msisdn" || !slices.Contains(cards[:10], row[0]) {
				t.Errorf("failed row %v, want one of the first request's numbers", row)
			}
		}
	}
	if len(rows) != 30 || failed != 10 {
		t.Errorf("report: %d rows, %d failed; want 30 and 10", len(rows), failed)
	}
	counts, requests := h.sentDevices("deactivation")
	if requests != 3 || len(counts) != 30 {
		t.Errorf("requests = %d naming %d cards, want 3 naming 30", requests, len(counts))
	}
}
