package commands

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/state"
)

// auditStore serves n audit entries, newest first.
type auditStore struct {
	*telStore
	n int
}

func (s auditStore) RecentAudit(_ context.Context, max int, _ func(switchboard.AuditEntry) bool) ([]switchboard.AuditEntry, error) {
	var out []switchboard.AuditEntry
	for i := range min(s.n, max) {
		out = append(out, switchboard.AuditEntry{UserID: "U0ME", Command: "sim.read", Decision: "api call", Detail: fmt.Sprint("entry ", i)})
	}
	return out, nil
}

// telSIM knows every card as Active.
type telSIM struct{ SIMAPI }

func (telSIM) SIMCards(_ context.Context, msisdn string) ([]enco.SIMCard, error) {
	return []enco.SIMCard{{State: "Active", Data: enco.Service{PlanCode: "D"}}}, nil
}

// TestCutListsSayWhatIsLeftOutAndAttachIt: every list the bot cuts says how
// many rows it left out and attaches them all as one CSV file.
func TestCutListsSayWhatIsLeftOutAndAttachIt(t *testing.T) {
	numbersOf := func(n int, format string) string {
		var out []string
		for i := 1; i <= n; i++ {
			out = append(out, fmt.Sprintf(format, i))
		}
		return strings.Join(out, " ")
	}
	pool := make([]enco.PhoneNumber, maxNumberLines+3)
	for i := range pool {
		pool[i] = enco.PhoneNumber{Number: fmt.Sprintf("32220607%02d", i), Type: "FIXED", PriceTier: "REGULAR"}
	}
	tests := []struct {
		name     string
		perms    []string
		setup    func(*telFixture)
		command  string
		text     string
		wantNote string
		wantRows int // data rows in the file
	}{
		{"/number available", []string{"number.read"}, func(f *telFixture) { f.cfg.EnCo.Numbers = &telNumbers{list: pool} },
			"/number", "available", "3 more not shown (40 of 43 listed). The full list is attached to this channel as `numbers-available-", len(pool)},
		{"/number list", []string{"number.read"}, func(f *telFixture) { f.cfg.EnCo.Numbers = &telNumbers{list: pool} },
			"/number", "list", "3 more not shown (40 of 43 listed). The full list is attached to this channel as `numbers-held-", len(pool)},
		{"/sim status", []string{"sim.read"}, func(f *telFixture) { f.cfg.EnCo.SIM = telSIM{} },
			"/sim", "status " + numbersOf(maxSIMRows+2, "0471 00 00 %02d"), "2 more not shown (15 of 17 listed). The full list is attached", maxSIMRows + 2},
		{"/sim audit", []string{"audit.read"}, func(f *telFixture) { f.cfg.State.AuditTrail = auditStore{f.store, maxAuditRows + 5} },
			"/sim", "audit", "5 more not shown (20 of 25 listed). The full list follows as a CSV file in this channel.", maxAuditRows + 5},
		{"/sim audit past the file's cap", []string{"audit.read"}, func(f *telFixture) { f.cfg.State.AuditTrail = auditStore{f.store, maxAuditFile + 50} },
			"/sim", "audit", "more than 980 not shown; the file holds the 1000 most recent.", maxAuditFile},
		{"/sim deactivate confirmation", []string{"sim.deactivate"}, nil,
			"/sim", "deactivate " + numbersOf(maxPromptLines+1, "0471 00 00 %02d"), "1 more not shown (10 of 11 listed). The full list follows as a CSV file in this channel.", maxPromptLines + 1},
		{"/fmu set confirmation", []string{"fmu.set"}, nil,
			"/fmu", "private " + numbersOf(maxPromptLines+4, "0470 00 00 %02d"), "4 more not shown (10 of 14 listed).", maxPromptLines + 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTelFixture(tt.perms...)
			if tt.setup != nil {
				tt.setup(f)
			}
			reply := f.command(t, tt.command, tt.text)
			shown := reply.Text
			if strings.Contains(shown, "Looking up") {
				shown = f.lastResponse(t)
				// The answer naming the file comes first, the file under it.
				if got := strings.Join(f.slack.order, " "); got != "response file" {
					t.Errorf("shown in turn: %s, want the response, then the file", got)
				}
			}
			if !strings.Contains(shown+string(mustJSON(t, reply.Blocks)), tt.wantNote) {
				t.Errorf("answer = %q, want %q", shown, tt.wantNote)
			}
			if len(f.slack.files) != 1 {
				t.Fatalf("files = %d, want 1", len(f.slack.files))
			}
			name, content, _ := strings.Cut(f.slack.files[0], "\n")
			rows, err := csv.NewReader(strings.NewReader(content)).ReadAll()
			if err != nil || len(rows) != tt.wantRows+1 || !strings.HasSuffix(name, ".csv") {
				t.Errorf("file %s: %d rows, %v; want a header and %d rows", name, len(rows), err, tt.wantRows)
			}
		})
	}
}

// refusingSIM refuses the bot's credentials, counting the lookups.
type refusingSIM struct {
	SIMAPI
	calls *int
}

func (s refusingSIM) SIMCards(context.Context, string) ([]enco.SIMCard, error) {
	*s.calls++
	return nil, &enco.Error{Op: "m2m simcards", StatusCode: 401, Err: enco.ErrCredentialsRefused}
}

// TestSimStatusStopsWhenTheCredentialsAreRefused: one refused lookup is
// the answer; the others are not tried.
func TestSimStatusStopsWhenTheCredentialsAreRefused(t *testing.T) {
	f := newTelFixture("sim.read")
	calls := 0
	f.cfg.EnCo.SIM = refusingSIM{calls: &calls}
	f.command(t, "/sim", "status 0471 00 00 01 0471 00 00 02 0471 00 00 03")
	if got := f.lastResponse(t); calls != 1 || !strings.Contains(got, "refused the bot's own credentials") {
		t.Errorf("%d lookups, answer %q; want one lookup and the credentials named", calls, got)
	}
}

func TestRecentOutcome(t *testing.T) {
	tests := []struct {
		name string
		op   state.RecentOp
		want string
	}{
		{"all succeeded", state.RecentOp{Status: switchboard.StatusDone, Succeeded: 2}, "done"},
		{"all failed", state.RecentOp{Status: switchboard.StatusDone, Failed: 1}, "failed"},
		{"some failed", state.RecentOp{Status: switchboard.StatusDone, Succeeded: 1, Failed: 2}, "done: 1 succeeded, 2 failed"},
		{"still running", state.RecentOp{Status: switchboard.StatusRunning, Failed: 1}, switchboard.StatusRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recentOutcome(tt.op); got != tt.want {
				t.Errorf("recentOutcome(%+v) = %q, want %q", tt.op, got, tt.want)
			}
		})
	}
}

// The audit trail keeps what people typed and what EnCo answered (a call's
// session id); /sim audit shows it escaped, so an entry cannot ping a
// channel or form a link.
func TestAuditRowsAreEscaped(t *testing.T) {
	f := newTelFixture("audit.read")
	f.cfg.State.AuditTrail = &recordingAudit{entries: []switchboard.AuditEntry{
		{UserID: "U0ME", Command: "/sim <!here>", Decision: "rate limited", Detail: "session <!channel> <http://evil.example|x>"},
	}}
	got := f.command(t, "/sim", "audit").Text
	if strings.Contains(got, "<!") || strings.Contains(got, "<http") || !strings.Contains(got, "&lt;!channel&gt;") {
		t.Errorf("/sim audit = %q, want the entry escaped", got)
	}
}

// TestCutListTellsWhenItsFileCannotBeSent: the answer goes out before its
// file, so a file Slack refuses is reported in an answer after it.
func TestCutListTellsWhenItsFileCannotBeSent(t *testing.T) {
	pool := make([]enco.PhoneNumber, maxNumberLines+1)
	for i := range pool {
		pool[i] = enco.PhoneNumber{Number: fmt.Sprintf("32220607%02d", i), Type: "FIXED"}
	}
	f := newTelFixture("number.read")
	f.cfg.EnCo.Numbers = &telNumbers{list: pool}
	f.slack.uploadErr = fmt.Errorf("files.uploadV2: %w", slack.SlackErrorResponse{Err: "not_in_channel"})
	f.command(t, "/number", "list")
	if len(f.slack.responses) != 2 {
		t.Fatalf("responses = %d, want the list and a warning", len(f.slack.responses))
	}
	if got := f.slack.responses[0].Text; !strings.Contains(got, "1 more not shown") {
		t.Errorf("first response = %q, want the cut list", got)
	}
	if got := f.slack.responses[1].Text; !strings.Contains(got, "invite me to this channel") {
		t.Errorf("second response = %q, want how to get the file", got)
	}
}

// /sim audit names people as mentions, which Slack shows by name, keeps
// the mentions the bot wrote into a detail, and shows commands whole.
func TestAuditNamesPeopleAndWholeCommands(t *testing.T) {
	f := newTelFixture("audit.read")
	f.cfg.State.AuditTrail = &recordingAudit{entries: []switchboard.AuditEntry{
		{UserID: "U0ME", Command: "/sim deactivate", Decision: "allowed", Rule: `role "ops" grants "*" (member as U0ME00000A)`},
		{UserID: "U0ME", Command: "/fmu schedule <@U0BOB00001|bob> weekends 08:00-18:00 professional else private", Decision: "allowed"},
		{UserID: "U0ME", Command: "fmu.schedule", Decision: "scheduled", Detail: "d7d0cfc5: <@U0BOB00001> weekends 08:00-18:00 PROFESSIONAL else PRIVATE"},
	}}
	got := f.command(t, "/sim", "audit").Text
	for _, want := range []string{"<@U0ME>", "/sim deactivate", "(member as <@U0ME00000A>)", "/fmu schedule <@U0BOB00001> weekends 08:00-18:00 professional else private", "d7d0cfc5: <@U0BOB00001> weekends"} {
		if !strings.Contains(got, want) {
			t.Errorf("/sim audit = %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "```") || strings.Contains(got, "&lt;@") {
		t.Errorf("/sim audit = %q, want no code block hiding the mentions and no escaped mention", got)
	}
}

// TestTargetListHasNoMarkup: a targets file is plain text, so the person a
// target belongs to is a column of their own, not a mention's markup.
func TestTargetListHasNoMarkup(t *testing.T) {
	op := switchboard.Operation{
		Params:  switchboard.Params{Title: "Set 2 numbers to Professional", Who: map[string]string{"32470000002": "U0ALICE001"}},
		Targets: []switchboard.Target{{Type: "msisdn", ID: "32470000002"}, {Type: "msisdn", ID: "32470000004"}},
	}
	got := string(targetList(op, false).csv())
	want := "target,slack user id\n'+32 470 00 00 02,U0ALICE001\n'+32 470 00 00 04,\n" // the formula guard quotes a leading +
	if got != want {
		t.Errorf("targets file = %q, want %q", got, want)
	}
}

// Slack sends the &, < and > people type as entities; /sim audit shows
// them as typed, escaped once, not as "&lt;" spelt out, and a mention typed
// out by hand stays text.
func TestAuditShowsTypedCharactersOnce(t *testing.T) {
	f := newTelFixture("audit.read")
	f.cfg.State.AuditTrail = &recordingAudit{entries: []switchboard.AuditEntry{
		{UserID: "U0ME", Command: "/sim status &lt;0471000001&gt; &amp; &lt;!channel&gt; &lt;@U0BOSS0001&gt; <@U0BOB00001|bob>", Decision: "allowed"},
	}}
	got := f.command(t, "/sim", "audit").Text
	if want := "/sim status &lt;0471000001&gt; &amp; &lt;!channel&gt; &lt;@U0BOSS0001&gt; <@U0BOB00001>"; !strings.Contains(got, want) || strings.Contains(got, "&amp;lt;") {
		t.Errorf("/sim audit = %q, want it to contain %q (Slack shows <0471000001> & <!channel> <@U0BOSS0001> as typed, and @bob)", got, want)
	}
}

// /sim audit shows a callback's result in words, its target labelled as
// elsewhere, not as the stored "msisdn:32470000001 ok=true".
func TestAuditShowsCallbackResultsInWords(t *testing.T) {
	f := newTelFixture("audit.read")
	f.cfg.State.AuditTrail = &recordingAudit{entries: []switchboard.AuditEntry{
		{UserID: "U0ME", Command: "fmu.set", Decision: "callback result", Detail: "msisdn:32470000001 ok=true"},
		{UserID: "U0ME", Command: "sim.deactivate", Decision: "callback result", Detail: "iccid:89320100000000000007 ok=false"},
		{UserID: "U0ME", Command: "sim.deactivate", Decision: "callback result", Detail: "<!channel> ok=maybe"},
	}}
	got := f.command(t, "/sim", "audit").Text
	for _, want := range []string{"callback result — +32 470 00 00 01 succeeded", "callback result — ICCID 89320100000000000007 failed", "callback result — &lt;!channel&gt; ok=maybe"} {
		if !strings.Contains(got, want) {
			t.Errorf("/sim audit = %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "msisdn:") {
		t.Errorf("/sim audit = %q, want no raw target", got)
	}
}
