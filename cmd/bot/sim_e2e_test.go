package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// Demo SIM cards of the sandbox (see the package comment of enco/sandbox).
const (
	simActive1 = "32471000001" // Active, ICCID 8932010000000000001
	simActive2 = "32471000002" // Active
	simReady   = "32471000004" // Ready
)

func (h *harness) m2mRequests() int {
	n := 0
	for _, r := range h.encoCalls("/m2m/1.0.0/") {
		if r.Path != "/m2m/1.0.0/configure/callback" {
			n++
		}
	}
	return n
}

// parents returns the bot's non-ephemeral top-level messages in a channel.
func (h *harness) parents(channel string) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range h.slack.Messages(channel) {
		if !m.Ephemeral && m.ThreadTS == "" {
			out = append(out, m)
		}
	}
	return out
}

func TestSimStatusAcksWhileEnCoIsSlow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.enco.SetResponseDelay(5 * time.Second)

	ack, reply := h.command(opsUser, opsChan, "/sim status 0471 00 00 01")
	if ack.Latency > 2500*time.Millisecond {
		t.Errorf("ack took %s with EnCo answering in 5 s; Slack gives up after 3 s", ack.Latency)
	}
	if reply.ResponseType != "ephemeral" || !strings.Contains(reply.Text, "Looking up 1 SIM card") {
		t.Errorf("ack = %+v, want an ephemeral 'Looking up 1 SIM card'", reply)
	}
	h.waitFor("status on the response URL", func() bool { return len(h.slack.ResponseURLPosts(ack.EnvelopeID)) > 0 })
	post := h.slack.ResponseURLPosts(ack.EnvelopeID)[0]
	if !strings.Contains(post.Text, "+32 471 00 00 01") || !strings.Contains(post.Text, "Active") {
		t.Errorf("status answer = %q, want the number and its state Active", post.Text)
	}
	if !post.Ephemeral {
		t.Errorf("status answer is visible to the channel; want only the requester to see it")
	}
}

func TestSimDeniedWithoutPermissionCallsNoAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		name, user, text, want string
	}{
		{"no role", guestUser, "/sim status 0471000001", "sim.read"},
		{"read-only through a group", groupUser, "/sim deactivate 0471000001", "sim.deactivate"},
		{"terminate not granted to operators", opsUser, "/sim terminate 0471000001", "sim.terminate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, reply := h.command(tt.user, opsChan, tt.text)
			if !strings.Contains(reply.Text, tt.want) {
				t.Errorf("answer = %q, want a denial naming %s", reply.Text, tt.want)
			}
			if strings.Contains(string(reply.Blocks), `"confirm"`) {
				t.Errorf("denied command still shows a confirm button: %s", reply.Blocks)
			}
		})
	}
	// A group member may read.
	ack, reply := h.command(groupUser, opsChan, "/sim status 0471000001")
	if !strings.Contains(reply.Text, "Looking up") {
		t.Fatalf("group member's status answer = %q, want it allowed", reply.Text)
	}
	h.waitFor("the group member's status", func() bool { return len(h.slack.ResponseURLPosts(ack.EnvelopeID)) > 0 })
	if got := h.m2mRequests(); got != 1 {
		t.Errorf("M2M API calls = %d, want 1 (only the allowed status read)", got)
	}
}

func TestSimBadInputNamesTheTokenAndCallsNoAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		text string
		want []string
	}{
		{"/sim deactivate 0471 00", []string{`"0471 00"`, "+32 470 12 34 56"}},
		{"/sim status 0471 00 00 9x", []string{"`9x` is not part of a phone number", "+32 470 12 34 56"}},
		{"/sim deactivate iccid:12ab", []string{"iccid:12ab", "18 to 22 digits"}},
		{"/sim deactivate serial:123", []string{"serial:", "iccid:"}},
		{"/sim freeze 0471000001", []string{"`freeze`", "deactivate"}},
		{"/sim status <@U0OPS00002>", []string{"not people"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, reply := h.command(opsUser, opsChan, tt.text)
			for _, w := range tt.want {
				if !strings.Contains(reply.Text+string(reply.Blocks), w) {
					t.Errorf("answer = %q, want it to mention %q", reply.Text, w)
				}
			}
		})
	}
	if got := h.m2mRequests(); got != 0 {
		t.Errorf("M2M API calls = %d, want 0 after bad input", got)
	}
}

func TestSimDeactivateConfirmFlowAndCallbacksInThread(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, reply := h.command(opsUser, opsChan, "/sim deactivate +32 471 00 00 01, 0471000002")
	if !strings.Contains(reply.Text, "Deactivate 2 SIM cards") {
		t.Fatalf("ack = %q, want the confirmation for 2 SIM cards", reply.Text)
	}
	id := reply.button(t, "confirm")
	if h.m2mRequests() != 0 {
		t.Fatalf("the API was called before the confirmation")
	}

	// Someone else's click changes nothing.
	h.click(opsUser2, opsChan, "confirm", id)
	h.waitFor("the refusal shown to the other user", func() bool {
		for _, m := range h.slack.Messages(opsChan) {
			if m.Ephemeral && m.User == opsUser2 && strings.Contains(m.Text, "Only <@"+opsUser+">") {
				return true
			}
		}
		return false
	})
	if h.m2mRequests() != 0 {
		t.Fatalf("another user's click caused an API call")
	}

	// The requester double-clicks: one execution.
	var wg sync.WaitGroup
	acks := make([]slacktest.Ack, 2)
	for i := range acks {
		wg.Add(1)
		go func() { defer wg.Done(); acks[i] = h.click(opsUser, opsChan, "confirm", id) }()
	}
	wg.Wait()
	h.waitFor("the parent message to show both results", func() bool {
		p := h.parents(opsChan)
		return len(p) == 1 && strings.Contains(p[0].Text, "all 2 done")
	})
	// A change of a few cards goes one request per card, so that each
	// tracking number stands for the number typed: each card exactly once
	// despite the double click.
	if got := h.m2mRequests(); got != 2 {
		t.Errorf("M2M deactivation requests = %d, want exactly 2 (one per card) after a double click", got)
	}
	req := h.encoCalls("/m2m/1.0.0/requests/deactivation")
	if len(req) != 2 {
		t.Fatalf("deactivation requests = %d, want 2", len(req))
	}
	sent := map[string]int{}
	for _, r := range req {
		var devices []map[string]string
		if err := json.Unmarshal(r.Body, &devices); err != nil {
			t.Fatal(err)
		}
		if len(devices) != 1 || devices[0]["identifierType"] != "MSISDN" {
			t.Errorf("request body = %s, want one MSISDN in E.164 digits", r.Body)
		}
		for _, d := range devices {
			sent[d["identifier"]]++
		}
		if r.Header.Get("X-Callback-Token") == "" {
			t.Errorf("request has no x-callback-token")
		}
	}
	if sent[simActive1] != 1 || sent[simActive2] != 1 {
		t.Errorf("cards sent = %v, want %s and %s once each", sent, simActive1, simActive2)
	}

	parent := h.parents(opsChan)[0]
	if !strings.Contains(parent.Text, "<@"+opsUser+">") {
		t.Errorf("parent = %q, want it to name the requester", parent.Text)
	}
	h.waitFor("two replies and a summary in the thread", func() bool { return len(h.slack.Thread(opsChan, parent.TS)) == 3 })
	thread := h.slack.Thread(opsChan, parent.TS)
	done := map[string]bool{}
	for _, m := range thread[:2] {
		for _, typed := range []string{"+32 471 00 00 01", "+32 471 00 00 02"} {
			if strings.Contains(m.Text, typed+" (ICCID 893201") && strings.Contains(m.Text, "deactivation done") {
				done[typed] = true
			}
		}
	}
	if len(done) != 2 {
		t.Errorf("thread = %v, want two 'deactivation done' replies, each naming the number typed and its ICCID", texts(thread))
	}
	if !strings.Contains(thread[2].Text, "all 2 succeeded") {
		t.Errorf("last reply = %q, want the summary", thread[2].Text)
	}
	if p, _ := h.slack.Message(opsChan, parent.TS); p.Updated == 0 {
		t.Errorf("parent was never updated with progress")
	}
	if sim, _ := h.enco.SIM(simActive1); sim.State != "Deactivated" {
		got := sim.State
		t.Errorf("SIM %s state = %q, want Deactivated", simActive1, got)
	}
	// The prompt was replaced by a confirmation note, once.
	var confirmed int
	for _, a := range acks {
		for _, m := range h.slack.ResponseURLPosts(a.ResponseURL) {
			if m.ReplaceOriginal && strings.Contains(m.Text, "Confirmed") {
				confirmed++
			}
		}
	}
	if confirmed != 1 {
		t.Errorf("'Confirmed' notes = %d, want 1", confirmed)
	}
}

func texts(ms []slacktest.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

func TestSimCancelChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, reply := h.command(opsUser, opsChan, "/sim activate 0471000004")
	id := reply.button(t, "cancel")
	ack := h.click(opsUser, opsChan, "cancel", id)
	h.waitFor("the cancel note", func() bool { return len(h.slack.ResponseURLPosts(ack.ResponseURL)) > 0 })
	if got := h.slack.ResponseURLPosts(ack.ResponseURL)[0].Text; !strings.Contains(got, "Cancelled") {
		t.Errorf("cancel answer = %q", got)
	}
	// The confirm button of a cancelled prompt no longer works.
	h.click(opsUser, opsChan, "confirm", id)
	h.waitFor("the expired note, shown only to the clicker", func() bool {
		for _, m := range h.slack.Messages(opsChan) {
			if m.Ephemeral && m.User == opsUser && strings.Contains(m.Text, "expired or was already used") {
				return true
			}
		}
		return false
	})
	if got := h.m2mRequests(); got != 0 {
		t.Errorf("M2M calls = %d, want 0 after cancel", got)
	}
	if got := h.parents(opsChan); len(got) != 0 {
		t.Errorf("channel messages = %v, want none", texts(got))
	}
}

func TestSimBotNotInChannelTellsRequester(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.slack.NotInChannel(otherChan)
	_, reply := h.command(opsUser, otherChan, "/sim deactivate 0471000001")
	ack := h.click(opsUser, otherChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the invite hint", func() bool {
		for _, m := range h.slack.ResponseURLPosts(ack.ResponseURL) {
			if strings.Contains(m.Text, "/invite @Switchboard") {
				return true
			}
		}
		return false
	})
	if got := h.m2mRequests(); got != 0 {
		t.Errorf("M2M calls = %d, want 0 when the thread cannot be posted", got)
	}
}

func TestForgedCallbacksAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001")
	h.enco.SetDropCallbacks(true) // the test sends the callbacks itself
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the deactivation request", func() bool { return len(h.encoCalls("/m2m/1.0.0/requests/deactivation")) == 1 })
	req := h.encoCalls("/m2m/1.0.0/requests/deactivation")[0]
	token := req.Header.Get("X-Callback-Token")
	tracking := h.trackedM2M(1)[0].Tracking

	body := func(tn string) []byte {
		b, _ := json.Marshal(map[string]any{"trackingNumber": tn, "device": map[string]string{"identifier": "8932010000000000001", "identifierType": "ICCID"}, "resultStatus": "Success", "messages": []string{}})
		return b
	}
	url := h.cfg.PublicURL + "/callbacks/m2m"
	tests := []struct {
		name   string
		auth   string
		token  string
		body   []byte
		status int
	}{
		{"no secret", "", token, body(tracking), http.StatusUnauthorized},
		{"wrong secret", "Bearer not-the-secret", token, body(tracking), http.StatusUnauthorized},
		{"no token", "Bearer " + h.cfg.CallbackSecret, "", body(tracking), http.StatusUnauthorized},
		{"guessed token", "Bearer " + h.cfg.CallbackSecret, strings.Repeat("A", len(token)), body(tracking), http.StatusForbidden},
		{"other tracking number", "Bearer " + h.cfg.CallbackSecret, token, body("00000000-0000-0000-0000-000000000000"), http.StatusNotFound},
		{"malformed body", "Bearer " + h.cfg.CallbackSecret, token, []byte(`{"trackingNumber":`), http.StatusBadRequest},
		{"oversize body", "Bearer " + h.cfg.CallbackSecret, token, bytes.Repeat([]byte(" "), 1<<20), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(tt.body))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.token != "" {
				r.Header.Set("x-callback-token", tt.token)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
	parent := h.parents(opsChan)[0]
	if got := h.slack.Thread(opsChan, parent.TS); len(got) != 0 {
		t.Errorf("forged callbacks posted %v", texts(got))
	}

	// The genuine callback, sent twice, is posted once.
	for range 2 {
		r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(tracking)))
		r.Header.Set("Authorization", "Bearer "+h.cfg.CallbackSecret)
		r.Header.Set("x-callback-token", token)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("genuine callback status = %d, want 200", resp.StatusCode)
		}
	}
	h.waitFor("the parent done", func() bool {
		p, _ := h.slack.Message(opsChan, parent.TS)
		return strings.Contains(p.Text, "all 1 done")
	})
	h.waitFor("the delivery queue to drain", func() bool { n, err := h.main.Store.QueueDepth(h.ctx); return err == nil && n == 0 })
	if got := h.slack.Thread(opsChan, parent.TS); len(got) != 1 || !strings.Contains(got[0].Text, "deactivation done") {
		t.Errorf("thread = %v, want the one result (a single target needs no summary)", texts(got))
	}
}

func TestResultsAreCopiedToTheNotifyChannel(t *testing.T) {
	t.Parallel()
	const notifyChan = "C0NOTIFY01"
	h := newHarness(t, func(h *harness) { h.cfg.NotifyChannel = notifyChan })
	_, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001, 0471000002")
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("two copies in the notification channel", func() bool { return len(h.slack.Messages(notifyChan)) == 2 })
	for _, m := range h.slack.Messages(notifyChan) {
		if !strings.Contains(m.Text, "deactivation done") || !strings.Contains(m.Text, "<@"+opsUser+">") || m.ThreadTS != "" {
			t.Errorf("notification = %+v, want a top-level copy of the result naming the requester", m)
		}
	}
}

// TestRefusedPermanentTokenIsOneClearErrorAndOneLogLine: a permanent
// ENCO_TOKEN cannot be renewed, so a 401 ends the request at once: the user
// is told that the bot's credentials need an operator, the log has one line
// about it, and EnCo gets one request, no token or revoke request.
func TestRefusedPermanentTokenIsOneClearErrorAndOneLogLine(t *testing.T) {
	h := newHarness(t, func(h *harness) {
		h.cfg.EncoClientID, h.cfg.EncoClientSecret = "", ""
		h.cfg.EncoToken = h.enco.PermanentToken
	})
	h.enco.RefusePermanentToken()
	h.enco.ResetRequests()

	ack, _ := h.command(opsUser, opsChan, "/sim status 0471 00 00 01")
	h.waitFor("the status answer", func() bool { return len(h.slack.ResponseURLPosts(ack.EnvelopeID)) > 0 })
	post := h.slack.ResponseURLPosts(ack.EnvelopeID)[0]
	for _, want := range []string{"refused the bot's own credentials", "ENCO_TOKEN"} {
		if !strings.Contains(post.Text, want) {
			t.Errorf("answer = %q, want it to mention %q", post.Text, want)
		}
	}
	if got := len(h.enco.Requests()); got != 1 {
		t.Errorf("EnCo requests: got %d, want 1 (no retry, no token or revoke request)", got)
	}
	lines := 0
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, `"level":"WARN"`) {
			lines++
			if !strings.Contains(l, "credentials") {
				t.Errorf("log line %s does not say the credentials were refused", l)
			}
		}
	}
	if got := lines; got != 1 {
		t.Errorf("error lines: got %d, want 1\n%s", got, h.logs)
	}
	if strings.Contains(h.logs.String(), h.enco.PermanentToken) || strings.Contains(post.Text, h.enco.PermanentToken) {
		t.Errorf("the permanent token shows in the log or the answer")
	}
}

func TestSimStatusByICCIDOrIMSIIsRefusedWithoutACall(t *testing.T) {
	h := newHarness(t)
	h.enco.ResetRequests()
	h.wantAnswers(t, opsChan, []answerCase{
		{"iccid", opsUser, "/sim status iccid:8932010000000000001", []string{"`iccid:8932010000000000001`", "phone numbers only", "/sim status 0471 00 00 01"}},
		{"imsi", opsUser, "/sim status 0471 00 00 01 imsi:206010000000001", []string{"`imsi:206010000000001`", "phone numbers only"}},
	})
	if got := h.encoCalls("/m2m/"); len(got) != 0 {
		t.Errorf("M2M calls = %+v, want none", got)
	}
}

// TestSimStatusShowsWhatTheDocumentedAnswerCarries: one card in detail, from
// a lookup by msisdn and nothing else.
func TestSimStatusShowsWhatTheDocumentedAnswerCarries(t *testing.T) {
	h := newHarness(t)
	h.enco.ResetRequests()
	ack, _ := h.command(opsUser, opsChan, "/sim status 0471 00 00 03")
	h.waitFor("the status answer", func() bool { return len(h.slack.ResponseURLPosts(ack.EnvelopeID)) > 0 })
	got := h.slack.ResponseURLPosts(ack.EnvelopeID)[0].Text
	for _, want := range []string{
		"+32 471 00 00 03", "*Deactivated*", "Device: ICCID 8932010000000000003",
		"Data: `M2M-DATA-100MB` Data plan M2M-DATA-100MB · thresholds 50 a day, 1000 a month",
		"SMS: `M2M-SMS-50` · no thresholds", "Voice: `M2M-VOICE-BASIC`", "APN: m2m.proximus.be",
		"Cost centre: Logistics", "Custom fields: Custom Field 1: asset-03 · Custom Field 2: Brussels HQ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("answer = %q, want it to show %q", got, want)
		}
	}
	if strings.Contains(got, "Custom Field 3") {
		t.Errorf("answer = %q, want empty custom fields left out", got)
	}
	calls := h.encoCalls("/m2m/1.0.0/simcards")
	if len(calls) != 1 || len(calls[0].Query) != 1 || calls[0].Query.Get("msisdn") != "32471000003" {
		t.Errorf("lookups = %+v, want one by msisdn=32471000003 and no other parameter", calls)
	}
}

// TestSimStatusOfManyCardsIsATableWithTheRestAttached: several cards are a
// table; past its 15 rows the answer says how many it left out, and the
// whole list is attached through files.uploadV2.
func TestSimStatusOfManyCardsIsATableWithTheRestAttached(t *testing.T) {
	h := newHarness(t)
	var typed []string
	for i := 1; i <= 17; i++ {
		typed = append(typed, fmt.Sprintf("0471 00 00 %02d", i))
	}
	ack, _ := h.command(opsUser, opsChan, "/sim status "+strings.Join(typed, ", "))
	h.waitFor("the status answer", func() bool { return len(h.slack.ResponseURLPosts(ack.EnvelopeID)) > 0 })
	got := h.slack.ResponseURLPosts(ack.EnvelopeID)[0].Text
	if !strings.Contains(got, "+32 471 00 00 01") || !strings.Contains(got, "M2M-DATA-100MB") || strings.Contains(got, "+32 471 00 00 16") {
		t.Errorf("answer = %q, want a table of the first 15 cards", got)
	}
	if !strings.Contains(got, "2 more not shown (15 of 17 listed). The full list is attached to this channel as `sim-status-") {
		t.Errorf("answer = %q, want how many were left out and where they are", got)
	}
	// The file follows the answer that names it.
	h.waitFor("the CSV of statuses", func() bool { return len(h.slack.Files()) > 0 })
	files := h.slack.Files()
	if len(files) != 1 || files[0].Channel != opsChan {
		t.Fatalf("files = %+v, want one in %s", files, opsChan)
	}
	rows, err := csv.NewReader(bytes.NewReader(files[0].Content)).ReadAll()
	if err != nil || len(rows) != 18 || rows[17][0] != "'+32471000017" || rows[17][1] != "not found" || rows[3][1] != "Deactivated" {
		t.Errorf("file: %d rows, %v; want a header and the 17 cards (the last not found)", len(rows), err)
	}
	for _, m := range []string{"files.getUploadURLExternal", "files.completeUploadExternal"} {
		if len(h.slack.Calls(m)) != 1 {
			t.Errorf("%s calls = %d, want 1", m, len(h.slack.Calls(m)))
		}
	}
}
