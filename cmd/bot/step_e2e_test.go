package main

// End-to-end tests of the Workflow Builder steps: the fake Slack delivers
// function_executed as an events_api envelope, the named user answers the
// direct message, and the test reads the functions.completeSuccess /
// completeError calls the fake recorded.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/slackevents"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

const stepPolicy = testPolicy + `directory:
  ` + opsUser + `: {mobile: "32470000001"}
  ` + opsUser2 + `: {mobile: "32470000002"}
workflows:
  allow: [set_fmu_profile, sim_change]
limits:
  max_targets: 3
`

// step delivers a function_executed event for callbackID with inputs and
// returns the execution id.
func (h *harness) step(callbackID string, inputs map[string]any) string {
	h.t.Helper()
	exec, _, err := h.slack.FunctionExecuted(h.ctx, callbackID, inputs)
	if err != nil {
		h.t.Fatalf("function_executed %s: %v", callbackID, err)
	}
	return exec
}

// completion waits for the completion of exec and returns it.
// A failure's text is plain: Workflow Builder shows it as it is, so it
// carries no mention, link or escape, and no mrkdwn marks.
func (h *harness) completion(exec string) slacktest.FunctionCompletion {
	h.t.Helper()
	h.waitFor("the completion of step "+exec, func() bool { return len(h.slack.FunctionCompletions(exec)) > 0 })
	c := h.slack.FunctionCompletions(exec)[0]
	if m := slackMarkup.FindString(c.Error); m != "" {
		h.t.Errorf("completeError text %q shows %q, want plain text", c.Error, m)
	}
	return c
}

// slackMarkup matches what mrkdwn would render but plain text shows raw.
var slackMarkup = regexp.MustCompile("<[@#!][^>]*>|<https?:[^>]*>|&(?:lt|gt|amp);|[`*]|:[a-z][a-z0-9_+-]*:")

// completedOnce checks, once the delivery queue is empty, that exec was
// completed exactly once.
func (h *harness) completedOnce(exec string) {
	h.t.Helper()
	h.waitFor("an empty delivery queue", func() bool {
		n, err := h.store.QueueDepth(h.ctx)
		return err == nil && n == 0
	})
	if got := h.slack.FunctionCompletions(exec); len(got) != 1 {
		h.t.Errorf("completions of %s: got %d (%+v), want exactly 1", exec, len(got), got)
	}
}

// dmButton waits for a direct message to user with an actionID button and
// returns its value.
func (h *harness) dmButton(user, actionID string) string {
	h.t.Helper()
	var value string
	h.waitFor("a direct message to "+user+" with a "+actionID+" button", func() bool {
		for _, m := range h.slack.DirectMessages(user) {
			if v := findButton(m.Blocks, actionID); v != "" {
				value = v
				return true
			}
		}
		return false
	})
	return value
}

func findButton(raw json.RawMessage, actionID string) string {
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &blocks) != nil {
		return ""
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value
			}
		}
	}
	return ""
}

// changeCalls are the EnCo calls that change something: M2M requests and
// FMU profile changes.
func (h *harness) changeCalls() []string {
	var out []string
	for _, r := range h.enco.Requests() {
		if strings.HasPrefix(r.Path, "/m2m/1.0.0/requests/") || (strings.HasPrefix(r.Path, "/fmu/") && r.Method == http.MethodPut) {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func simChangeInputs(user, action, ids string) map[string]any {
	return map[string]any{"user_id": user, "action": action, "sim_ids": ids}
}

func TestStepSIMChangeConfirmedCompletesWithItsOutputs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(stepPolicy))
	inputs := simChangeInputs(opsUser, "deactivate", demoMSISDN(1)+", "+demoMSISDN(2))
	inputs["channel_id"] = opsChan
	exec := h.step("sim_change", inputs)
	confirm := h.dmButton(opsUser, "confirm")
	if calls := h.changeCalls(); len(calls) != 0 {
		t.Fatalf("EnCo changes before the confirmation: %v", calls)
	}
	// The same execution in a new envelope (Slack retrying) asks nobody again.
	again := slackevents.FunctionExecutedEvent{Type: "function_executed", FunctionExecutionID: exec, Inputs: inputs}
	again.Function.CallbackID = "sim_change"
	if _, err := h.slack.EventCallback(h.ctx, again); err != nil {
		t.Fatal(err)
	}
	// Envelopes are handled in order: once a later one is acknowledged, the
	// repeated execution's work has been started, and Wait sees it through.
	if _, err := h.slack.EventCallback(h.ctx, slackevents.ReactionAddedEvent{Type: "reaction_added", User: opsUser}); err != nil {
		t.Fatal(err)
	}
	h.main.Router.Wait()
	if n := len(h.slack.DirectMessages(opsUser)); n != 1 {
		t.Errorf("direct messages after the execution came again: got %d, want 1", n)
	}
	// Only the named user may answer.
	h.click(opsUser2, h.slack.DMChannel(opsUser), "confirm", confirm)
	h.waitFor("the refusal of another person's click", func() bool {
		return h.sawEphemeral(h.slack.DMChannel(opsUser), opsUser2, "Only <@"+opsUser+">")
	})
	h.click(opsUser, h.slack.DMChannel(opsUser), "confirm", confirm)

	got := h.completion(exec)
	h.completedOnce(exec)
	parents := h.parents(opsChan)
	if len(parents) != 1 {
		t.Fatalf("parent messages in %s: got %d, want 1", opsChan, len(parents))
	}
	wantURL := fmt.Sprintf("https://switchboard-test.slack.com/archives/%s/p%s", opsChan, strings.ReplaceAll(parents[0].TS, ".", ""))
	want := map[string]string{"succeeded": "2", "failed": "0", "thread_url": wantURL}
	if !got.Success || fmt.Sprint(got.Outputs) != fmt.Sprint(want) {
		t.Errorf("completion: got %+v, want success with outputs %v", got, want)
	}
	if n := len(h.slack.Thread(opsChan, parents[0].TS)); n < 2 {
		t.Errorf("thread replies: got %d, want the 2 results", n)
	}
	// One request per card: a change of a few cards names each one.
	if calls := h.changeCalls(); len(calls) != 2 || !strings.HasSuffix(calls[0], "/requests/deactivation") || !strings.HasSuffix(calls[1], "/requests/deactivation") {
		t.Errorf("EnCo changes: got %v, want one deactivation request per card", calls)
	}
}

func TestStepSetFMUProfile(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(stepPolicy))

	// Started by the person it names: their own profile, no confirmation.
	own := h.step("set_fmu_profile", map[string]any{"user_id": opsUser, "profile": "ON_DUTY",
		"interactivity": map[string]any{"interactivity_pointer": "1.2.abc", "interactor": map[string]any{"id": opsUser, "secret": "s"}}})
	got := h.completion(own)
	if !got.Success || got.Outputs["profile"] != "ON_DUTY" {
		t.Errorf("own profile: got %+v, want success with profile ON_DUTY", got)
	}
	if v := findButton(h.slack.DirectMessages(opsUser)[0].Blocks, "confirm"); v != "" {
		t.Errorf("own profile: got a confirm button in the DM, want none")
	}

	// Started by someone else (or by a schedule): the named user confirms.
	other := h.step("set_fmu_profile", map[string]any{"user_id": opsUser2, "profile": "private",
		"interactivity": map[string]any{"interactor": map[string]any{"id": opsUser}}})
	confirm := h.dmButton(opsUser2, "confirm")
	if calls := h.changeCalls(); len(calls) != 1 {
		t.Fatalf("EnCo changes before the second confirmation: got %v, want only the own profile's", calls)
	}
	h.click(opsUser2, h.slack.DMChannel(opsUser2), "confirm", confirm)
	if got := h.completion(other); !got.Success || got.Outputs["profile"] != "PRIVATE" {
		t.Errorf("profile set after confirmation: got %+v, want success with profile PRIVATE", got)
	}
	h.completedOnce(own)
	h.completedOnce(other)
	if st, ok := h.enco.FMU("32470000002"); !ok || st != "PRIVATE" {
		t.Errorf("EnCo's profile of %s: got %q (known %t); want PRIVATE", opsUser2, st, ok)
	}
}

func TestStepDeniedCancelledOrUnconfirmedChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(stepPolicy))

	denied := h.step("sim_change", simChangeInputs(guestUser, "deactivate", demoMSISDN(1)))
	if got := h.completion(denied); got.Success || !strings.Contains(got.Error, "The person named in the step may not do this") {
		t.Errorf("denied: got %+v, want an error saying the person named in the step may not do this", got)
	}
	if msgs := h.slack.DirectMessages(guestUser); len(msgs) != 0 {
		t.Errorf("denied: got direct messages %+v, want none", msgs)
	}

	opened := len(h.slack.Calls("conversations.open"))
	cancelled := h.step("sim_change", simChangeInputs(opsUser, "deactivate", demoMSISDN(1)))
	h.click(opsUser, h.slack.DMChannel(opsUser), "cancel", h.dmButton(opsUser, "cancel"))
	if n := len(h.slack.Calls("conversations.open")) - opened; n != 1 {
		t.Errorf("conversations.open calls for a step in the direct message: got %d, want 1", n)
	}
	if got := h.completion(cancelled); got.Success || !strings.Contains(got.Error, "cancelled") {
		t.Errorf("cancelled: got %+v, want an error saying it was cancelled", got)
	}

	unanswered := h.step("sim_change", simChangeInputs(opsUser2, "activate", demoMSISDN(4)))
	confirm := h.dmButton(opsUser2, "confirm")
	if n, err := h.main.expirer.Sweep(h.ctx, time.Now().Add(10*time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep after the confirmation deadline: expired %d, %v; want 1", n, err)
	}
	if got := h.completion(unanswered); got.Success || !strings.Contains(got.Error, "did not confirm or cancel") {
		t.Errorf("unanswered: got %+v, want an error saying nobody confirmed in time", got)
	}
	// A click after the deadline (the button still shows) changes nothing.
	ack := h.click(opsUser2, h.slack.DMChannel(opsUser2), "confirm", confirm)
	h.waitFor("the answer to the late click", func() bool { return len(h.slack.ResponseURLPosts(ack.ResponseURL)) > 0 })
	if got := h.slack.ResponseURLPosts(ack.ResponseURL)[0].Text; !strings.Contains(got, "ended already") {
		t.Errorf("late click: got %q, want it to say the request has ended", got)
	}

	for _, exec := range []string{denied, cancelled, unanswered} {
		h.completedOnce(exec)
	}
	if calls := h.changeCalls(); len(calls) != 0 {
		t.Errorf("EnCo changes: got %v, want none", calls)
	}
}

func TestStepBadInputsCompleteWithTheProblem(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(stepPolicy))
	four := strings.Join([]string{demoMSISDN(1), demoMSISDN(2), demoMSISDN(4), demoMSISDN(5)}, " ")
	tests := []struct {
		name, step string
		inputs     map[string]any
		want       string
	}{
		{"unknown profile", "set_fmu_profile", map[string]any{"user_id": opsUser, "profile": "ON_HOLIDAY"}, `profile input "ON_HOLIDAY" is not an FMU profile`},
		{"empty sim_ids", "sim_change", simChangeInputs(opsUser, "deactivate", " "), "sim_ids input is empty"},
		{"invalid sim_ids", "sim_change", simChangeInputs(opsUser, "deactivate", "iccid:123"), "not an ICCID"},
		{"more than max_targets", "sim_change", simChangeInputs(opsUser, "deactivate", four), "at most 3"},
		{"terminate", "sim_change", simChangeInputs(opsUser, "terminate", demoMSISDN(1)), `action input "terminate"`},
		{"no user", "sim_change", map[string]any{"action": "activate", "sim_ids": demoMSISDN(4)}, "user_id input must be a person"},
		{"channel name", "sim_change", map[string]any{"user_id": opsUser, "action": "activate", "sim_ids": demoMSISDN(4), "channel_id": "#ops"}, `channel_id input "#ops"`},
		{"long profile", "set_fmu_profile", map[string]any{"user_id": opsUser, "profile": strings.Repeat("X", 5000)}, "is not an FMU profile"},
		{"unknown step", "sim_terminate", simChangeInputs(opsUser, "activate", demoMSISDN(4)), `does not allow the step "sim_terminate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec := h.step(tt.step, tt.inputs)
			got := h.completion(exec)
			if got.Success || !strings.Contains(got.Error, tt.want) {
				t.Errorf("got %+v, want an error containing %q", got, tt.want)
			}
			if len(got.Error) > 300 {
				t.Errorf("error of %d bytes, want at most 300: %.80s…", len(got.Error), got.Error)
			}
		})
	}
	if calls := h.changeCalls(); len(calls) != 0 {
		t.Errorf("EnCo changes: got %v, want none", calls)
	}
	if msgs := h.slack.DirectMessages(opsUser); len(msgs) != 0 {
		t.Errorf("direct messages: got %d, want none", len(msgs))
	}
}

// TestStepsNamingAPersonHaveAnAllowance: steps that ask one person count
// against an allowance of their own (as many a minute as changes), so a
// workflow cannot flood them; their own changes are charged when they
// confirm (TestStepIsChargedOnlyWhenThePersonConfirms).
func TestStepsNamingAPersonHaveAnAllowance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(strings.Replace(stepPolicy, "limits:\n", "limits:\n  changes_per_minute: 1\n", 1)))
	first := h.step("sim_change", simChangeInputs(opsUser, "activate", demoMSISDN(4)))
	h.dmButton(opsUser, "confirm")
	second := h.step("sim_change", simChangeInputs(opsUser, "activate", demoMSISDN(7)))
	if got := h.completion(second); got.Success || !strings.Contains(got.Error, "workflows have asked 1 changes in their name in the last minute") {
		t.Errorf("second step within a minute: got %+v, want an error naming the allowance", got)
	}
	if got := h.slack.FunctionCompletions(first); len(got) != 0 {
		t.Errorf("first step: got completions %+v, want none yet (it waits for its confirmation)", got)
	}
}

func TestStepsAreOffUnlessThePolicyAllowsThem(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // testPolicy: no workflows key
	exec := h.step("set_fmu_profile", map[string]any{"user_id": opsUser, "profile": "ON_DUTY"})
	if got := h.completion(exec); got.Success || !strings.Contains(got.Error, "workflows.allow") {
		t.Errorf("got %+v, want an error pointing at workflows.allow", got)
	}
	h.completedOnce(exec)
}

func TestStepExpiryNamesTheTargetsWithoutAnswer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(stepPolicy))
	h.enco.SetDropCallbacks(true)
	exec := h.step("sim_change", simChangeInputs(opsUser, "reactivate", demoMSISDN(3)))
	h.click(opsUser, h.slack.DMChannel(opsUser), "confirm", h.dmButton(opsUser, "confirm"))
	h.droppedCallbacks(1)
	if n, err := h.main.expirer.Sweep(h.ctx, time.Now().Add(25*time.Hour)); err != nil || n != 1 {
		t.Fatalf("sweep after the operation's deadline: expired %d, %v; want 1", n, err)
	}
	if got := h.completion(exec); got.Success || !strings.Contains(got.Error, "No answer from EnCo for 1 of 1") || !strings.Contains(got.Error, "471 00 00 03") {
		t.Errorf("got %+v, want an error naming +32 471 00 00 03 as unanswered", got)
	}
	h.completedOnce(exec)
}

// TestStepReplicaKilledBetweenConfirmAndCompletion: the replica that took
// the confirmation and EnCo's callbacks dies while Slack holds its
// completion call; another replica, started meanwhile, completes the step,
// once.
func TestStepReplicaKilledBetweenConfirmAndCompletion(t *testing.T) {
	t.Parallel()
	c := newCluster(t, withPolicy(stepPolicy))
	a := c.start("a")
	c.enco.SetDropCallbacks(true)
	exec := c.step("sim_change", simChangeInputs(opsUser, "deactivate", demoMSISDN(1)+" "+demoMSISDN(2)))
	c.click(opsUser, c.slack.DMChannel(opsUser), "confirm", c.dmButton(opsUser, "confirm"))
	dropped := c.droppedCallbacks(2)

	c.slack.Hold("functions.completeSuccess", 1)
	// 202: a callback that beat the tracking number's mapping is parked
	// and delivered as soon as the mapping is stored.
	for _, status := range resend(t, a.cfg.PublicURL, dropped) {
		if status != http.StatusOK && status != http.StatusAccepted {
			t.Fatalf("callback status %d, want 200 or 202", status)
		}
	}
	c.waitFor("replica a's completion call to hang", func() bool { return c.slack.Holding() == 1 })
	b := c.start("b")
	a.kill()

	got := c.completion(exec)
	if !got.Success || got.Outputs["succeeded"] != json.Number("2") || got.Outputs["failed"] != json.Number("0") || got.Outputs["thread_url"] == "" {
		t.Errorf("completion: got %+v, want success with succeeded=2, failed=0 and a thread URL", got)
	}
	c.waitFor("an empty delivery queue", func() bool { return b.queueDepth() == 0 })
	if got := c.slack.FunctionCompletions(exec); len(got) != 1 {
		t.Errorf("completions: got %d (%+v), want exactly 1", len(got), got)
	}
	var calls int
	for _, call := range c.slack.Calls("functions.completeSuccess") {
		if call.Status != 0 {
			calls++
		}
	}
	if calls != 1 {
		t.Errorf("answered functions.completeSuccess calls: got %d, want 1 (replica a's was abandoned)", calls)
	}
}
