package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

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
