package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

const (
	adminUser  = "U0ADMIN001"
	adminUser2 = "U0ADMIN002"
)

const approvalPolicy = `roles:
  - name: sim-admins
    members: [` + adminUser + `, ` + adminUser2 + `]
    permissions: ["sim.*", audit.read]
  - name: sim-operators
    members: [` + opsUser + `]
    permissions: [sim.read, sim.deactivate]
mask_numbers: true
`

// approvalMessage finds the bot's approval request in a channel.
func (h *harness) approvalMessage(channel string) (slacktest.Message, bool) {
	for _, m := range h.slack.Messages(channel) {
		if !m.Ephemeral && strings.Contains(string(m.Blocks), `"approve"`) {
			return m, true
		}
	}
	return slacktest.Message{}, false
}

func buttonValue(t *testing.T, blocks json.RawMessage, actionID string) string {
	t.Helper()
	return ackReply{Blocks: blocks}.button(t, actionID)
}

func (h *harness) sawEphemeral(channel, user, text string) bool {
	for _, m := range h.slack.Messages(channel) {
		if m.Ephemeral && m.User == user && strings.Contains(m.Text, text) {
			return true
		}
	}
	return false
}

func TestTerminateNeedsASecondPersonsApproval(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(approvalPolicy))
	_, reply := h.command(adminUser, opsChan, "/sim terminate 0471 00 00 05")
	ack := h.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the approval request in the channel", func() bool { _, ok := h.approvalMessage(opsChan); return ok })
	req, _ := h.approvalMessage(opsChan)
	if !strings.Contains(req.Text, "<@"+adminUser+"> asks") || !strings.Contains(req.Text, "sim.terminate") {
		t.Errorf("approval request = %q, want the requester and the permission named", req.Text)
	}
	if strings.Contains(string(req.Blocks), "00 00 05") || !strings.Contains(string(req.Blocks), "+32 471 •• •• 05") {
		t.Errorf("approval request blocks = %s, want the number masked (mask_numbers: true)", req.Blocks)
	}
	h.waitFor("the requester told to wait", func() bool {
		for _, m := range h.slack.ResponseURLPosts(ack.ResponseURL) {
			if strings.Contains(m.Text, "Waiting for approval") {
				return true
			}
		}
		return false
	})
	id := buttonValue(t, req.Blocks, "approve")

	// The requester cannot approve their own request.
	h.click(adminUser, opsChan, "approve", id)
	h.waitFor("the self-approval refusal", func() bool { return h.sawEphemeral(opsChan, adminUser, "you can't approve it") })
	// Nor can someone without the permission.
	h.click(opsUser, opsChan, "approve", id)
	h.waitFor("the refusal for a user without sim.terminate", func() bool { return h.sawEphemeral(opsChan, opsUser, "Only someone holding `sim.terminate`") })
	if got := len(h.encoCalls("/m2m/1.0.0/requests/termination")); got != 0 {
		t.Fatalf("termination requests before approval = %d, want 0", got)
	}

	// A second admin approves, twice at once: one termination.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); h.click(adminUser2, opsChan, "approve", id) }()
	}
	wg.Wait()
	h.waitFor("the termination result in a thread", func() bool {
		for _, p := range h.parents(opsChan) {
			if strings.Contains(p.Text, "approved by <@"+adminUser2+">") && strings.Contains(p.Text, "all 1 done") {
				return true
			}
		}
		return false
	})
	if got := len(h.encoCalls("/m2m/1.0.0/requests/termination")); got != 1 {
		t.Errorf("termination requests = %d, want exactly 1", got)
	}
	closed, _ := h.slack.Message(opsChan, req.TS)
	if !strings.Contains(closed.Text, "Approved by <@"+adminUser2+">") || strings.Contains(string(closed.Blocks), `"approve"`) {
		t.Errorf("approval request after approval = %q %s, want 'Approved by' and no buttons", closed.Text, closed.Blocks)
	}
	if sim, _ := h.enco.SIM("32471000005"); sim.State != "Terminated" {
		t.Errorf("SIM state = %q, want Terminated", sim.State)
	}

	// The audit trail shows every step, to those allowed to read it.
	_, audit := h.command(adminUser2, opsChan, "/sim audit")
	for _, want := range []string{"approval requested", "approval refused", "approved", "confirmed"} {
		if !strings.Contains(audit.Text, want) {
			t.Errorf("audit = %q, want an entry %q", audit.Text, want)
		}
	}
	if _, denied := h.command(opsUser, opsChan, "/sim audit"); !strings.Contains(denied.Text, "audit.read") {
		t.Errorf("audit for an operator = %q, want a denial naming audit.read", denied.Text)
	}
}

func TestApprovalExpiresAndCanBeCancelled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(approvalPolicy), withCommands(func(c *commands.Config) { c.Settings.ApprovalTTL = 300 * time.Millisecond }))
	_, reply := h.command(adminUser, opsChan, "/sim terminate 0471000005")
	h.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the approval request", func() bool { _, ok := h.approvalMessage(opsChan); return ok })
	req, _ := h.approvalMessage(opsChan)
	id := buttonValue(t, req.Blocks, "approve")
	// The approval is stored before the request is posted: wait until it
	// is seen stored, then until it expires.
	h.waitFor("the approval to be stored", func() bool {
		_, ok, err := h.main.Store.PeekConfirmation(h.ctx, id)
		return err == nil && ok
	})
	h.waitFor("the approval to expire", func() bool {
		_, ok, err := h.main.Store.PeekConfirmation(h.ctx, id)
		return err == nil && !ok
	})
	h.click(adminUser2, opsChan, "approve", id)
	h.waitFor("the expiry note", func() bool { return h.sawEphemeral(opsChan, adminUser2, "expired or was already used") })

	if got := len(h.encoCalls("/m2m/1.0.0/requests/termination")); got != 0 {
		t.Errorf("termination requests = %d, want 0 after expiry", got)
	}
}

func TestApprovalCanBeCancelledByTheRequester(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(approvalPolicy))
	_, reply := h.command(adminUser, opsChan, "/sim terminate 0471000006")
	h.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the approval request", func() bool { _, ok := h.approvalMessage(opsChan); return ok })
	req, _ := h.approvalMessage(opsChan)
	// The test's click carries no message ts, as Slack's would: wait until
	// the bot has noted the request's ts in the approval, which it closes
	// the request by.
	h.waitFor("the request's ts noted", func() bool {
		conf, ok, err := h.main.Store.PeekConfirmation(h.ctx, buttonValue(t, req.Blocks, "cancel"))
		return err == nil && ok && conf.Data["ts"] == req.TS
	})
	h.click(adminUser, opsChan, "cancel", buttonValue(t, req.Blocks, "cancel"))
	h.waitFor("the cancelled request", func() bool {
		m, _ := h.slack.Message(opsChan, req.TS)
		return strings.Contains(m.Text, "Cancelled by <@"+adminUser+">")
	})
	// Its approve button no longer works.
	h.click(adminUser2, opsChan, "approve", buttonValue(t, req.Blocks, "approve"))
	h.waitFor("the refusal", func() bool { return h.sawEphemeral(opsChan, adminUser2, "expired or was already used") })
	if got := len(h.encoCalls("/m2m/1.0.0/requests/termination")); got != 0 {
		t.Errorf("termination requests = %d, want 0 after cancel", got)
	}
}

func TestCallbackTokensAreBoundToTheirOperation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.enco.SetDropCallbacks(true)
	for _, sim := range []string{"0471000001", "0471000002"} {
		_, reply := h.command(opsUser, opsChan, "/sim deactivate "+sim)
		h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	}
	// The sandbox's kept callbacks pair each request's token with its tracking number.
	cbs := h.trackedM2M(2)
	tokenA, tokenB := cbs[0].Token, cbs[1].Token
	trackings := []string{cbs[0].Tracking, cbs[1].Tracking}
	if tokenA == tokenB || trackings[0] == trackings[1] {
		t.Fatalf("the two requests share a token or tracking number: %+v", cbs)
	}
	send := func(token, tracking, iccid string) int {
		b, _ := json.Marshal(map[string]any{"trackingNumber": tracking, "device": map[string]string{"identifier": iccid, "identifierType": "ICCID"}, "resultStatus": "Success"})
		r, _ := http.NewRequest(http.MethodPost, h.cfg.PublicURL+"/callbacks/m2m", bytes.NewReader(b))
		r.Header.Set("Authorization", "Bearer "+h.cfg.CallbackSecret)
		r.Header.Set("x-callback-token", token)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := send(tokenA, trackings[0], "8932010000000000001"); got != http.StatusOK {
		t.Fatalf("genuine callback = %d, want 200", got)
	}
	if got := send(tokenB, trackings[0], "8932010000000000001"); got != http.StatusNotFound {
		t.Errorf("operation B's token with operation A's tracking number = %d, want 404", got)
	}
	if got := send(tokenA, trackings[1], "8932010000000000002"); got != http.StatusNotFound {
		t.Errorf("operation A's token with operation B's tracking number = %d, want 404", got)
	}
	// Replaying A's genuine callback later changes nothing.
	if got := send(tokenA, trackings[0], "8932010000000000001"); got != http.StatusOK {
		t.Errorf("replay = %d, want 200 (accepted, no effect)", got)
	}
	h.waitFor("operation A's result", func() bool {
		for _, p := range h.parents(opsChan) {
			if strings.Contains(p.Text, "all 1 done") {
				return true
			}
		}
		return false
	})
	h.waitFor("the delivery queue to drain", func() bool { n, err := h.main.Store.QueueDepth(h.ctx); return err == nil && n == 0 })
	total := 0
	for _, p := range h.parents(opsChan) {
		total += len(h.slack.Thread(opsChan, p.TS))
	}
	if total != 1 {
		t.Errorf("thread replies = %d, want 1 (operation A's result) despite the forgeries and the replay", total)
	}
}

// TestLogsHoldNoSecret runs a whole flow at debug level and scans the log
// for every configured secret and every token the bot handled.
func TestLogsHoldNoSecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001")
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the operation to finish", func() bool {
		p := h.parents(opsChan)
		return len(p) == 1 && strings.Contains(p[0].Text, "all 1 done")
	})
	ack, _ := h.command(opsUser, opsChan, "/sim status 0471000002")
	h.waitFor("the status answer", func() bool { return len(h.slack.ResponseURLPosts(ack.EnvelopeID)) > 0 })
	// A forged callback, logged as refused.
	r, _ := http.NewRequest(http.MethodPost, h.cfg.PublicURL+"/callbacks/m2m", strings.NewReader(`{}`))
	r.Header.Set("Authorization", "Bearer wrong-"+h.cfg.CallbackSecret)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged callback answered %d, want 401", resp.StatusCode)
	}
	// The refusal's log line is part of what the scan below reads.
	h.waitFor("the refusal logged", func() bool { return strings.Contains(h.logs.String(), "callback refused") })

	secrets := map[string]string{
		"CALLBACK_SECRET":    h.cfg.CallbackSecret,
		"ENCO_CLIENT_SECRET": h.cfg.EncoClientSecret,
		"ENCO_M2M_API_KEY":   h.cfg.EncoM2MAPIKey,
		"SLACK_BOT_TOKEN":    h.cfg.SlackBotToken,
		"SLACK_APP_TOKEN":    h.cfg.SlackAppToken,
		"EnCo access token":  h.enco.AccessToken(),
	}
	for _, req := range h.enco.Requests() {
		if tok := req.Header.Get("X-Callback-Token"); tok != "" {
			secrets["x-callback-token"] = tok
		}
	}
	if len(secrets["x-callback-token"]) < 20 || len(secrets["EnCo access token"]) < 10 {
		t.Fatalf("the scan has nothing to look for: %v", secrets)
	}
	logs := h.logs.String()
	if len(logs) < 1000 {
		t.Fatalf("log output is only %d bytes; the scan would prove nothing", len(logs))
	}
	for name, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}
