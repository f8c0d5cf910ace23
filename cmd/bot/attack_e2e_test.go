package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-bot/switchboard/enco"
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
