package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/permissions"
)

// profileApprovalPolicy asks a second person to approve any FMU profile
// change, one's own included.
const profileApprovalPolicy = homePolicy + `approvals:
  - name: profiles
    permissions: [fmu.self]
`

// TestHomeTabClickHonoursApprovals: a Home tab button is not a way around
// an approval rule covering one's own profile; the click changes nothing
// and says how to ask for it.
func TestHomeTabClickHonoursApprovals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(profileApprovalPolicy))
	h.openHome(telStaff)
	v, _ := h.homeView(telStaff, 1)
	h.homeClick(telStaff, v, string(enco.ProfileOnDuty))
	_, after := h.homeView(telStaff, 2)
	if !telHasAll(after, "approval", "/fmu on-duty") {
		t.Errorf("view after the click = %s, want it to say the change needs approval and how to ask", after)
	}
	if n := h.fmuCalls(http.MethodPut, "", ""); n != 0 {
		t.Errorf("PUT status calls = %d, want none before an approval", n)
	}
	if strings.Contains(after, "Set to *On duty*") {
		t.Errorf("view claims the profile was set: %s", after)
	}
}

// TestOwnProfileStepHonoursApprovals: a workflow a person starts to set
// their own profile skips the confirmation, but not an approval rule
// covering it: the step asks for the confirmation, whose click asks for
// the approval, and nothing changes before.
func TestOwnProfileStepHonoursApprovals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(stepPolicy+`approvals:
  - name: profiles
    permissions: [fmu.self]
`))
	exec := h.step("set_fmu_profile", map[string]any{"user_id": opsUser, "profile": "ON_DUTY",
		"interactivity": map[string]any{"interactivity_pointer": "1.2.abc", "interactor": map[string]any{"id": opsUser, "secret": "s"}}})
	if confirm := h.dmButton(opsUser, "confirm"); confirm == "" {
		t.Fatal("own profile under an approval rule: no confirm button in the DM")
	}
	if calls := h.changeCalls(); len(calls) != 0 {
		t.Errorf("EnCo changes before any approval: %v", calls)
	}
	if got := h.slack.FunctionCompletions(exec); len(got) != 0 {
		t.Errorf("step completed before any approval: %+v", got)
	}
}

// TestRefusedApprovalsDoNotFloodTheAudit: someone who may not answer a
// request and keeps trying is refused every time, but the audit trail
// records the refusals only within the allowance of audited refusals.
func TestRefusedApprovalsDoNotFloodTheAudit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(leadsPolicy("4h")))
	h.slack.SetUserGroup(leadsGroup, leadAlice, leadBob, leadCarol)
	_, reply := h.command(adminUser, opsChan, "/sim terminate 0471 00 00 07")
	h.click(adminUser, opsChan, "confirm", reply.button(t, "confirm"))
	req := h.requestMessage(approvalsChan)
	id := buttonValue(t, req.Blocks, "approve")
	const tries = 3 * permissions.DefaultChangesPerMinute
	for range tries {
		if _, got := h.command(opsUser, opsChan, "/sim approvals deny "+id[:8]+" no"); !strings.Contains(got.Text, ":no_entry:") {
			t.Fatalf("deny by someone not an approver = %q, want a refusal", got.Text)
		}
	}
	if n := h.auditDecisions("sim.terminate")["deny refused"]; n == 0 || n > permissions.DefaultChangesPerMinute {
		t.Errorf("audited refusals after %d tries = %d, want between 1 and %d", tries, n, permissions.DefaultChangesPerMinute)
	}
	if m, _ := h.slack.Message(approvalsChan, req.TS); !strings.Contains(m.Text, "No approval yet") {
		t.Errorf("request after the refusals = %q, want it still waiting", m.Text)
	}
}
