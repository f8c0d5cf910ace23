package main

// End-to-end tests of what one person, or a workflow's author, can make the
// bot write or spend in someone else's name: audit entries, allowances.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// auditOf returns the audit entries filed under user.
func (h *harness) auditOf(user string) []switchboard.AuditEntry {
	h.t.Helper()
	entries, err := h.store.RecentAudit(h.ctx, 1000, func(e switchboard.AuditEntry) bool { return e.UserID == user })
	if err != nil {
		h.t.Fatal(err)
	}
	return entries
}

// auditWhere returns the audit entries that keep.
func (h *harness) auditWhere(keep func(switchboard.AuditEntry) bool) []switchboard.AuditEntry {
	h.t.Helper()
	entries, err := h.store.RecentAudit(h.ctx, 1000, keep)
	if err != nil {
		h.t.Fatal(err)
	}
	return entries
}

// TestStepRefusalsDoNotFloodTheNamedPersonsTrail: a workflow's author runs
// many refused steps naming someone. None is filed under that person, and
// past the allowance they are counted, not written one by one.
func TestStepRefusalsDoNotFloodTheNamedPersonsTrail(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(strings.Replace(stepPolicy, "limits:\n", "limits:\n  changes_per_minute: 2\n", 1)))
	var execs []string
	for range 6 {
		execs = append(execs, h.step("sim_change", simChangeInputs(guestUser, "deactivate", demoMSISDN(1))))
		execs = append(execs, h.step("sim_change", simChangeInputs(opsUser, "deactivate", "iccid:123")))
	}
	for _, exec := range execs {
		if got := h.completion(exec); got.Success {
			t.Errorf("step %s: got success, want a refusal", exec)
		}
	}
	for _, who := range []string{guestUser, opsUser} {
		if got := h.auditOf(who); len(got) != 0 {
			t.Errorf("entries filed under %s, whom the steps named: %d (%+v), want none", who, len(got), got)
		}
	}
	refusals := h.auditWhere(func(e switchboard.AuditEntry) bool { return strings.HasPrefix(e.Command, "step ") })
	if len(refusals) == 0 || len(refusals) > 2 {
		t.Errorf("step refusals audited: %d, want 1 or 2 (the allowance), the rest counted", len(refusals))
	}
	if got := h.metricValue("switchboard_refusals_unaudited_total", map[string]string{"refusal": "step"}); got < float64(len(execs)-2) {
		t.Errorf("step refusals counted without an entry: %v, want at least %d", got, len(execs)-2)
	}
}

// TestStepIsChargedOnlyWhenThePersonConfirms: steps naming someone do not
// use up that person's own changes per minute; confirming one does.
func TestStepIsChargedOnlyWhenThePersonConfirms(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(strings.Replace(stepPolicy, "limits:\n", "limits:\n  changes_per_minute: 2\n", 1)))
	first := h.step("sim_change", simChangeInputs(opsUser, "activate", demoMSISDN(4)))
	confirm := h.dmButton(opsUser, "confirm")
	// One more ask fits the allowance of two steps naming one person a
	// minute (events run concurrently: whichever of the three comes first);
	// past it, steps are refused without touching the person's own allowance.
	var more []string
	for range 3 {
		more = append(more, h.step("sim_change", simChangeInputs(opsUser, "activate", demoMSISDN(7))))
	}
	var refused []slacktest.FunctionCompletion
	h.waitFor("two steps refused", func() bool {
		refused = refused[:0]
		for _, exec := range more {
			refused = append(refused, h.slack.FunctionCompletions(exec)...)
		}
		return len(refused) == 2
	})
	for _, got := range refused {
		if got.Success || !strings.Contains(got.Error, "workflows have asked 2 changes in their name") {
			t.Errorf("step past the allowance: got %+v, want a refusal naming the allowance", got)
		}
	}
	// Their own change still fits their allowance of 2…
	if _, reply := h.command(opsUser, opsChan, "/sim deactivate "+demoMSISDN(1)); !strings.Contains(reply.Text, "Confirm or cancel") {
		t.Fatalf("own change after steps named them: %q, want a confirmation prompt", reply.Text)
	}
	// …and so does confirming the first step, which then runs.
	h.click(opsUser, h.slack.DMChannel(opsUser), "confirm", confirm)
	h.waitFor("the step's activation", func() bool { return len(h.changeCalls()) == 1 })
	if got := h.completion(first); !got.Success {
		t.Errorf("confirmed step: got %+v, want success", got)
	}
	// The allowance is used up now.
	if _, reply := h.command(opsUser, opsChan, "/sim deactivate "+demoMSISDN(2)); !strings.Contains(reply.Text, "2 changes in the last minute") {
		t.Errorf("third change in a minute: %q, want it refused by the allowance", reply.Text)
	}
}

// TestRateLimitedChangesAreCountedNotEachAudited: one person hammering a
// change past the allowance leaves one "rate limited" entry, and the rest
// are counted.
func TestRateLimitedChangesAreCountedNotEachAudited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(strings.Replace(testPolicy, "roles:\n", "limits:\n  changes_per_minute: 1\nroles:\n", 1)))
	for i := range 12 {
		_, reply := h.command(opsUser, opsChan, "/sim deactivate "+demoMSISDN(1))
		if i > 0 && !strings.Contains(reply.Text, "1 changes in the last minute") {
			t.Fatalf("change %d: %q, want it rate limited", i+1, reply.Text)
		}
	}
	limited := h.auditWhere(func(e switchboard.AuditEntry) bool { return e.UserID == opsUser && e.Decision == "rate limited" })
	if len(limited) != 1 {
		t.Errorf("rate-limited entries: %d, want 1", len(limited))
	}
	if got := h.metricValue("switchboard_refusals_unaudited_total", map[string]string{"refusal": "rate_limited"}); got != 10 {
		t.Errorf("rate-limited changes counted without an entry: %v, want 10", got)
	}
}

// metricValue is the sum of the bot's series name with labels (0 when none).
func (h *harness) metricValue(name string, labels map[string]string) float64 {
	h.t.Helper()
	v, _ := series{name: name, labels: labels}.value(h.scrapeMetrics())
	return v
}

// TestHomeTabOpensAreThrottledAndFailedReadsCached: while EnCo fails, a
// person opening the Home tab again and again makes one profile read and
// one error line, and a burst of opens publishes a few views, not one each.
func TestHomeTabOpensAreThrottledAndFailedReadsCached(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(homePolicy))
	h.enco.FailNext(1000, http.StatusServiceUnavailable)

	first := h.openHome(telStaff)
	if !strings.Contains(first, "I could not read your profile") {
		t.Fatalf("view while EnCo fails = %s, want the failure", first)
	}
	reads := h.fmuCalls(http.MethodGet, "", "")
	errors := len(h.records("home fmu status"))
	if reads == 0 || errors != 1 {
		t.Fatalf("first view: %d reads, %d error lines; want some reads and one line", reads, errors)
	}
	// The failure is remembered for a while: the next view says it again
	// without asking EnCo or logging it again.
	if again := h.openHome(telStaff); !strings.Contains(again, "I could not read your profile") {
		t.Errorf("second view = %s, want the failure again", again)
	}
	if n := h.fmuCalls(http.MethodGet, "", ""); n != reads {
		t.Errorf("EnCo reads after a second view: %d, want still %d", n, reads)
	}

	// A burst of opens publishes a few views, not one each.
	for range 50 {
		if _, err := h.slack.AppHomeOpened(h.ctx, telStaff); err != nil {
			t.Fatal(err)
		}
	}
	h.main.Router.Wait()
	if n := len(h.slack.PublishedViews(telStaff)); n > 3 {
		t.Errorf("views published for 52 opens in a moment: %d, want at most 3", n)
	}
	if n := h.fmuCalls(http.MethodGet, "", ""); n != reads {
		t.Errorf("EnCo reads after 52 opens: %d, want still %d", n, reads)
	}
	if n := len(h.records("home fmu status")); n != 1 {
		t.Errorf("error lines after 52 opens: %d, want 1", n)
	}
}

// TestReadsOfManyTargetsCountAgainstTheAllowance: a read costs the person's
// allowance one read per card or number it asks EnCo about, whatever the
// command, so a few commands naming many targets cannot make hundreds of
// EnCo reads. changes_per_minute 2 and max_targets 10 give 20 reads a minute.
func TestReadsOfManyTargetsCountAgainstTheAllowance(t *testing.T) {
	t.Parallel()
	policy := strings.Replace(homePolicy, "roles:\n", "limits:\n  changes_per_minute: 2\n  max_targets: 10\nroles:\n", 1)
	policy = strings.Replace(policy, "permissions: [fmu.self]", "permissions: [fmu.self, fmu.read, sim.read]", 1)
	h := newHarness(t, withPolicy(policy))
	var ten []string
	for i := 1; i <= 10; i++ {
		ten = append(ten, demoMSISDN(i))
	}
	simReads := func() int { return len(h.encoCalls("/m2m/1.0.0/simcards")) }
	for i := range 2 {
		ack, reply := h.command(telStaff, telChan, "/sim status "+strings.Join(ten, " "))
		if !strings.Contains(reply.Text, "Looking up 10 SIM cards") {
			t.Fatalf("read %d of 10 cards: %q, want it looked up", i+1, reply.Text)
		}
		h.waitFor("the status answer", func() bool { return len(h.slack.ResponseURLPosts(ack.EnvelopeID)) > 0 })
	}
	if n := simReads(); n != 20 {
		t.Fatalf("EnCo reads = %d, want 20", n)
	}
	// The allowance is spent: a third read of many cards, a read of many
	// FMU profiles, one of a single card and the Home tab ask EnCo nothing.
	for _, text := range []string{"/sim status " + strings.Join(ten, " "), "/sim status " + demoMSISDN(1), "/fmu status 0470 00 00 02 0470 00 00 03"} {
		if _, reply := h.command(telStaff, telChan, text); !strings.Contains(reply.Text, "reads a minute") {
			t.Errorf("%s: %q, want it refused by the allowance of reads", text, reply.Text)
		}
	}
	if view := h.openHome(telStaff); !strings.Contains(view, "reads a minute") {
		t.Errorf("Home tab = %s, want it to say the allowance of reads is spent", view)
	}
	h.main.Router.Wait()
	if n := simReads(); n != 20 {
		t.Errorf("EnCo SIM reads after the allowance was spent = %d, want still 20", n)
	}
	if n := h.fmuCalls(http.MethodGet, "", "") + len(h.encoCalls("/fmu/1.0.0/status")); n != 0 {
		t.Errorf("EnCo FMU reads = %d, want none", n)
	}
}
