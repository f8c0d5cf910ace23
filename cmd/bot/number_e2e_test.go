package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
)

func TestNumberAvailableAndList(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	ack, _ := h.command(telStaff, telChan, "/number available zone=02 type=fixed")
	got := h.telResponse(ack, "available (zone 02, fixed)")
	if !telHasAll(got.Text, "*6 numbers available", "`+32 2 206 07 42` — fixed, zone 02, regular tier", "`+32 2 222 22 22` — fixed, zone 02, premium tier") || strings.Contains(got.Text, "+32 3 ") {
		t.Errorf("available = %q, want the six zone-02 numbers and no others", got.Text)
	}
	calls := h.encoCalls("/cpaas-mgmt/1.0.0/phonenumbers/available")
	if len(calls) != 1 || calls[0].Query.Get("zone") != "02" || calls[0].Query.Get("type") != "FIXED" {
		t.Errorf("available requests = %+v, want one with zone=02 and type=FIXED", calls)
	}

	ack, _ = h.command(telStaff, telChan, "/number list")
	if got := h.telResponse(ack, "The account holds 1 number"); !strings.Contains(got.Text, "+32 2 816 02 57") {
		t.Errorf("list = %q, want the held number", got.Text)
	}
}

// reservePrompt sends /number reserve …, checks that the acknowledgement
// says the number is being looked up, and returns the confirmation that
// follows through the response URL.
func (h *harness) reservePrompt(user, channel, text string) ackReply {
	h.t.Helper()
	found := h.answeredAfterAck(user, channel, text, "in EnCo's list of available numbers…")
	return ackReply{Text: found.Text, Blocks: found.Blocks}
}

// reserved returns the reservations (POSTs) EnCo received.
func (h *harness) reserved() []sandbox.Request {
	var calls []sandbox.Request
	for _, r := range h.encoCalls("/cpaas-mgmt/1.0.0/phonenumbers") {
		if r.Method == "POST" {
			calls = append(calls, r)
		}
	}
	return calls
}

func TestNumberReserveStatesBillingAndTheLawThenReserves(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	reply := h.reservePrompt(telOps, telChan, "/number reserve 02 206 07 42")
	if !telHasAll(reply.Text+string(reply.Blocks), "Reserve +32 2 206 07 42", "zone 02, regular tier", "billed by the month",
		"By confirming you declare a business or personal address in zone 02, as Belgian law requires") {
		t.Fatalf("confirmation = %q %s, want the monthly billing and the zone-address declaration", reply.Text, reply.Blocks)
	}
	if got := h.reserved(); len(got) != 0 {
		t.Fatalf("number reserved before the confirmation: %+v", got)
	}
	h.telConfirm(telOps, telChan, reply)
	parent := h.telParent(telChan, "all 1 done")
	thread := h.telThread(telChan, parent.TS, 1)
	if !strings.Contains(thread[0].Text, "Reserved +32 2 206 07 42 (fixed, zone 02, regular tier)") {
		t.Errorf("thread = %v, want the reservation reported", texts(thread))
	}
	calls := h.reserved()
	if len(calls) != 1 || calls[0].Query.Get("addressInZoneConfirmed") != "true" {
		t.Errorf("reserve requests = %+v, want one POST with addressInZoneConfirmed=true", calls)
	}
	held := false
	for _, n := range h.enco.HeldNumbers() {
		held = held || n.Number == "3222060742"
	}
	if !held {
		t.Errorf("the sandbox does not hold 3222060742 after the reservation")
	}
}

// A number EnCo lists in its premium tier is reserved only after a
// confirmation that says it is premium, as /number available does.
func TestNumberReservePremiumSaysSo(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	reply := h.reservePrompt(telOps, telChan, "/number reserve 02 222 22 22")
	if !telHasAll(reply.Text+string(reply.Blocks), "Reserve premium number +32 2 222 22 22", "zone 02, premium tier", "It is a *premium* number") {
		t.Errorf("confirmation = %q %s, want it to say the number is premium", reply.Text, reply.Blocks)
	}
	if got := h.reserved(); len(got) != 0 {
		t.Errorf("number reserved before the confirmation: %+v", got)
	}
}

func TestNumberReleaseStatesTheFreezeThenReleases(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	_, reply := h.command(telOps, telChan, "/number release +32 2 816 02 57")
	if !telHasAll(string(reply.Blocks), "Release +32 2 816 02 57", "freezes the number for 15 days", "monthly billing stops") {
		t.Fatalf("confirmation = %s, want the freeze and the end of billing", reply.Blocks)
	}
	h.telConfirm(telOps, telChan, reply)
	parent := h.telParent(telChan, "all 1 done")
	if thread := h.telThread(telChan, parent.TS, 1); !strings.Contains(thread[0].Text, "Released +32 2 816 02 57. It is frozen until") {
		t.Errorf("thread = %v, want the release reported with its freeze", texts(thread))
	}
	if until, frozen := h.enco.FrozenUntil("3228160257"); !frozen || until.Before(time.Now().Add(14*24*time.Hour)) {
		t.Errorf("sandbox freeze = %v, %v; want frozen for 15 days", until, frozen)
	}
}

func TestNumberRefusedByEnCoIsReportedInThread(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	reply := h.reservePrompt(telOps, telChan, "/number reserve 02 816 02 57") // already held
	h.telConfirm(telOps, telChan, reply)
	parent := h.telParent(telChan, "1 failed")
	if thread := h.telThread(telChan, parent.TS, 1); !telHasAll(thread[0].Text, "was not reserved", "EnCo refused it", "already held") {
		t.Errorf("thread = %v, want EnCo's refusal", texts(thread))
	}
}

func TestNumberDeniedOrBadInputCallsNoAPI(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	tests := []answerCase{
		{"reserve without number.reserve", telStaff, "/number reserve 02 206 07 42", []string{"number.reserve"}},
		{"release without number.release", telFleet, "/number release 02 816 02 57", []string{"number.release"}},
		{"bad number", telOps, "/number reserve 02 206", []string{`"02 206"`}},
		{"no number", telOps, "/number release", []string{"needs the number"}},
		{"zone that does not match", telOps, "/number reserve 02 206 07 42 zone=03", []string{"zone=03", "zone 02"}},
		{"bad zone", telStaff, "/number available zone=brussels", []string{"zone=brussels"}},
		{"zone that does not exist", telStaff, "/number available zone=99", []string{"`zone=99`", "no telephone zone 099", "`zone=02`"}},
		{"reserve in a zone that does not exist", telOps, "/number reserve 02 206 07 42 zone=99", []string{"`zone=99`", "no telephone zone 099"}},
		{"bad type", telStaff, "/number available type=landline", []string{"type=landline", "`fixed` or `mobile`"}},
		{"mobile with a zone", telStaff, "/number available zone=02 type=mobile", []string{"no zone"}},
		{"unknown subcommand", telStaff, "/number buy 02 206 07 42", []string{"`buy`", "reserve"}},
		{"premium-rate number", telOps, "/number reserve 0903 12 345", []string{"fixed or mobile"}},
	}
	h.wantAnswers(t, telChan, tests)
	if got := h.encoCalls("/cpaas-mgmt/"); len(got) != 0 {
		t.Errorf("number API calls = %d, want 0", len(got))
	}
}

// TestEveryListedNumberCanBeReserved: every number the sandbox lists is
// one /number reserve takes (3299999999 is missing from libphonenumber's
// tables), and each reservation sends the documented body with the
// attributes of the listing it came from.
func TestEveryListedNumberCanBeReserved(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(telephonyPolicy+"limits:\n  changes_per_minute: 100\n"))
	listed := h.enco.AvailableNumbers()
	if len(listed) < 20 {
		t.Fatalf("the sandbox lists %d numbers, want its 20", len(listed))
	}
	for _, n := range listed {
		reply := h.reservePrompt(telOps, telChan, "/number reserve "+n.Number)
		if !strings.Contains(reply.Text, "Reserve ") {
			t.Errorf("/number reserve %s = %q, want a confirmation", n.Number, reply.Text)
			continue
		}
		h.telConfirm(telOps, telChan, reply)
	}
	h.waitFor("every listed number held", func() bool { return len(h.enco.HeldNumbers()) == len(listed)+1 })

	type body struct {
		Filter      string `json:"filter"`
		Zone        string `json:"zone"`
		Type        string `json:"type"`
		PricingTier string `json:"pricingTier"`
		SupportsSMS bool   `json:"supportsSMS"`
	}
	sent := map[string]body{}
	for _, r := range h.encoCalls("/cpaas-mgmt/1.0.0/phonenumbers") {
		if r.Method != "POST" {
			continue
		}
		var b body
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			t.Fatalf("reserve body %s: %v", r.Body, err)
		}
		for _, field := range []string{`"filter"`, `"zone"`, `"type"`, `"pricingTier"`, `"supportsSMS"`} {
			if !bytes.Contains(r.Body, []byte(field)) {
				t.Errorf("reserve body %s has no %s", r.Body, field)
			}
		}
		sent[b.Filter] = b
	}
	for _, n := range listed {
		want := body{Filter: n.Number, Zone: n.Zone, Type: n.Type, PricingTier: n.PriceTier, SupportsSMS: n.SMSSupported}
		if got := sent[n.Number]; got != want {
			t.Errorf("reserve body for %s = %+v, want %+v (from the listing)", n.Number, got, want)
		}
	}
}

// TestReserveOfAFrozenNumberIsRefusedBeforeTheConfirmation: a number the
// bot released is frozen for 15 days; reserving it is refused at once,
// naming the date, with no confirmation and no API call.
func TestReserveOfAFrozenNumberIsRefusedBeforeTheConfirmation(t *testing.T) {
	h := newTelHarness(t)
	_, reply := h.command(telOps, telChan, "/number release 02 816 02 57")
	h.telConfirm(telOps, telChan, reply)
	h.telParent(telChan, "all 1 done")
	h.enco.ResetRequests()

	_, reply = h.command(telOps, telChan, "/number reserve 02 816 02 57")
	until := time.Now().Add(15 * 24 * time.Hour).UTC().Format("2 January 2006")
	if !telHasAll(reply.Text, "+32 2 816 02 57", "frozen for 15 days", "before "+until) {
		t.Errorf("answer = %q, want the freeze and its end (%s)", reply.Text, until)
	}
	if strings.Contains(string(reply.Blocks), `"confirm"`) {
		t.Errorf("a confirmation was offered for a frozen number: %s", reply.Blocks)
	}
	if got := h.encoCalls("/cpaas-mgmt/"); len(got) != 0 {
		t.Errorf("number API calls = %d, want 0", len(got))
	}
}
