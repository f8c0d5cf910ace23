package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard"
)

// The EnCo answers that need their own words, each end to end against the
// sandbox: a retired Voice Call-out API, ENCO_VOICE=off, a refused
// subscription (403), throttling (429 with Retry-After), and a reservation
// of another number than the one asked for.

// httpDetail matches what a person should not see of a refusal: the HTTP
// status and the gateway's own words.
var httpDetail = regexp.MustCompile(`HTTP|\b40[14]\b|\b410\b|No matching resource|\(code `)

// noHTTPDetail fails the test when a person's answer shows HTTP details.
func noHTTPDetail(t *testing.T, text string) {
	t.Helper()
	if w := httpDetail.FindString(text); w != "" {
		t.Errorf("answer %q shows %q, want no HTTP detail", text, w)
	}
}

func TestCallSaysTheRetiredVoiceAPIIsNotAvailable(t *testing.T) {
	h := newTelHarness(t)
	h.enco.RetireVoice(http.StatusNotFound)
	h.command(telStaff, telChan, "/call 0468 37 39 01")
	parent := h.telParent(telChan, "not carried out")
	thread := h.telThread(telChan, parent.TS, 1)
	if !telHasAll(thread[0].Text, "The call was not placed", "EnCo's Voice Call-out API is not available for this account", "retired", "ENCO_VOICE=off") {
		t.Errorf("thread = %q, want the retired API named plainly", thread[0].Text)
	}
	noHTTPDetail(t, thread[0].Text)

	h.enco.RetireVoice(http.StatusGone)
	ack, _ := h.command(telStaff, telChan, "/call cdr")
	got := h.telResponse(ack, "Voice Call-out API")
	if !telHasAll(got.Text, "not available for this account", "retired") {
		t.Errorf("/call cdr = %q, want the retired API named plainly", got.Text)
	}
	noHTTPDetail(t, got.Text)
}

func TestVoiceOffSwitchesCallOff(t *testing.T) {
	// Callers hold no fmu.self, so that the Home tab lists what they may do.
	policy := `roles:
  - name: callers
    members: [` + telStaff + `]
    permissions: [call.self, call.any, number.read]
directory:
  ` + telStaff + `: {fixed: "3228160257"}
`
	h := newHarness(t, withPolicy(policy), func(h *harness) { h.cfg.EncoVoice = "off" })
	for _, text := range []string{"/call 0468 37 39 01", "/call cdr", "/call"} {
		_, reply := h.command(telStaff, telChan, text)
		if !telHasAll(reply.Text, "`/call` is switched off", "Voice Call-out API", "ENCO_VOICE=off") {
			t.Errorf("%s = %q, want /call switched off", text, reply.Text)
		}
	}
	_, reply := h.command(telStaff, telChan, "/call help")
	if !strings.Contains(reply.Text, "ENCO_VOICE=off") {
		t.Errorf("/call help = %q, want it to name ENCO_VOICE=off", reply.Text)
	}
	if got := h.encoCalls("/vca/"); len(got) != 0 {
		t.Errorf("voice API calls = %d, want none", len(got))
	}
	// The other commands work as before; the Home tab offers no /call.
	ack, _ := h.command(telStaff, telChan, "/number list")
	h.telResponse(ack, "The account holds 1 number")
	if home := h.openHome(telStaff); strings.Contains(home, "/call") || !strings.Contains(home, "/number available") {
		t.Errorf("Home tab = %q, want /number and no /call", home)
	}
}

func TestForbiddenNamesTheAPIAndTheOperatorsPart(t *testing.T) {
	h := newTelHarness(t)
	h.enco.FailNext(1, http.StatusForbidden)
	ack, _ := h.command(telStaff, telChan, "/number list")
	got := h.telResponse(ack, "refused the bot access")
	if !telHasAll(got.Text, "FlexIO Number Management API", "An operator must check the bot's EnCo credentials and the account's subscription") {
		t.Errorf("answer = %q, want the API named and what an operator must check", got.Text)
	}
	if strings.Contains(got.Text, "could not be reached") {
		t.Errorf("answer = %q, want no 'could not be reached' for a refusal", got.Text)
	}
	if n := len(h.encoCalls("/cpaas-mgmt/")); n != 1 {
		t.Errorf("number API calls = %d, want 1 (a 403 is not retried)", n)
	}
}

func TestThrottledSaysWhenToTryAgain(t *testing.T) {
	h := newTelHarness(t)
	// A call is a write, never retried: EnCo's wait goes to the person.
	h.enco.SetRetryAfter(2 * time.Minute)
	h.enco.FailNext(1, http.StatusTooManyRequests)
	h.command(telStaff, telChan, "/call 0468 37 39 01")
	parent := h.telParent(telChan, "not carried out")
	thread := h.telThread(telChan, parent.TS, 1)
	if !telHasAll(thread[0].Text, "EnCo is busy", "Try again in 2 minutes") || strings.Contains(thread[0].Text, "could not be reached") {
		t.Errorf("thread = %q, want EnCo busy and when to try again", thread[0].Text)
	}

	// A read is retried only when EnCo asks for a short wait.
	h.enco.SetRetryAfter(45 * time.Second)
	h.enco.FailNext(1, http.StatusTooManyRequests)
	ack, _ := h.command(telStaff, telChan, "/number available")
	got := h.telResponse(ack, "EnCo is busy")
	if !strings.Contains(got.Text, "Try again in 45 seconds") {
		t.Errorf("answer = %q, want when to try again", got.Text)
	}
	if n := len(h.encoCalls("/cpaas-mgmt/1.0.0/phonenumbers/available")); n != 1 {
		t.Errorf("available requests = %d, want 1 (not retried after 45 s)", n)
	}
}

func TestReserveReportsAndRecordsTheNumberEnCoReserved(t *testing.T) {
	h := newTelHarness(t)
	h.enco.ReserveInstead("3222060742", "3222060745")
	reply := h.reservePrompt(telOps, telChan, "/number reserve 02 206 07 42")
	h.telConfirm(telOps, telChan, reply)
	parent := h.telParent(telChan, "Reserve +32 2 206 07 45 (EnCo's choice; +32 2 206 07 42 was asked for)")
	thread := h.telThread(telChan, parent.TS, 1)
	if !telHasAll(thread[0].Text, "EnCo reserved +32 2 206 07 45", "not +32 2 206 07 42 as asked", "+32 2 206 07 42 was not reserved") {
		t.Errorf("thread = %q, want EnCo's number reported and the difference said", thread[0].Text)
	}
	held := map[string]bool{}
	for _, n := range h.enco.HeldNumbers() {
		held[n.Number] = true
	}
	if !held["3222060745"] || held["3222060742"] {
		t.Fatalf("sandbox holds %v, want 3222060745 and not 3222060742", held)
	}

	entries, err := h.store.RecentAudit(h.ctx, 50, func(e switchboard.AuditEntry) bool { return e.Command == "number.reserve" && e.Decision == "api call" })
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !strings.Contains(entries[0].Detail, "3222060745") {
		t.Errorf("audit = %+v, want one entry naming 3222060745", entries)
	}
	op, ok, err := h.store.Operation(h.ctx, entries[0].OperationID)
	if err != nil || !ok || len(op.Targets) != 1 || !strings.Contains(op.Targets[0].String(), "3222060745") {
		t.Errorf("operation targets = %v (found %t, err %v), want 3222060745", op.Targets, ok, err)
	}
}

// TestSimStatusFileHasEveryServicesThresholds: the file of many cards'
// statuses carries the daily and monthly thresholds of the data, SMS and
// voice services, as the one-card answer does.
func TestSimStatusFileHasEveryServicesThresholds(t *testing.T) {
	h := newHarness(t)
	card, ok := h.enco.SIM("32471000002")
	if !ok {
		t.Fatal("no demo card 32471000002")
	}
	card.SMSDailyThreshold, card.SMSMonthlyThreshold = 10, 200
	card.VoiceDailyThreshold, card.VoiceMonthlyThreshold = 30, 600.5
	h.enco.AddSIM(card)
	var typed []string
	for i := 1; i <= 16; i++ {
		typed = append(typed, fmt.Sprintf("0471 00 00 %02d", i))
	}
	h.command(opsUser, opsChan, "/sim status "+strings.Join(typed, ", "))
	h.waitFor("the CSV of statuses", func() bool { return len(h.slack.Files()) > 0 })
	rows, err := csv.NewReader(bytes.NewReader(h.slack.Files()[0].Content)).ReadAll()
	if err != nil || len(rows) != 17 {
		t.Fatalf("file: %d rows, %v; want a header and 16 cards", len(rows), err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	want := map[string]string{"data_thresholds_daily_monthly": "50/1000", "sms_thresholds_daily_monthly": "10/200", "voice_thresholds_daily_monthly": "30/600.5"}
	for name, v := range want {
		i, ok := col[name]
		if !ok {
			t.Errorf("header %v has no %s", rows[0], name)
			continue
		}
		// The file's writer keeps spreadsheets from reading "+32…" as a
		// formula.
		if got := rows[2][i]; !strings.HasSuffix(rows[2][0], "+32471000002") || got != v {
			t.Errorf("%s of %s = %q, want %q", name, rows[2][0], got, v)
		}
	}
}

// TestCallCDRTakesTillPageAndLimit: /call cdr passes till=, page= and
// limit= on as EnCo's CDR API documents them (page counted from 1 for
// people, from 0 by EnCo), and refuses malformed ones before any API call.
func TestCallCDRTakesTillPageAndLimit(t *testing.T) {
	h := newTelHarness(t)
	// The sandbox has three calls from the staff member's phone, one, two
	// and three hours old.
	refusals := []answerCase{
		{"till not a time", telStaff, "/call cdr till=yesterday", []string{"`till=yesterday` is not a time", "till=7d"}},
		{"till before since", telStaff, "/call cdr since=1d till=2d", []string{"`till=2d` is before the start of the list"}},
		{"page from 1", telStaff, "/call cdr page=0", []string{"`page=0`", "counts from 1"}},
		{"limit too large", telStaff, "/call cdr limit=5000", []string{"`limit=5000`", "1 to 1000"}},
		{"limit not a number", telStaff, "/call cdr limit=ten", []string{"`limit=ten`"}},
		{"till twice", telStaff, "/call cdr till=1h till=2h", []string{"`till=` is given twice"}},
	}
	h.wantAnswers(t, telChan, refusals)
	if got := h.encoCalls("/vca/"); len(got) != 0 {
		t.Fatalf("voice API calls after refusals = %d, want 0", len(got))
	}

	ack, _ := h.command(telStaff, telChan, "/call cdr till=90m")
	got := h.telResponse(ack, "Your calls since")
	if !telHasAll(got.Text, "until ", ": 2, 0 answered", "busy", "no such number") {
		t.Errorf("till=90m answer = %q, want the two calls older than 90 minutes", got.Text)
	}
	ack, _ = h.command(telStaff, telChan, "/call cdr page=2 limit=1")
	got = h.telResponse(ack, "Your calls since")
	if !telHasAll(got.Text, "(page 2, 1 calls a page)", ": 1, 0 answered", "busy") {
		t.Errorf("page=2 limit=1 answer = %q, want EnCo's second call alone", got.Text)
	}
	reqs := h.encoCalls("/vca/1.0.0/cdr")
	if len(reqs) != 2 {
		t.Fatalf("CDR requests = %d, want 2", len(reqs))
	}
	if q := reqs[0].Query; q.Get("till") == "" || q.Get("from") == "" {
		t.Errorf("till=90m request %v, want from and till", q)
	}
	if q := reqs[1].Query; q.Get("page") != "1" || q.Get("limit") != "1" {
		t.Errorf("page=2 limit=1 request %v, want EnCo's page=1 and limit=1", q)
	}
}

// TestSimStatusStopsAtARefusedAPIKey: when EnCo refuses the M2M API (a key
// or subscription withdrawn while the bot runs), /sim status of several
// cards asks once, not once per card, and names the API and what an
// operator must check.
func TestSimStatusStopsAtARefusedAPIKey(t *testing.T) {
	h := newHarness(t)
	h.enco.ResetRequests()
	h.enco.FailNext(3, http.StatusForbidden)
	ack, _ := h.command(opsUser, opsChan, "/sim status 0471 00 00 01, 0471 00 00 02, 0471 00 00 03")
	got := h.telResponse(ack, "refused the bot access")
	if !telHasAll(got.Text, "M2M SIM API", "subscription") {
		t.Errorf("answer = %q, want the M2M SIM API named and the subscription to check", got.Text)
	}
	if n := len(h.encoCalls("/m2m/1.0.0/simcards")); n != 1 {
		t.Errorf("SIM card lookups = %d, want 1", n)
	}
}
