package main

import (
	"testing"
	"time"
)

// An "until"/"for" that replaces a pending one says what it replaced and
// what it will restore, rather than only what the profile is now.
func TestSetForAWhileSaysWhatItReplaces(t *testing.T) {
	t.Parallel()
	// Saturday 7 March 2026, 13:00 in Brussels.
	clk := newTestClock(time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC))
	h := newHarness(t, withPolicy(telephonyPolicy), withClock(clk))

	ack, _ := h.command(telStaff, telChan, "/fmu on-duty until 18:00")
	h.telResponse(ack, "I will set it back to *Private* at Sat 7 Mar 18:00 CET")
	first := h.waitSchedule(telStaff, time.Date(2026, 3, 7, 17, 0, 0, 0, time.UTC))

	// Back to the profile the pending change would restore: nothing is
	// left to change back, and the answer says why.
	ack, _ = h.command(telStaff, telChan, "/fmu private for 2h")
	got := h.telResponse(ack, "Your FMU profile")
	if !telHasAll(got.Text, "is now *Private* again", "replaces your earlier change (*On duty* until Sat 7 Mar 18:00 CET, `"+first.ID+"`)",
		"would have set it back to *Private*", "nothing left to change back") {
		t.Errorf("answer = %q, want it to name the On duty it replaced and that nothing is left to restore", got.Text)
	}
	if left := h.schedules(telStaff); len(left) != 0 {
		t.Errorf("schedules left: %+v, want none", left)
	}

	// To a third profile: the answer names the change replaced and the
	// profile it will restore, the one from before both.
	ack, _ = h.command(telStaff, telChan, "/fmu on-duty until 18:00")
	h.telResponse(ack, "I will set it back to *Private*")
	second := h.waitSchedule(telStaff, time.Date(2026, 3, 7, 17, 0, 0, 0, time.UTC))
	ack, _ = h.command(telStaff, telChan, "/fmu professional for 2h")
	got = h.telResponse(ack, "Your FMU profile")
	if !telHasAll(got.Text, "is now *Professional*", "replaces your earlier change (*On duty* until Sat 7 Mar 18:00 CET, `"+second.ID+"`)",
		"set it back to *Private*, the profile you had before that change, at Sat 7 Mar 15:00 CET") {
		t.Errorf("answer = %q, want the replaced On duty and the Private it restores at 15:00", got.Text)
	}
}
