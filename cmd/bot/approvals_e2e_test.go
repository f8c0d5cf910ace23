package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

const (
	approvalsChan = "C0APPROVALS"
	leadAlice     = "U0ALICE001"
	leadBob       = "U0BOB00001"
	leadCarol     = "U0CAROL001"
	leadsGroup    = "S0SIMLEADS"
)

// leadsPolicy asks two of the SIM leads, a Slack user group, to approve a
// termination in the approvals channel, and one holder of the permission
// to approve deactivating more than two cards, in the request's channel.
func leadsPolicy(expires string) string {
	return `roles:
  - name: sim-admins
    members: [` + adminUser + `, ` + adminUser2 + `]
    permissions: ["sim.*", audit.read]
  - name: sim-operators
    members: [` + opsUser + `]
    permissions: [sim.read, sim.deactivate]
approvals:
  - name: terminate
    permissions: [sim.terminate]
    required: 2
    approvers: [` + leadsGroup + `]
    channel: ` + approvalsChan + `
    expires: ` + expires + `
  - name: big-deactivations
    permissions: [sim.deactivate]
    targets_over: 2
`
}

// requestMessage waits for the approval request in channel.
func (h *harness) requestMessage(channel string) slacktest.Message {
	h.t.Helper()
	h.waitFor("the approval request in "+channel, func() bool { _, ok := h.approvalMessage(channel); return ok })
	m, _ := h.approvalMessage(channel)
	return m
}

// auditDecisions counts the audit entries of a command by decision.
func (h *harness) auditDecisions(command string) map[string]int {
	n := map[string]int{}
	for _, e := range h.audited(command) {
		n[e.Decision]++
	}
	return n
}

// TestTerminateNeedsASecondPersonsApproval: with require_approval's
// default, a termination waits for a second person holding the same
// permission, asked in the request's own channel.
func TestTerminateNeedsASecondPersonsApproval(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(approvalPolicy))
	_, reply := h.command(adminUser, opsChan, "/sim terminate 0471 00 00 05")
	ack := h.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	req := h.requestMessage(opsChan)
	if !strings.Contains(req.Text, "<@"+adminUser+"> asks") || !strings.Contains(string(req.Blocks), "sim.terminate") {
		t.Errorf("approval request = %q %s, want the requester and the permission named", req.Text, req.Blocks)
	}
	if strings.Contains(string(req.Blocks), "00 00 05") || !strings.Contains(string(req.Blocks), "+32 471 •• •• 05") {
		t.Errorf("approval request blocks = %s, want the number masked (mask_numbers: true)", req.Blocks)
	}
	if !strings.Contains(string(req.Blocks), "/archives/"+opsChan+"/p") || !strings.Contains(string(req.Blocks), `"deny"`) {
		t.Errorf("approval request blocks = %s, want a deny button and the link to the requester's thread", req.Blocks)
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
	h.waitFor("the refusal for a user without sim.terminate", func() bool {
		return h.sawEphemeral(opsChan, opsUser, "Only someone holding `sim.terminate`")
	})
	if got := len(h.encoCalls("/m2m/1.0.0/requests/termination")); got != 0 {
		t.Fatalf("termination requests before approval = %d, want 0", got)
	}

	// A second admin approves, twice at once: one termination.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { h.click(adminUser2, opsChan, "approve", id) })
	}
	wg.Wait()
	h.waitFor("the termination result in the requester's thread", func() bool {
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
	for _, want := range []string{"approval requested", "approval refused", "approved", "executed after", "confirmed"} {
		if !strings.Contains(audit.Text, want) {
			t.Errorf("audit = %q, want an entry %q", audit.Text, want)
		}
	}
}

// TestTwoOfThreeApproversAcrossReplicas: the last two approvals of a 2-of-3
// rule land at the same moment on two replicas. The approvers are a Slack
// user group, which each replica resolves through usergroups.users.list;
// both lookups are held until both replicas wait on them, so the two
// approvals reach Redis together. The termination runs exactly once.
func TestTwoOfThreeApproversAcrossReplicas(t *testing.T) {
	t.Parallel()
	c := newCluster(t, withPolicy(leadsPolicy("4h")))
	c.slack.SetUserGroup(leadsGroup, leadAlice, leadBob, leadCarol)
	c.start("a")
	c.start("b")

	_, reply := c.command(adminUser, opsChan, "/sim terminate 0471 00 00 05")
	ack := c.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	req := c.requestMessage(approvalsChan)
	if !strings.Contains(string(req.Blocks), "subteam^"+leadsGroup) || !strings.Contains(req.Text, "0 of 2 approvals in") {
		t.Errorf("approval request = %q %s, want the group named and 2 approvals missing", req.Text, req.Blocks)
	}
	id := buttonValue(t, req.Blocks, "approve")
	c.waitFor("the requester told where the request waits", func() bool {
		for _, m := range c.slack.ResponseURLPosts(ack.ResponseURL) {
			if strings.Contains(m.Text, "<#"+approvalsChan+">") {
				return true
			}
		}
		return false
	})

	c.slack.Hold("usergroups.users.list", 2)
	var wg sync.WaitGroup
	for _, lead := range []string{leadBob, leadCarol} {
		wg.Go(func() { c.click(lead, approvalsChan, "approve", id) })
	}
	c.waitFor("both replicas to look up the approver group", func() bool { return c.slack.Holding() == 2 })
	c.slack.Release()
	wg.Wait()

	c.waitFor("the termination to finish", func() bool {
		for _, p := range c.parents(opsChan) {
			if strings.Contains(p.Text, "all 1 done") {
				return true
			}
		}
		return false
	})
	if got := len(c.encoCalls("/m2m/1.0.0/requests/termination")); got != 1 {
		t.Errorf("termination requests = %d, want exactly 1", got)
	}
	if got := c.auditDecisions("sim.terminate"); got["approved"] != 2 || got["executed after approval"] != 1 {
		t.Errorf("audit decisions = %v, want 2 approvals and 1 execution", got)
	}
	for _, replica := range []string{"a: ", "b: "} {
		if !hasLogLine(c.logs.String(), replica, `"decision":"approved"`) {
			t.Errorf("replica %s logged no approval: the two clicks did not land on two replicas", strings.TrimSuffix(replica, ": "))
		}
	}
	closed, _ := c.slack.Message(approvalsChan, req.TS)
	if !strings.Contains(closed.Text, "Approved by") || strings.Contains(string(closed.Blocks), `"approve"`) {
		t.Errorf("request after approval = %q %s, want it closed", closed.Text, closed.Blocks)
	}
	// Someone outside the group, even an admin, could not have approved.
	_, reply = c.command(adminUser, opsChan, "/sim terminate 0471 00 00 06")
	c.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	second := c.requestMessage(approvalsChan) // the first one has no buttons now
	c.click(adminUser2, approvalsChan, "approve", buttonValue(t, second.Blocks, "approve"))
	c.waitFor("the refusal of an admin outside the group", func() bool {
		return c.sawEphemeral(approvalsChan, adminUser2, "Only <!subteam^"+leadsGroup+"> can answer this request")
	})
}

func hasLogLine(logs, prefix, text string) bool {
	for _, l := range strings.Split(logs, "\n") {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, text) {
			return true
		}
	}
	return false
}

// TestApprovalCountsEachApproverOnceAndCanBeDenied: a repeated click counts
// once and the request shows who approved and what is missing; the pending
// lists and the Home tab show what waits; a deny with a reason ends it, and
// both the request and the requester's thread say so.
func TestApprovalCountsEachApproverOnceAndCanBeDenied(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(leadsPolicy("4h")))
	h.slack.SetUserGroup(leadsGroup, leadAlice, leadBob, leadCarol)
	_, reply := h.command(adminUser, opsChan, "/sim terminate 0471 00 00 07")
	h.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	req := h.requestMessage(approvalsChan)
	id := buttonValue(t, req.Blocks, "approve")

	h.click(leadAlice, approvalsChan, "approve", id)
	h.waitFor("alice's approval on the request", func() bool {
		m, _ := h.slack.Message(approvalsChan, req.TS)
		return strings.Contains(m.Text, "Approved by <@"+leadAlice+">; 1 of 2 approvals in, 1 more needed")
	})
	h.click(leadAlice, approvalsChan, "approve", id)
	h.waitFor("alice told her approval counts once", func() bool { return h.sawEphemeral(approvalsChan, leadAlice, "it counts once") })
	if m, _ := h.slack.Message(approvalsChan, req.TS); !strings.Contains(m.Text, "1 of 2 approvals in") {
		t.Errorf("request after a repeated click = %q, want still 1 of 2", m.Text)
	}

	// What waits, for an approver, the requester, and someone else.
	if _, got := h.command(leadBob, approvalsChan, "/sim approvals"); !strings.Contains(got.Text, "Waiting for your approval* (1)") || !strings.Contains(got.Text, "Terminate 1 SIM card") || !strings.Contains(got.Text, id[:8]) {
		t.Errorf("/sim approvals for bob = %q, want the request waiting for him", got.Text)
	}
	if _, got := h.command(leadAlice, approvalsChan, "/sim approvals"); !strings.Contains(got.Text, "No request waits for your approval") {
		t.Errorf("/sim approvals for alice, who approved = %q, want nothing waiting for her", got.Text)
	}
	if _, got := h.command(adminUser, opsChan, "/sim approvals"); !strings.Contains(got.Text, "Your requests waiting for approval* (1)") || !strings.Contains(got.Text, "asked by you") {
		t.Errorf("/sim approvals for the requester = %q, want his request", got.Text)
	}
	if _, got := h.command(opsUser, opsChan, "/sim approvals"); !strings.Contains(got.Text, "No request waits for your approval, and none of yours") {
		t.Errorf("/sim approvals for someone else = %q, want nothing", got.Text)
	}
	if home := h.openHome(leadCarol); !strings.Contains(home, "Waiting for your approval* (1)") || !strings.Contains(home, "Terminate 1 SIM card") {
		t.Errorf("carol's Home tab = %q, want the request waiting for her", home)
	}

	// Bob denies it, with a reason.
	if _, got := h.command(leadBob, approvalsChan, "/sim approvals deny "+id[:8]+" wrong card, see <!channel>"); !strings.Contains(got.Text, "You denied Terminate 1 SIM card") {
		t.Errorf("deny answer = %q", got.Text)
	}
	h.waitFor("the request closed as denied", func() bool {
		m, _ := h.slack.Message(approvalsChan, req.TS)
		return strings.Contains(m.Text, "Denied by <@"+leadBob+">")
	})
	closed, _ := h.slack.Message(approvalsChan, req.TS)
	if strings.Contains(string(closed.Blocks), `"approve"`) || !strings.Contains(string(closed.Blocks), `Reason: wrong card, see \u0026lt;!channel\u0026gt;`) {
		t.Errorf("denied request = %s, want no buttons and the reason, escaped", closed.Blocks)
	}
	thread := h.approvalThread(opsChan)
	h.waitFor("the requester told in the thread", func() bool {
		for _, m := range h.slack.Thread(opsChan, thread.TS) {
			if strings.Contains(m.Text, "<@"+adminUser+"> :no_entry_sign: Denied by <@"+leadBob+">") {
				return true
			}
		}
		return false
	})
	h.click(leadCarol, approvalsChan, "approve", id)
	h.waitFor("a late approval told the request was denied", func() bool { return h.sawEphemeral(approvalsChan, leadCarol, "Denied by") })
	if got := len(h.encoCalls("/m2m/1.0.0/requests/termination")); got != 0 {
		t.Errorf("termination requests = %d, want 0 after a denial", got)
	}
	if got := h.auditDecisions("sim.terminate"); got["approved"] != 1 || got["approval denied"] != 1 || got["executed after approval"] != 0 {
		t.Errorf("audit decisions = %v, want 1 approval, 1 denial, no execution", got)
	}
}

// approvalThread finds the requester's thread: the first message the bot
// posted in channel that is no approval request.
func (h *harness) approvalThread(channel string) slacktest.Message {
	h.t.Helper()
	var found slacktest.Message
	h.waitFor("the requester's thread in "+channel, func() bool {
		for _, m := range h.slack.Messages(channel) {
			if !m.Ephemeral && m.ThreadTS == "" && !strings.Contains(string(m.Blocks), `"block_id":"approval:`) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// TestApprovalExpires: an unanswered request ends at its deadline, reported
// once though two sweeps run; the request and the requester's thread say
// so, and a later click changes nothing.
func TestApprovalExpires(t *testing.T) {
	t.Parallel()
	c := newCluster(t, withPolicy(leadsPolicy("300ms")), withMain(func(m *Main) { m.Router.Approvals().Tick = 50 * time.Millisecond }))
	c.slack.SetUserGroup(leadsGroup, leadAlice, leadBob, leadCarol)
	c.start("a")
	c.start("b")
	_, reply := c.command(adminUser, opsChan, "/sim terminate 0471000005")
	c.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	req := c.requestMessage(approvalsChan)
	c.waitFor("the request to expire", func() bool {
		m, _ := c.slack.Message(approvalsChan, req.TS)
		return strings.Contains(m.Text, "Expired")
	})
	thread := c.approvalThread(opsChan)
	c.waitFor("the requester told in the thread", func() bool {
		for _, m := range c.slack.Thread(opsChan, thread.TS) {
			if strings.Contains(m.Text, "Expired: Terminate 1 SIM card") {
				return true
			}
		}
		return false
	})
	if m, _ := c.slack.Message(opsChan, thread.TS); !strings.Contains(m.Text, "Expired") {
		t.Errorf("requester's thread = %q, want it to say the request expired", m.Text)
	}
	c.click(leadAlice, approvalsChan, "approve", buttonValue(t, req.Blocks, "approve"))
	c.waitFor("the late approver told", func() bool { return c.sawEphemeral(approvalsChan, leadAlice, "Expired") })
	if got := c.auditDecisions("sim.terminate")["approval expired"]; got != 1 {
		t.Errorf("expiry audit entries = %d, want 1", got)
	}
	if n := len(c.slack.Thread(opsChan, thread.TS)); n != 1 {
		t.Errorf("replies in the requester's thread = %d, want 1 (the expiry, reported once)", n)
	}
	if got := len(c.encoCalls("/m2m/1.0.0/requests/termination")); got != 0 {
		t.Errorf("termination requests = %d, want 0 after expiry", got)
	}
}

// TestApprovalTargetsOver: a rule with targets_over holds back only the
// changes naming more cards than that.
func TestApprovalTargetsOver(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(leadsPolicy("4h")))
	_, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001, 0471000002")
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("two cards deactivated without approval", func() bool {
		for _, p := range h.parents(opsChan) {
			if strings.Contains(p.Text, "all 2 done") {
				return true
			}
		}
		return false
	})
	if _, ok := h.approvalMessage(opsChan); ok {
		t.Error("an approval request for two cards, want none (targets_over: 2)")
	}
	_, reply = h.command(opsUser, opsChan, "/sim deactivate 0471000005, 0471000008, 0471000010")
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	req := h.requestMessage(opsChan) // no channel: the request's own
	if !strings.Contains(string(req.Blocks), "big-deactivations") || !strings.Contains(req.Text, "0 of 1 approvals in") {
		t.Errorf("request = %q %s, want rule big-deactivations, 1 approval", req.Text, req.Blocks)
	}
	if got := len(h.encoCalls("/m2m/1.0.0/requests/deactivation")); got != 2 {
		t.Errorf("deactivation requests = %d, want 2 (one for each of the two cards only)", got)
	}
	// A holder of sim.deactivate approves: the three cards go.
	h.click(adminUser, opsChan, "approve", buttonValue(t, req.Blocks, "approve"))
	h.waitFor("three cards deactivated after approval", func() bool {
		for _, p := range h.parents(opsChan) {
			if strings.Contains(p.Text, "all 3 done") && strings.Contains(p.Text, "approved by <@"+adminUser+">") {
				return true
			}
		}
		return false
	})
}

// TestApprovalCanBeCancelledByTheRequester: the requester's cancel ends
// the request; its buttons no longer work.
func TestApprovalCanBeCancelledByTheRequester(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(approvalPolicy))
	_, reply := h.command(adminUser, opsChan, "/sim terminate 0471000006")
	h.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	req := h.requestMessage(opsChan)
	thread := h.approvalThread(opsChan)
	h.click(adminUser2, opsChan, "cancel_request", buttonValue(t, thread.Blocks, "cancel_request"))
	h.waitFor("someone else refused the cancel", func() bool { return h.sawEphemeral(opsChan, adminUser2, "can cancel this request") })
	h.click(adminUser, opsChan, "cancel_request", buttonValue(t, thread.Blocks, "cancel_request"))
	h.waitFor("the cancelled request", func() bool {
		m, _ := h.slack.Message(opsChan, req.TS)
		return strings.Contains(m.Text, "Cancelled by <@"+adminUser+">")
	})
	h.waitFor("the requester's thread to say it was cancelled", func() bool {
		m, _ := h.slack.Message(opsChan, thread.TS)
		return strings.Contains(m.Text, "Cancelled by") && !strings.Contains(string(m.Blocks), "cancel_request")
	})
	h.click(adminUser2, opsChan, "approve", buttonValue(t, req.Blocks, "approve"))
	h.waitFor("the refusal", func() bool { return h.sawEphemeral(opsChan, adminUser2, "Cancelled by") })
	if got := len(h.encoCalls("/m2m/1.0.0/requests/termination")); got != 0 {
		t.Errorf("termination requests = %d, want 0 after cancel", got)
	}
	if got := h.auditDecisions("sim.terminate")["approval cancelled"]; got != 1 {
		t.Errorf("cancel audit entries = %d, want 1", got)
	}
}

// stepApprovalPolicy lets workflows deactivate SIM cards, two or more of
// them only with opsUser2's approval in the approvals channel.
const stepApprovalPolicy = stepPolicy + `approvals:
  - name: fleet
    permissions: [sim.deactivate]
    targets_over: 1
    approvers: [` + opsUser2 + `]
    channel: ` + approvalsChan + `
`

// TestStepWaitsForApproval: a workflow step's change that a rule covers
// waits for its approval like a slash command's; approved, it runs and the
// step completes with its outputs; denied, the step fails saying so, and
// nothing is sent to EnCo.
func TestStepWaitsForApproval(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(stepApprovalPolicy))
	inputs := simChangeInputs(opsUser, "deactivate", demoMSISDN(1)+", "+demoMSISDN(2))
	inputs["channel_id"] = opsChan
	exec := h.step("sim_change", inputs)
	h.click(opsUser, h.slack.DMChannel(opsUser), "confirm", h.dmButton(opsUser, "confirm"))
	req := h.requestMessage(approvalsChan)
	if calls := h.changeCalls(); len(calls) != 0 {
		t.Fatalf("EnCo changes before the approval: %v", calls)
	}
	if got := h.slack.FunctionCompletions(exec); len(got) != 0 {
		t.Fatalf("step completed before the approval: %+v", got)
	}
	h.click(opsUser2, approvalsChan, "approve", buttonValue(t, req.Blocks, "approve"))
	got := h.completion(exec)
	h.completedOnce(exec)
	if !got.Success || fmt.Sprint(got.Outputs["succeeded"]) != "2" {
		t.Errorf("completion after approval: %+v, want success with 2 cards", got)
	}
	// A change of a few cards is one request per card.
	calls := h.changeCalls()
	if len(calls) != 2 || !strings.HasSuffix(calls[0], "/requests/deactivation") || !strings.HasSuffix(calls[1], "/requests/deactivation") {
		t.Errorf("EnCo changes: got %v, want a deactivation request for each of the 2 cards", calls)
	}

	// The same, denied.
	inputs = simChangeInputs(opsUser, "deactivate", demoMSISDN(5)+", "+demoMSISDN(8))
	inputs["channel_id"] = opsChan
	exec = h.step("sim_change", inputs)
	var confirm string
	h.waitFor("the second step's confirmation", func() bool {
		dms := h.slack.DirectMessages(opsUser)
		confirm = findButton(dms[len(dms)-1].Blocks, "confirm")
		return len(dms) >= 2 && confirm != ""
	})
	h.click(opsUser, h.slack.DMChannel(opsUser), "confirm", confirm)
	req = h.requestMessage(approvalsChan)
	h.click(opsUser2, approvalsChan, "deny", buttonValue(t, req.Blocks, "deny"))
	got = h.completion(exec)
	h.completedOnce(exec)
	if got.Success || !strings.Contains(got.Error, "Denied by") {
		t.Errorf("completion after a denial: %+v, want a failure saying it was denied", got)
	}
	if calls := h.changeCalls(); len(calls) != 2 {
		t.Errorf("EnCo changes after the denial: got %v, want still only the first step's 2", calls)
	}
}

// TestApprovalChannelWithoutTheBot: when the bot is not in the rule's
// channel, the request is withdrawn and the requester and their thread are
// told how to fix it; nothing is sent to EnCo and nothing is left pending.
func TestApprovalChannelWithoutTheBot(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(leadsPolicy("4h")))
	h.slack.NotInChannel(approvalsChan)
	_, reply := h.command(adminUser, opsChan, "/sim terminate 0471000005")
	ack := h.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the requester told to invite the bot", func() bool {
		for _, m := range h.slack.ResponseURLPosts(ack.ResponseURL) {
			if strings.Contains(m.Text, "I can't post the approval request in <#"+approvalsChan+"> because I'm not a member") {
				return true
			}
		}
		return false
	})
	thread := h.approvalThread(opsChan)
	h.waitFor("the requester's thread to say nothing was changed", func() bool {
		m, _ := h.slack.Message(opsChan, thread.TS)
		return strings.Contains(m.Text, "Nothing was changed") && !strings.Contains(string(m.Blocks), "cancel_request")
	})
	if _, got := h.command(adminUser, opsChan, "/sim approvals"); !strings.Contains(got.Text, "none of yours waits") {
		t.Errorf("/sim approvals = %q, want nothing pending", got.Text)
	}
	if got := len(h.encoCalls("/m2m/1.0.0/requests/termination")); got != 0 {
		t.Errorf("termination requests = %d, want 0", got)
	}
}

// TestMalformedApprovalRulesStopStartUp: a policy whose approval rules are
// wrong stops the bot at start-up, naming POLICY_FILE and each problem with
// its line, before anything is sent anywhere.
func TestMalformedApprovalRulesStopStartUp(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "policy.yml")
	policy := testPolicy + `approvals:
  - name: terminate
    permissions: [sim.terminate]
    required: 0
    channel: "#approvals"
    expires: -4h
    approver: [U0ALICE001]
`
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	err, h := runToItsEnd(t, func(c *Config) { c.PolicyFile = path })
	if err == nil || !strings.HasPrefix(err.Error(), "POLICY_FILE: ") {
		t.Fatalf("start-up ended with %v, want an error naming POLICY_FILE", err)
	}
	// Unknown keys are refused first, by the strict reading.
	if !strings.Contains(err.Error(), `line 17: unknown key "approver" in an approval rule`) {
		t.Errorf("error = %q, want the unknown key and its line", err)
	}
	fixed := strings.Replace(policy, "    approver: [U0ALICE001]\n", "", 1)
	if err := os.WriteFile(path, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	err, h = runToItsEnd(t, func(c *Config) { c.PolicyFile = path })
	for _, want := range []string{"line 14: approval rule \"terminate\": required is 0", "line 15: approval rule \"terminate\": channel \"#approvals\" is not a channel ID", "line 16: approval rule \"terminate\": expires is -4h"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	}
	if n := len(h.enco.Requests()); n != 0 {
		t.Errorf("EnCo got %d requests from a bot that should not have started", n)
	}
}
