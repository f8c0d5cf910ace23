package main

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// /call cdr shows times in the requester's time zone, as the rest of the
// bot does, rather than in UTC.
func TestCallCDRsInThePersonsTimeZone(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	h.slack.SetUser(slack.User{ID: telStaff, Name: "staff", TZ: "America/New_York"})
	ack, _ := h.command(telStaff, telChan, "/call cdr")
	got := h.telResponse(ack, "Your calls since")
	if !telHasAll(got.Text, "When ") || !strings.Contains(got.Text, " EST") || strings.Contains(got.Text, "UTC") {
		t.Errorf("CDR answer = %q, want times in New York time (EST), none in UTC", got.Text)
	}
}

// A call with a hidden caller id says so, to the caller and in its title.
func TestCallWithHiddenNumberSaysSo(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	_, reply := h.command(telStaff, telChan, "/call 0468 37 39 01 hidden")
	if !strings.Contains(reply.Text, "Your number is hidden: the person called sees no caller id.") {
		t.Errorf("ack = %q, want it to say the number is hidden", reply.Text)
	}
	parent := h.telParent(telChan, "all 1 done")
	if !strings.Contains(parent.Text, "Call +32 468 37 39 01 from +32 2 816 02 57, number hidden") {
		t.Errorf("parent = %q, want the title to say the number is hidden", parent.Text)
	}
}
