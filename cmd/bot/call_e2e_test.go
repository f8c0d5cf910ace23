package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/notify"
)

// callBody decodes the voice call requests the sandbox received.
func (h *harness) telCalls() []enco.CallRequest {
	h.t.Helper()
	var out []enco.CallRequest
	for _, r := range h.encoCalls("/vca/1.0.0/call") {
		var c enco.CallRequest
		if err := json.Unmarshal(r.Body, &c); err != nil {
			h.t.Fatalf("call request %s: %v", r.Body, err)
		}
		out = append(out, c)
	}
	return out
}

func TestCallPlacesTheCallAndPostsItsRecordInTheThread(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	// The phone rings a moment before the call's record comes, so that the
	// note that EnCo is placing the call has its place before it.
	h.enco.SetCallbackDelay(200 * time.Millisecond)
	ack, reply := h.command(telStaff, telChan, "/call 0468 37 39 01")
	if !telHasAll(reply.Text, "Calling +32 468 37 39 01", "your phone (+32 2 816 02 57) rings first") {
		t.Fatalf("ack = %q, want the destination and the phone that rings first", reply.Text)
	}
	parent := h.telParent(telChan, "all 1 done")
	if !strings.Contains(parent.Text, "Call +32 468 37 39 01 from +32 2 816 02 57") {
		t.Errorf("parent = %q, want the call's title", parent.Text)
	}
	thread := h.telThread(telChan, parent.TS, 1)
	if !telHasAll(thread[0].Text, "Call to +32 468 37 39 01 answered", "21 s", "normal clearing", "session ") {
		t.Errorf("CDR reply = %q, want answered, 21 s and why it ended", thread[0].Text)
	}
	h.telResponse(ack, "EnCo is placing the call (session ")

	calls := h.telCalls()
	if len(calls) != 1 {
		t.Fatalf("call requests = %d, want 1", len(calls))
	}
	c := calls[0]
	if c.Origin != "+3228160257" || c.Destination != "+32468373901" || c.CLI != "" || c.Presentation != "" {
		t.Errorf("call request = %+v, want E.164 origin and destination from the directory, nothing else", c)
	}
	if token := strings.TrimPrefix(c.Callback, h.cfg.PublicURL+notify.PathCall); token == c.Callback || len(token) < 40 {
		t.Errorf("callback = %q, want %s followed by an unguessable token", c.Callback, h.cfg.PublicURL+notify.PathCall)
	}
}

func TestCallHiddenAndUnansweredIsReported(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	h.command(telStaff, telChan, "/call +32 468 37 39 00 hidden")
	parent := h.telParent(telChan, "1 failed")
	thread := h.telThread(telChan, parent.TS, 1)
	if !strings.Contains(thread[0].Text, "not answered: busy") {
		t.Errorf("CDR reply = %q, want 'not answered: busy'", thread[0].Text)
	}
	if calls := h.telCalls(); len(calls) != 1 || calls[0].Presentation != enco.PresentationRestricted {
		t.Errorf("call requests = %+v, want one with presentation RESTRICTED", calls)
	}
}

func TestCallBarringRefusesWithoutAnAPICall(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	tests := []struct{ text, want string }{
		{"/call 112", "emergency or special"},
		{"/call 101", "emergency or special"},
		{"/call 100", "emergency or special"},
		{"/call 0903 12 345", "premium-rate"},
		{"/call +31 20 123 4567", "outside Belgium"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, reply := h.command(telStaff, telChan, tt.text)
			if !strings.Contains(reply.Text, tt.want) {
				t.Errorf("answer = %q, want it to say %q", reply.Text, tt.want)
			}
		})
	}
	if got := h.encoCalls("/vca/"); len(got) != 0 {
		t.Errorf("voice API calls = %d, want 0", len(got))
	}
}

func TestCallDeniedOrBadInputCallsNoAPI(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	tests := []answerCase{
		{"someone else's phone without call.any", telStaff, "/call 0468 37 39 01 from=02 206 07 42", []string{"call.any"}},
		{"someone else's number shown without call.any", telStaff, "/call 0468 37 39 01 cli=02 206 07 42", []string{"call.any"}},
		{"no fixed number", telLone, "/call 0468 37 39 01", []string{"don't know your fixed number", "/fmu link"}},
		{"mobile origin", telStaff, "/call 0468 37 39 01 from=0470 00 00 01", []string{"from=0470 00 00 01", "mobile number"}},
		{"bad number", telStaff, "/call 0468 37", []string{`"0468 37"`}},
		{"two numbers", telStaff, "/call 0468 37 39 01 0468 37 39 02", []string{"one number at a time"}},
		{"unknown subcommand", telStaff, "/call frob", []string{"`frob`", "/call cdr"}},
		{"a person", telStaff, "/call <@" + telFleet + ">", []string{"not a person"}},
		{"calling oneself", telStaff, "/call 02 816 02 57", []string{"rings first"}},
		{"bad since", telStaff, "/call cdr since=yesterday", []string{"since=yesterday", "since=7d"}},
		{"unknown option", telStaff, "/call 0468 37 39 01 to=1", []string{"unknown option `to`"}},
	}
	h.wantAnswers(t, telChan, tests)
	if got := h.encoCalls("/vca/"); len(got) != 0 {
		t.Errorf("voice API calls = %d, want 0", len(got))
	}
}

func TestCallFromAnotherPhoneNeedsConfirmation(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	_, reply := h.command(telOps, telChan, "/call 0468 37 39 02 from=02 816 02 57 cli=02 206 07 42")
	if !telHasAll(reply.Text, "Call +32 468 37 39 02 from +32 2 816 02 57") {
		t.Fatalf("ack = %q, want a confirmation", reply.Text)
	}
	if len(h.encoCalls("/vca/")) != 0 {
		t.Fatal("the call was placed before the confirmation")
	}
	h.telConfirm(telOps, telChan, reply)
	parent := h.telParent(telChan, "all 1 done")
	h.telThread(telChan, parent.TS, 1)
	calls := h.telCalls()
	if len(calls) != 1 || calls[0].Origin != "+3228160257" || calls[0].CLI != "+3222060742" {
		t.Errorf("call requests = %+v, want origin +3228160257 and cli +3222060742", calls)
	}
}

func TestCallCDRsAreListedOrAttached(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	ack, _ := h.command(telStaff, telChan, "/call cdr")
	got := h.telResponse(ack, "Your calls since")
	if !telHasAll(got.Text, ": 3, 1 answered", "+32 468 37 39 01", "1 min 35 s", "busy", "no such number") {
		t.Errorf("CDR answer = %q, want the three seeded calls", got.Text)
	}

	// Another caller's call is not the staff member's; 25 more are.
	now := h.enco.Now().UTC().Truncate(time.Second)
	h.enco.AddCDR(sandbox.CDR{SessionID: "70000000", Origin: "3222060742", Destination: "32468373905", RequestTime: now.Add(-time.Minute), CallDuration: 10, CallReleaseInfo: "Normal Clearing"})
	for i := range 25 {
		h.enco.AddCDR(sandbox.CDR{SessionID: fmt.Sprint(70000001 + i), Origin: "3228160257", Destination: "32468373902", RequestTime: now.Add(-time.Duration(i+2) * time.Minute), CallReleaseInfo: "Leg2-480-No Answer"})
	}
	ack, _ = h.command(telStaff, telChan, "/call cdr since=7d")
	got = h.telResponse(ack, "The full list is attached to this channel as `calls-")
	if !telHasAll(got.Text, ": 28, 1 answered", "8 more not shown (20 of 28 listed)") {
		t.Errorf("answer = %q, want 28 calls counted", got.Text)
	}
	// The file follows the answer that names it.
	h.waitFor("the CSV of calls", func() bool { return len(h.slack.Files()) > 0 })
	files := h.slack.Files()
	if len(files) != 1 || files[0].Channel != telChan || !strings.HasSuffix(files[0].Name, ".csv") {
		t.Fatalf("files = %+v, want one CSV in %s", files, telChan)
	}
	rows, err := csv.NewReader(strings.NewReader(string(files[0].Content))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 29 || rows[0][0] != "session_id" {
		t.Fatalf("CSV has %d rows, want a header and 28 calls", len(rows))
	}
	for _, row := range rows[1:] {
		if row[2] != "'+3228160257" {
			t.Errorf("CSV row %v: origin %s, want only the staff member's calls", row, row[2])
		}
	}

	// call.any sees every call.
	ack, _ = h.command(telOps, telChan, "/call cdr since=10m")
	if got := h.telResponse(ack, "Calls of the account"); !strings.Contains(got.Text, "+32 2 206 07 42") {
		t.Errorf("call.any answer = %q, want the other caller's call too", got.Text)
	}
	pages := 0
	for _, r := range h.encoCalls("/vca/1.0.0/cdr") {
		if r.Query.Get("limit") == "100" {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("CDR page requests = %d, want 3 (one per command)", pages)
	}
}

func TestCallRecordCallbacksAreAuthenticated(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	h.enco.SetDropCallbacks(true)
	h.command(telStaff, telChan, "/call 0468 37 39 03")
	h.waitFor("the call", func() bool { return len(h.telCalls()) == 1 })
	callback := h.telCalls()[0].Callback
	parent := h.telParent(telChan, "0 of 1 done")
	cdrs := h.enco.CDRs()
	session := cdrs[len(cdrs)-1].SessionID
	h.tracked("the session stored", callback[strings.LastIndexByte(callback, '/')+1:])

	cdr := func(session string) string {
		return fmt.Sprintf(`{"sessionId":%q,"origin":"3228160257","destination":"32468373903","callDuration":23,"callReleaseInfo":"Normal Clearing"}`, session)
	}
	tests := []struct {
		name, url, body string
		status          int
	}{
		{"unknown token", strings.TrimSuffix(callback, callback[len(callback)-6:]) + "AAAAAA", cdr(session), http.StatusForbidden},
		{"FMU path", strings.Replace(callback, notify.PathCall, notify.PathFMU, 1), `{"msisdn":"32470000001","status":"PRIVATE"}`, http.StatusForbidden},
		{"malformed", callback, `{"sessionId":`, http.StatusBadRequest},
		{"another session", callback, cdr("99999999"), http.StatusNotFound},
		{"genuine", callback, cdr(session), http.StatusOK},
		{"genuine again", callback, cdr(session), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := telPost(t, tt.url, []byte(tt.body)); got != tt.status {
				t.Errorf("status = %d, want %d", got, tt.status)
			}
		})
	}
	h.telParent(telChan, "all 1 done")
	h.waitFor("the delivery queue to drain", func() bool { n, err := h.main.Store.QueueDepth(h.ctx); return err == nil && n == 0 })
	thread := h.telThread(telChan, parent.TS, 1)
	if len(thread) != 1 || !strings.Contains(thread[0].Text, "answered — 23 s") {
		t.Errorf("thread = %v, want the genuine record once (a single call needs no summary)", texts(thread))
	}
}
