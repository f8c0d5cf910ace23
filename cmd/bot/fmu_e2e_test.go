package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
	"github.com/switchboard-bot/switchboard/notify"
)

// Users and channel of the /fmu, /call and /number tests; telephonyPolicy
// gives them their roles and numbers.
const (
	telStaff       = "U0STAFF001" // everyone's permissions; mobile 32470000001, fixed 3228160257
	telFleet       = "U0FLEET001" // fmu.read, fmu.set; mobile 32470000002
	telOps         = "U0TELCO001" // number.reserve, number.release, call.any; not in the directory
	telDirAdmin    = "U0ADMIN001" // directory.admin
	telLone        = "U0LONE0001" // everyone's permissions, not in the directory
	telChan        = "C0TEL00001"
	telStaffMobile = "32470000001"
)

const telephonyPolicy = `roles:
  - name: everyone
    members: ["*"]
    permissions: [fmu.self, call.self, number.read]
  - name: fleet-managers
    members: [` + telFleet + `]
    permissions: [fmu.read, fmu.set]
  - name: telephony-admins
    members: [` + telOps + `]
    permissions: [number.reserve, number.release, call.any]
  - name: directory-admins
    members: [` + telDirAdmin + `]
    permissions: [directory.admin]
directory:
  ` + telStaff + `: {mobile: "32470000001", fixed: "3228160257"}
  ` + telFleet + `: {mobile: "32470000002"}
`

func newTelHarness(t *testing.T) *harness {
	t.Helper()
	return newHarness(t, withPolicy(telephonyPolicy))
}

// response waits for the first post to a command's response URL that
// contains want, and returns it.
func (h *harness) telResponse(ack slacktest.Ack, want string) slacktest.Message {
	h.t.Helper()
	var found slacktest.Message
	h.waitFor(fmt.Sprintf("a response containing %q", want), func() bool {
		for _, m := range h.slack.ResponseURLPosts(ack.EnvelopeID) {
			if strings.Contains(m.Text, want) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// lookedUp sends an /fmu command naming people, checks that the
// acknowledgement says they are being looked up in the directory, and
// returns the answer that follows through the response URL once they have
// been (a confirmation prompt keeps its buttons).
func (h *harness) lookedUp(user, channel, text string) ackReply {
	h.t.Helper()
	found := h.answeredAfterAck(user, channel, text, "in the directory…")
	return ackReply{Text: found.Text, Blocks: found.Blocks}
}

// telConfirm clicks the confirm button of a confirmation prompt.
func (h *harness) telConfirm(user, channel string, reply ackReply) slacktest.Ack {
	h.t.Helper()
	return h.click(user, channel, "confirm", reply.button(h.t, "confirm"))
}

// telParent waits for the channel's one parent message to contain want.
func (h *harness) telParent(channel, want string) slacktest.Message {
	h.t.Helper()
	var p slacktest.Message
	h.waitFor(fmt.Sprintf("the parent message to say %q", want), func() bool {
		ps := h.parents(channel)
		if len(ps) != 1 {
			return false
		}
		p = ps[0]
		return strings.Contains(p.Text, want)
	})
	return p
}

// telThread waits for a thread to hold n messages and returns them.
func (h *harness) telThread(channel, ts string, n int) []slacktest.Message {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d messages in the thread", n), func() bool { return len(h.slack.Thread(channel, ts)) >= n })
	return h.slack.Thread(channel, ts)
}

func telPost(t *testing.T, url string, body []byte) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func telHasAll(s string, want ...string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

func TestFMUOwnStatusAndChange(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	ack, reply := h.command(telStaff, telChan, "/fmu")
	if !strings.Contains(reply.Text, "Looking up your FMU profile") {
		t.Fatalf("ack = %q, want 'Looking up your FMU profile'", reply.Text)
	}
	if got := h.telResponse(ack, "Your FMU profile"); !telHasAll(got.Text, "+32 470 00 00 01", "*Private*") || !got.Ephemeral {
		t.Errorf("answer = %q (ephemeral %v), want the own number and Private, for the requester only", got.Text, got.Ephemeral)
	}

	ack, _ = h.command(telStaff, telChan, "/fmu on-duty")
	h.telResponse(ack, "is now *On duty*")
	if p, _ := h.enco.FMU(telStaffMobile); p != string(enco.ProfileOnDuty) {
		t.Errorf("sandbox profile of %s = %q, want ON_DUTY", telStaffMobile, p)
	}
	puts := 0
	for _, r := range h.encoCalls("/fmu/1.0.0/status") {
		if r.Method == http.MethodPut {
			puts++
			if strings.Contains(string(r.Body), "callback_url") {
				t.Errorf("own change sent a callback URL (%s); one number is synchronous", r.Body)
			}
		}
	}
	if puts != 1 {
		t.Errorf("PUT /status calls = %d, want 1", puts)
	}
	if got := h.parents(telChan); len(got) != 0 {
		t.Errorf("channel messages = %v, want none for one's own profile", texts(got))
	}
}

func TestFMUDirectoryLinkAndUnlink(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	_, reply := h.command(telLone, telChan, "/fmu")
	// The command it suggests names this person, so an admin can type it as is.
	if !telHasAll(reply.Text, "don't know your mobile number", "/fmu link <@"+telLone+">", "directory.admin") {
		t.Errorf("answer without a number = %q, want how to get one linked", reply.Text)
	}

	_, reply = h.command(telStaff, telChan, "/fmu link <@"+telLone+"> mobile=0470 00 00 05")
	if !strings.Contains(reply.Text, "directory.admin") {
		t.Errorf("link by a non-admin = %q, want a denial naming directory.admin", reply.Text)
	}
	_, reply = h.command(telDirAdmin, telChan, "/fmu link <@"+telLone+"> mobile=0470 00 00 05 fixed=02 206 07 42")
	if !telHasAll(reply.Text, "+32 470 00 00 05", "+32 2 206 07 42") {
		t.Fatalf("link answer = %q, want both numbers", reply.Text)
	}
	ack, _ := h.command(telLone, telChan, "/fmu")
	h.telResponse(ack, "is *Professional*") // the sandbox's profile of 32470000005

	_, reply = h.command(telDirAdmin, telChan, "/fmu link <@"+telLone+"> mobile=0470 00")
	if !strings.Contains(reply.Text, "mobile=") {
		t.Errorf("link with a bad number = %q, want it to name mobile=", reply.Text)
	}
	_, reply = h.command(telDirAdmin, telChan, "/fmu unlink <@"+telLone+">")
	if !strings.Contains(reply.Text, "no numbers in the directory now") {
		t.Errorf("unlink answer = %q", reply.Text)
	}
	_, reply = h.command(telLone, telChan, "/fmu")
	if !strings.Contains(reply.Text, "don't know your mobile number") {
		t.Errorf("after unlink = %q, want the hint again", reply.Text)
	}
	if got := len(h.encoCalls("/fmu/")); got != 1 {
		t.Errorf("FMU API calls = %d, want 1 (the read while linked)", got)
	}
}

func TestFMUDeniedOrBadInputCallsNoAPI(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	tests := []answerCase{
		{"read others without fmu.read", telStaff, "/fmu status 0470 00 00 02", []string{"fmu.read"}},
		{"set others without fmu.set", telStaff, "/fmu private 0470 00 00 02", []string{"fmu.set"}},
		{"fixed number", telFleet, "/fmu status 02 816 02 57", []string{"+32 2 816 02 57", "fixed", "mobile numbers"}},
		{"foreign number", telFleet, "/fmu status +31 6 12345678", []string{"not a Belgian number"}},
		{"short number", telFleet, "/fmu on-duty 0470 00 00 03 112", []string{"`112`"}},
		{"bad number", telFleet, "/fmu status 0470 00", []string{`"0470 00"`}},
		{"unknown subcommand", telFleet, "/fmu frob", []string{"`frob`", "on-duty"}},
		{"user group", telFleet, "/fmu status <!subteam^S0ABCDEF1|@ops>", []string{"user group"}},
		{"option", telFleet, "/fmu status zone=02", []string{"takes no options"}},
	}
	h.wantAnswers(t, telChan, tests)
	// Refused once the people named have been looked up: the refusal
	// follows the acknowledgement.
	if reply := h.lookedUp(telFleet, telChan, "/fmu status <@"+telLone+">"); !telHasAll(reply.Text, "mobile number of <@"+telLone+">", "/fmu link") {
		t.Errorf("person without a number: answer = %q, want the missing number named and how to link it", reply.Text)
	}
	if got := h.encoCalls("/fmu/"); len(got) != 0 {
		t.Errorf("FMU API calls = %d, want 0", len(got))
	}
}

func TestFMUStatusOfOneNumberIsSynchronous(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	ack, _ := h.command(telFleet, telChan, "/fmu status 0470 00 00 03")
	if got := h.telResponse(ack, "+32 470 00 00 03"); !strings.Contains(got.Text, "*On duty*") {
		t.Errorf("answer = %q, want On duty", got.Text)
	}
	calls := h.encoCalls("/fmu/1.0.0/status")
	if len(calls) != 1 || calls[0].Query.Get("callback_url") != "" || calls[0].Query.Get("msisdn") != "32470000003" {
		t.Errorf("FMU calls = %+v, want one synchronous read of 32470000003", calls)
	}
	if got := h.parents(telChan); len(got) != 0 {
		t.Errorf("channel messages = %v, want none", texts(got))
	}
}

func TestFMUBulkStatusOverFiftyNumbersInOneThread(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	var typed []string
	for i := 1; i <= 51; i++ {
		n := fmt.Sprintf("324700000%02d", i)
		if i > 10 {
			h.enco.SetFMU(n, sandbox.ProfileProfessional)
		}
		typed = append(typed, fmt.Sprintf("0470 00 00 %02d", i))
	}
	// The staff member is named too: their number is one of the 60, asked once.
	reply := h.lookedUp(telFleet, telChan, "/fmu status <@"+telStaff+"> "+strings.Join(typed, ", "))
	if !strings.Contains(reply.Text, "51 FMU profiles") {
		t.Fatalf("ack = %q, want 51 profiles asked", reply.Text)
	}
	parent := h.telParent(telChan, "all 51 done")
	thread := h.telThread(telChan, parent.TS, 52)

	calls := h.encoCalls("/fmu/1.0.0/status")
	if len(calls) != 2 {
		t.Fatalf("FMU requests = %d, want 2 (26 + 25 numbers)", len(calls))
	}
	sizes := []int{len(strings.Split(calls[0].Query.Get("msisdn"), ",")), len(strings.Split(calls[1].Query.Get("msisdn"), ","))}
	if sizes[0] != 26 || sizes[1] != 25 {
		t.Errorf("request sizes = %v, want [26 25]: split evenly, never a lone number with a callback", sizes)
	}
	cb0, cb1 := calls[0].Query.Get("callback_url"), calls[1].Query.Get("callback_url")
	if cb0 == "" || cb0 != cb1 || !strings.HasPrefix(cb0, h.cfg.PublicURL+notify.PathFMU) {
		t.Errorf("callback URLs = %q, %q; want one shared URL under %s", cb0, cb1, h.cfg.PublicURL+notify.PathFMU)
	}
	if token := strings.TrimPrefix(cb0, h.cfg.PublicURL+notify.PathFMU); len(token) < 40 {
		t.Errorf("callback token %q is too short to be unguessable", token)
	}

	results := 0
	for _, m := range thread[:51] {
		if strings.Contains(m.Text, ":white_check_mark: ") {
			results++
		}
	}
	if results != 51 {
		t.Errorf("successful replies = %d, want 51; thread: %v", results, texts(thread))
	}
	found := false
	for _, m := range thread {
		found = found || strings.Contains(m.Text, "<@"+telStaff+"> (+32 470 00 00 01) — *Private*")
	}
	if !found {
		t.Errorf("no reply names the staff member with their number and profile")
	}
	if last := thread[len(thread)-1].Text; !strings.Contains(last, "all 51 succeeded") {
		t.Errorf("last reply = %q, want the summary", last)
	}
}

// TestFMUResultsInTheReplyAreRecorded: when EnCo answers a request for
// several numbers in its reply instead of through the callback, the
// results are recorded all the same.
func TestFMUResultsInTheReplyAreRecorded(t *testing.T) {
	h := newTelHarness(t)
	h.enco.SetFMUAnswerInReply(true)
	h.command(telFleet, telChan, "/fmu status 0470 00 00 02 0470 00 00 03")
	parent := h.telParent(telChan, "all 2 done")
	thread := h.telThread(telChan, parent.TS, 3)
	if !telHasAll(strings.Join(texts(thread), "\n"), "+32 470 00 00 02 — *Professional*", "+32 470 00 00 03 — *On duty*", "all 2 succeeded") {
		t.Errorf("thread = %v, want both profiles and the summary", texts(thread))
	}
	if got := len(h.enco.Callbacks()); got != 0 {
		t.Errorf("callbacks sent = %d, want 0 (the answer came in the reply)", got)
	}
}

func TestFMUSetOthersAfterConfirmation(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	reply := h.lookedUp(telFleet, telChan, "/fmu on-duty <@"+telStaff+">, 0470 00 00 04")
	if !telHasAll(reply.Text, "Set 2 numbers to On duty") {
		t.Fatalf("ack = %q, want the confirmation", reply.Text)
	}
	if got := h.encoCalls("/fmu/"); len(got) != 0 {
		t.Fatalf("FMU called before the confirmation: %+v", got)
	}
	h.telConfirm(telFleet, telChan, reply)
	parent := h.telParent(telChan, "all 2 done")
	thread := h.telThread(telChan, parent.TS, 3)
	if !strings.Contains(thread[2].Text, "all 2 succeeded") {
		t.Errorf("thread = %v, want two results and the summary", texts(thread))
	}
	calls := h.encoCalls("/fmu/1.0.0/status")
	if len(calls) != 1 || calls[0].Method != http.MethodPut {
		t.Fatalf("FMU calls = %+v, want one PUT", calls)
	}
	var body struct {
		MSISDN      []string `json:"msisdn"`
		Status      string   `json:"status"`
		CallbackURL string   `json:"callback_url"`
	}
	if err := json.Unmarshal(calls[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.MSISDN) != 2 || body.Status != "ON_DUTY" || !strings.HasPrefix(body.CallbackURL, h.cfg.PublicURL+notify.PathFMU) {
		t.Errorf("request body = %s, want 2 numbers, ON_DUTY and a callback URL", calls[0].Body)
	}
	for _, n := range []string{telStaffMobile, "32470000004"} {
		if p, _ := h.enco.FMU(n); p != string(enco.ProfileOnDuty) {
			t.Errorf("sandbox profile of %s = %q, want ON_DUTY", n, p)
		}
	}
}

func TestFMUSetOneOtherIsSynchronousInThread(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	_, reply := h.command(telFleet, telChan, "/fmu professional 0470 00 00 08")
	h.telConfirm(telFleet, telChan, reply)
	parent := h.telParent(telChan, "all 1 done")
	thread := h.telThread(telChan, parent.TS, 1)
	if !strings.Contains(thread[0].Text, "+32 470 00 00 08 — set to *Professional*") {
		t.Errorf("thread = %v, want the change reported", texts(thread))
	}
	calls := h.encoCalls("/fmu/1.0.0/status")
	if len(calls) != 1 || strings.Contains(string(calls[0].Body), "callback_url") {
		t.Errorf("FMU calls = %+v, want one synchronous PUT", calls)
	}
}

func TestFMUNumbersThatNeverAnswerAreNamedAtExpiry(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	h.enco.SetDropCallbacks(true) // EnCo never answers; the test sends one answer itself
	h.command(telFleet, telChan, "/fmu status 0470 00 00 01 0470 00 00 02 0470 00 00 03")
	h.waitFor("the FMU request", func() bool { return len(h.encoCalls("/fmu/1.0.0/status")) == 1 })
	callback := h.encoCalls("/fmu/1.0.0/status")[0].Query.Get("callback_url")
	parent := h.telParent(telChan, "0 of 3 done")

	forged := strings.TrimSuffix(callback, callback[len(callback)-8:]) + "AAAAAAAA"
	tests := []struct {
		name   string
		url    string
		body   string
		status int
	}{
		{"unknown token", forged, `{"msisdn":"32470000001","status":"PRIVATE"}`, http.StatusForbidden},
		{"malformed body", callback, `{"msisdn":`, http.StatusBadRequest},
		{"no msisdn", callback, `{"status":"PRIVATE"}`, http.StatusBadRequest},
		{"number not asked about", callback, `{"msisdn":"32470000009","status":"PRIVATE"}`, http.StatusBadRequest},
		{"genuine", callback, `[{"msisdn":"+32470000001","status":"private","isError":false}]`, http.StatusOK},
		{"genuine again", callback, `{"msisdn":"32470000001","status":"PRIVATE"}`, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := telPost(t, tt.url, []byte(tt.body)); got != tt.status {
				t.Errorf("status = %d, want %d", got, tt.status)
			}
		})
	}
	h.telParent(telChan, "1 of 3 done")
	if got := h.telThread(telChan, parent.TS, 1); len(got) != 1 {
		t.Fatalf("thread = %v, want one reply for the one answer", texts(got))
	}

	exp := &notify.Expirer{Store: h.main.Store, Log: h.main.Log}
	n, err := exp.Sweep(h.ctx, time.Now().Add(25*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 operation expired", n, err)
	}
	thread := h.telThread(telChan, parent.TS, 2)
	if !telHasAll(thread[1].Text, "No answer from EnCo for 2 of 3", "+32 470 00 00 02", "+32 470 00 00 03") || strings.Contains(thread[1].Text, "00 00 01") {
		t.Errorf("expiry notice = %q, want the two numbers that never answered", thread[1].Text)
	}
	h.telParent(telChan, "2 never answered")
	if n, _ := exp.Sweep(h.ctx, time.Now().Add(26*time.Hour)); n != 0 {
		t.Errorf("second sweep expired %d operations, want 0", n)
	}
	if got := telPost(t, callback, []byte(`{"msisdn":"32470000002","status":"PRIVATE"}`)); got != http.StatusGone {
		t.Errorf("late callback status = %d, want %d", got, http.StatusGone)
	}
}

// TestExpiryNamesAtMostFiftyAndAttachesTheRest: an expiry notice with more
// silent targets than it names says how many it left out, and the whole
// list follows in the thread as a file.
func TestExpiryNamesAtMostFiftyAndAttachesTheRest(t *testing.T) {
	h := newTelHarness(t)
	h.enco.SetDropCallbacks(true)
	var typed []string
	for i := 1; i <= 52; i++ {
		typed = append(typed, fmt.Sprintf("0470 00 01 %02d", i))
	}
	h.command(telFleet, telChan, "/fmu status "+strings.Join(typed, ", "))
	// The requests go out after the operation's deadline is scheduled.
	h.waitFor("the FMU requests", func() bool { return len(h.encoCalls("/fmu/1.0.0/status")) == 2 })
	parent := h.telParent(telChan, "0 of 52 done")

	exp := &notify.Expirer{Store: h.main.Store, Log: h.main.Log}
	if n, err := exp.Sweep(h.ctx, time.Now().Add(25*time.Hour)); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 operation expired", n, err)
	}
	thread := h.telThread(telChan, parent.TS, 1)
	if !telHasAll(thread[0].Text, "No answer from EnCo for 52 of 52", "2 more not shown (50 of 52 named); all 52 are in the file attached to the request's thread") {
		t.Errorf("expiry notice = %q, want how many were left out", thread[0].Text)
	}
	h.waitFor("the file of silent numbers", func() bool { return len(h.slack.Files()) == 1 })
	f := h.slack.Files()[0]
	rows, err := csv.NewReader(bytes.NewReader(f.Content)).ReadAll()
	if err != nil || len(rows) != 53 || f.Channel != telChan || f.ThreadTS != parent.TS || rows[52][0] != "'+32 470 00 01 52" {
		t.Errorf("file %s in %s/%s: %d rows, %v; want the 52 numbers in the operation's thread", f.Name, f.Channel, f.ThreadTS, len(rows), err)
	}
}
