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
