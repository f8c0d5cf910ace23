package main

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
)

// A weekly rule added inside its hours applies its profile now, not from
// its next start, and then goes on as usual.
func TestWeeklyRuleAddedInItsHoursAppliesNow(t *testing.T) {
	t.Parallel()
	loc := brussels(t)
	// Tuesday 10 March 2026, 10:00 in Brussels: inside weekdays 08:00-18:00.
	clk := newTestClock(time.Date(2026, 3, 10, 10, 0, 0, 0, loc))
	h := newHarness(t, withPolicy(telephonyPolicy), withClock(clk))
	const mobile = "32470000002" // telFleet's

	reply := h.scheduleWeekly(telFleet, "/fmu schedule weekdays 08:00-18:00 professional else private")
	if !telHasAll(reply.Text, "its hours have begun, so I am setting *Professional* now", "next change to *Private* at Tue 10 Mar 18:00 CET") {
		t.Errorf("answer = %q, want the profile set now and the end of today's hours next", reply.Text)
	}
	msg := h.dm(telFleet, 1)
	if !strings.Contains(msg.Text, "is now *Professional*") {
		t.Errorf("direct message = %q, want the change made now", msg.Text)
	}
	if p, _ := h.enco.FMU(mobile); p != string(enco.ProfileProfessional) {
		t.Errorf("sandbox profile = %q, want PROFESSIONAL at once", p)
	}
	h.waitSchedule(telFleet, time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC))
}
