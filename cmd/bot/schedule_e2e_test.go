package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

func brussels(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// dm waits for the n-th direct message to user and returns it.
func (h *harness) dm(user string, n int) slacktest.Message {
	h.t.Helper()
	var msgs []slacktest.Message
	h.waitFor(fmt.Sprintf("direct message %d to %s", n, user), func() bool {
		msgs = h.slack.DirectMessages(user)
		return len(msgs) >= n
	})
	return msgs[n-1]
}

// schedules reads user's schedules from Redis.
func (h *harness) schedules(user string) []state.FMUSchedule {
	h.t.Helper()
	list, err := h.store.FMUSchedules(context.Background(), user)
	if err != nil {
		h.t.Fatal(err)
	}
	return list
}

// waitSchedule waits until user has a schedule due at due.
func (h *harness) waitSchedule(user string, due time.Time) state.FMUSchedule {
	h.t.Helper()
	var found state.FMUSchedule
	h.waitFor(fmt.Sprintf("a schedule of %s due %v", user, due.UTC()), func() bool {
		for _, sc := range h.schedules(user) {
			if sc.Due.Equal(due) {
				found = sc
				return true
			}
		}
		return false
	})
	return found
}

// scheduleWeekly sends a weekly "/fmu schedule …" rule, checks that the
// acknowledgement says it is being scheduled, and returns the answer that
// follows through the response URL once the rule is stored (or refused).
func (h *harness) scheduleWeekly(user, text string) slacktest.Message {
	h.t.Helper()
	return h.answeredAfterAck(user, telChan, text, "Scheduling")
}

// setForAWhile sends an "/fmu <profile> until …" or "… for …", checks that
// the acknowledgement says the time zone is being looked up, and returns
// the first answer that follows through the response URL.
func (h *harness) setForAWhile(user, text string) slacktest.Message {
	h.t.Helper()
	return h.answeredAfterAck(user, telChan, text, "Looking up your time zone")
}

// answeredAfterAck sends a command whose work runs after the
// acknowledgement, checks that the acknowledgement says so (contains
// acked), and returns the first answer that follows through the response
// URL.
func (h *harness) answeredAfterAck(user, channel, text, acked string) slacktest.Message {
	h.t.Helper()
	ack, reply := h.command(user, channel, text)
	if !strings.Contains(reply.Text, acked) {
		h.t.Fatalf("%s: acknowledgement = %q, want it to say %q", text, reply.Text, acked)
	}
	var found slacktest.Message
	h.waitFor("the answer to "+text, func() bool {
		posts := h.slack.ResponseURLPosts(ack.EnvelopeID)
		if len(posts) == 0 {
			return false
		}
		found = posts[0]
		return true
	})
	return found
}

// TestScheduleForOneMinuteRunsOnceAcrossReplicas sets a profile for a minute
// on one of two replicas, kills that replica, starts another, and moves the
// clock past the minute: the change back is made once, by one of the two
// running replicas, audited once and reported once.
func TestScheduleForOneMinuteRunsOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	loc := brussels(t)
	start := time.Date(2026, 3, 10, 10, 0, 0, 0, loc)
	clk := newTestClock(start)
	c := newCluster(t, withPolicy(telephonyPolicy), withClock(clk))
	a := c.start("a")
	c.start("b")

	ack, reply := c.command(telStaff, telChan, "/fmu on-duty for 1m")
	if !strings.Contains(reply.Text, "Looking up your time zone") {
		t.Fatalf("ack = %q, want it to say the time zone is being looked up", reply.Text)
	}
	// Once the time zone is known, the end time follows the acknowledgement.
	if setting := c.telResponse(ack, "Setting your FMU profile"); !strings.Contains(setting.Text, "Setting your FMU profile to *On duty* until Tue 10 Mar 10:01 CET") {
		t.Fatalf("answer = %q, want the profile and the end time", setting.Text)
	}
	got := c.telResponse(ack, "I will set it back")
	if !telHasAll(got.Text, "is now *On duty*", "back to *Private* at Tue 10 Mar 10:01 CET", "Europe/Brussels") {
		t.Errorf("answer = %q", got.Text)
	}
	if p, _ := c.enco.FMU(telStaffMobile); p != string(enco.ProfileOnDuty) {
		t.Fatalf("sandbox profile = %q, want ON_DUTY", p)
	}
	c.waitSchedule(telStaff, start.Add(time.Minute))

	a.kill()
	c.start("c") // a restart: two replicas again

	clk.Advance(61 * time.Second)
	msg := c.dm(telStaff, 1)
	if !telHasAll(msg.Text, "is now *Private*", "as scheduled for Tue 10 Mar 10:01 CET") {
		t.Errorf("direct message = %q", msg.Text)
	}
	// Done means gone from Redis: no replica can claim it again.
	c.waitFor("the schedule to be settled", func() bool { return len(c.schedules(telStaff)) == 0 })
	if p, _ := c.enco.FMU(telStaffMobile); p != string(enco.ProfilePrivate) {
		t.Errorf("sandbox profile = %q, want PRIVATE", p)
	}
	if n := c.fmuCalls(http.MethodPut, telStaffMobile, enco.ProfilePrivate); n != 1 {
		t.Errorf("PUT status PRIVATE calls = %d, want 1", n)
	}
	if n := len(c.slack.DirectMessages(telStaff)); n != 1 {
		t.Errorf("direct messages = %d, want 1", n)
	}
	var calls int
	for _, e := range c.audited("fmu.schedule") {
		if e.Decision == "api call" {
			calls++
		}
	}
	if calls != 1 {
		t.Errorf("fmu.schedule api call audit entries = %d, want 1", calls)
	}
}

// TestScheduleManyDueAtOnceAcrossReplicas lets 40 changes fall due at the
// same moment with two replicas running: each is made exactly once.
func TestScheduleManyDueAtOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	clk := newTestClock(start)
	c := newCluster(t, withPolicy(telephonyPolicy), withClock(clk))
	c.start("a")
	c.start("b")
	const n = 40
	due := start.Add(time.Minute)
	for i := range n {
		user := fmt.Sprintf("U0MANY%04d", i)
		if err := c.store.SetDirectoryEntry(c.ctx, user, switchboard.Entry{Mobile: fmt.Sprintf("3247%07d", i+1)}); err != nil {
			t.Fatal(err)
		}
		c.enco.SetFMU(fmt.Sprintf("3247%07d", i+1), string(enco.ProfileOnDuty))
		err := c.store.UpdateFMUSchedules(c.ctx, user, func([]state.FMUSchedule) ([]state.FMUSchedule, []string, error) {
			return []state.FMUSchedule{{ID: "once", User: user, CreatedBy: user, Kind: state.ScheduleOnce, Zone: "Europe/Brussels", Due: due, DueProfile: "PRIVATE"}}, nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(due.Add(time.Second))
	c.waitFor("every change made", func() bool { return c.fmuCalls(http.MethodPut, "", enco.ProfilePrivate) >= n })
	for i := range n {
		user := fmt.Sprintf("U0MANY%04d", i)
		c.waitFor("the schedule of "+user+" settled", func() bool { return len(c.schedules(user)) == 0 })
		c.dm(user, 1) // reported after it was settled
		if got := c.fmuCalls(http.MethodPut, fmt.Sprintf("3247%07d", i+1), enco.ProfilePrivate); got != 1 {
			t.Errorf("%s: %d changes, want 1", user, got)
		}
		if got := len(c.slack.DirectMessages(user)); got != 1 {
			t.Errorf("%s: %d direct messages, want 1", user, got)
		}
	}
}

// TestScheduleTimeZones reads "until" in the person's Slack time zone, and
// in Europe/Brussels when their profile has none.
func TestScheduleTimeZones(t *testing.T) {
	t.Parallel()
	// Saturday 7 March 2026, 12:00 UTC: New York is still on EST (UTC-5).
	clk := newTestClock(time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC))
	h := newHarness(t, withPolicy(telephonyPolicy), withClock(clk))
	h.slack.SetUser(slack.User{ID: telStaff, Name: "staff", TZ: "America/New_York"})

	ack, _ := h.command(telStaff, telChan, "/fmu on-duty until 18:00")
	got := h.telResponse(ack, "I will set it back")
	if !telHasAll(got.Text, "at Sat 7 Mar 18:00 EST", "times in America/New_York") {
		t.Errorf("answer = %q, want 18:00 New York time", got.Text)
	}
	h.waitSchedule(telStaff, time.Date(2026, 3, 7, 23, 0, 0, 0, time.UTC))

	ack, _ = h.command(telFleet, telChan, "/fmu on-duty until 18:00")
	got = h.telResponse(ack, "I will set it back")
	if !telHasAll(got.Text, "at Sat 7 Mar 18:00 CET", "Europe/Brussels, as the Slack profile gives no time zone") {
		t.Errorf("answer = %q, want 18:00 Brussels time", got.Text)
	}
	h.waitSchedule(telFleet, time.Date(2026, 3, 7, 17, 0, 0, 0, time.UTC))
}

// TestScheduleAcrossDaylightSaving runs a daily 08:00-18:00 rule across the
// March and October switches in Brussels: the changes stay at 08:00 and
// 18:00 on the wall clock, so their UTC times move by an hour.
func TestScheduleAcrossDaylightSaving(t *testing.T) {
	t.Parallel()
	loc := brussels(t)
	clk := newTestClock(time.Date(2026, 3, 28, 19, 0, 0, 0, loc))
	h := newHarness(t, withPolicy(telephonyPolicy), withClock(clk))
	const mobile = "32470000002" // telFleet's

	reply := h.scheduleWeekly(telFleet, "/fmu schedule daily 08:00-18:00 professional else private")
	if !telHasAll(reply.Text, "next change to *Professional* at Sun 29 Mar 08:00 CEST") {
		t.Fatalf("answer = %q, want the first change at 08:00 CEST on the switch day", reply.Text)
	}
	sc := h.waitSchedule(telFleet, time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC))

	steps := []struct {
		at      time.Time // when the clock is moved to (just after a change is due)
		profile enco.Profile
		next    time.Time // the rule's following change, in UTC
	}{
		{time.Date(2026, 3, 29, 6, 0, 1, 0, time.UTC), enco.ProfileProfessional, time.Date(2026, 3, 29, 16, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 29, 16, 0, 1, 0, time.UTC), enco.ProfilePrivate, time.Date(2026, 3, 30, 6, 0, 0, 0, time.UTC)},
	}
	dms := 0
	run := func(step int, at time.Time, profile enco.Profile, next time.Time) {
		t.Helper()
		clk.Set(at)
		dms++
		msg := h.dm(telFleet, dms)
		if !strings.Contains(msg.Text, "is now *"+render.ProfileLabel(profile)+"*") {
			t.Errorf("step %d: direct message = %q, want %s", step, msg.Text, profile)
		}
		if p, _ := h.enco.FMU(mobile); p != string(profile) {
			t.Errorf("step %d: sandbox profile = %q, want %s", step, p, profile)
		}
		h.waitSchedule(telFleet, next)
	}
	for i, s := range steps {
		run(i, s.at, s.profile, s.next)
	}

	// October: 25 October 2026, 03:00 CEST becomes 02:00 CET.
	if err := h.store.UpdateFMUSchedules(h.ctx, telFleet, func([]state.FMUSchedule) ([]state.FMUSchedule, []string, error) {
		return nil, []string{sc.ID}, nil
	}); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Date(2026, 10, 24, 19, 0, 0, 0, loc))
	reply = h.scheduleWeekly(telFleet, "/fmu schedule daily 08:00-18:00 professional else private")
	if !strings.Contains(reply.Text, "next change to *Professional* at Sun 25 Oct 08:00 CET") {
		t.Fatalf("answer = %q, want the first change at 08:00 CET on the switch day", reply.Text)
	}
	h.waitSchedule(telFleet, time.Date(2026, 10, 25, 7, 0, 0, 0, time.UTC))
	run(2, time.Date(2026, 10, 25, 7, 0, 1, 0, time.UTC), enco.ProfileProfessional, time.Date(2026, 10, 25, 17, 0, 0, 0, time.UTC))
	run(3, time.Date(2026, 10, 25, 17, 0, 1, 0, time.UTC), enco.ProfilePrivate, time.Date(2026, 10, 26, 7, 0, 0, 0, time.UTC))
}

// TestScheduleLateOrFailing skips a change found more than 15 minutes late,
// retries a change EnCo refused, and reports one that keeps failing.
func TestScheduleLateOrFailing(t *testing.T) {
	t.Parallel()
	loc := brussels(t)
	start := time.Date(2026, 3, 10, 10, 0, 0, 0, loc)
	clk := newTestClock(start)
	h := newHarness(t, withPolicy(telephonyPolicy), withClock(clk))

	// Due while "no replica ran": the clock jumps 16 minutes past it.
	ack, _ := h.command(telStaff, telChan, "/fmu on-duty for 5m")
	h.telResponse(ack, "I will set it back")
	h.waitSchedule(telStaff, start.Add(5*time.Minute))
	clk.Advance(21 * time.Minute)
	msg := h.dm(telStaff, 1)
	if !telHasAll(msg.Text, "skipped", "16 minutes late", "15 minutes") {
		t.Errorf("direct message = %q, want the skip and why", msg.Text)
	}
	if n := h.fmuCalls(http.MethodPut, telStaffMobile, enco.ProfilePrivate); n != 0 {
		t.Errorf("PUT PRIVATE calls = %d, want none for a skipped change", n)
	}
	if p, _ := h.enco.FMU(telStaffMobile); p != string(enco.ProfileOnDuty) {
		t.Errorf("sandbox profile = %q, want ON_DUTY still", p)
	}

	// One refusal, then success on the retry.
	now := clk.Now()
	ack, _ = h.command(telStaff, telChan, "/fmu professional for 1m")
	h.telResponse(ack, "I will set it back")
	h.waitSchedule(telStaff, now.Add(time.Minute))
	h.enco.FailNext(1, http.StatusServiceUnavailable)
	puts := len(h.encoCalls("/fmu/1.0.0/status"))
	clk.Advance(61 * time.Second)
	h.waitFor("the first attempt", func() bool { return len(h.encoCalls("/fmu/1.0.0/status")) > puts })
	h.waitFor("the retry to be scheduled", func() bool {
		list := h.schedules(telStaff)
		return len(list) == 1 && list[0].Attempts == 1
	})
	clk.Advance(6 * time.Second)
	msg = h.dm(telStaff, 2)
	if !strings.Contains(msg.Text, "is now *On duty*") {
		t.Errorf("direct message after the retry = %q, want the change made", msg.Text)
	}

	// Refused every time: reported once the retries have run out.
	now = clk.Now()
	ack, _ = h.command(telStaff, telChan, "/fmu private for 1m")
	h.telResponse(ack, "I will set it back")
	h.waitSchedule(telStaff, now.Add(time.Minute))
	h.enco.FailNext(1000, http.StatusServiceUnavailable)
	clk.Advance(61 * time.Second)
	h.waitFor("a failed attempt", func() bool {
		list := h.schedules(telStaff)
		return len(list) == 1 && list[0].Attempts >= 1
	})
	clk.Advance(6 * time.Minute)
	msg = h.dm(telStaff, 3)
	if !telHasAll(msg.Text, "could not make the scheduled change", "*On duty*", "tried 2 times") {
		t.Errorf("direct message = %q, want the failure reported", msg.Text)
	}
	h.enco.FailNext(0, 0)
	if n := len(h.schedules(telStaff)); n != 0 {
		t.Errorf("%d schedules left, want none once the failure is reported", n)
	}

	// Each outcome was counted once for the alerts, and the change made on
	// its retry was timed: due at one minute, made at 61 + 6 seconds.
	outcomes := func() map[string]float64 {
		fams := h.scrapeMetrics()
		got := map[string]float64{}
		for _, o := range []string{"done", "failed", "skipped"} {
			got[o], _ = sample("switchboard_fmu_schedule_changes_total", "outcome", o).value(fams)
		}
		got["timed"], _ = sample("switchboard_fmu_schedule_lateness_seconds").value(fams)
		return got
	}
	h.waitFor("the failed change to be counted", func() bool { return outcomes()["failed"] == 1 })
	if got, want := outcomes(), map[string]float64{"done": 1, "failed": 1, "skipped": 1, "timed": 1}; !maps.Equal(got, want) {
		t.Errorf("switchboard_fmu_schedule_changes_total by outcome and lateness count = %v, want %v", got, want)
	}
	late := h.scrapeMetrics()["switchboard_fmu_schedule_lateness_seconds"].GetMetric()[0].GetHistogram().GetSampleSum()
	if late < 6 || late > 10 {
		t.Errorf("lateness of the change made on its retry = %v s, want about 7 s", late)
	}
}

// TestScheduleBadInputStoresNothing checks the answers to bad schedules and
// that they neither call EnCo nor store anything.
func TestScheduleBadInputStoresNothing(t *testing.T) {
	t.Parallel()
	// Before the weekday rule's hours, so that storing it changes no
	// profile yet.
	clk := newTestClock(time.Date(2026, 3, 10, 5, 0, 0, 0, time.UTC))
	h := newHarness(t, withPolicy(telephonyPolicy), withClock(clk))

	reply := h.scheduleWeekly(telStaff, "/fmu schedule weekdays 08:00-18:00 professional else private")
	if !strings.Contains(reply.Text, "Scheduled weekdays") {
		t.Fatalf("first rule = %q, want it scheduled", reply.Text)
	}
	// 19 more rules, an hour apart on Sundays: 20 in all.
	for i := range 19 {
		reply := h.scheduleWeekly(telStaff, fmt.Sprintf("/fmu schedule sun %02d:00-%02d:30 on-duty else private", i, i))
		if !strings.Contains(reply.Text, "Scheduled") {
			t.Fatalf("rule %d = %q, want it scheduled", i+2, reply.Text)
		}
	}
	h.wantAnswers(t, telChan, []answerCase{
		{"hour out of range", telStaff, "/fmu private until 25:00", []string{"`25:00`", "hours go from 00 to 23"}},
		{"negative duration", telStaff, "/fmu private for -2h", []string{"`-2h`", "negative"}},
		{"too long", telStaff, "/fmu private for 400d", []string{"`400d`", "30 days"}},
		{"no unit", telStaff, "/fmu private for 2", []string{"`2`", "not a duration"}},
		{"no else", telFleet, "/fmu schedule weekdays 08:00-18:00 professional", []string{"`else`"}},
		{"unknown day", telFleet, "/fmu schedule funday 08:00-18:00 professional else private", []string{"`funday` is not a day"}},
		{"unknown day in a list", telFleet, "/fmu schedule mon,tue,xyz 08:00-18:00 professional else private", []string{"`xyz` is not a day", "`weekdays`"}},
		{"bad span", telFleet, "/fmu schedule weekdays 08:00 professional else private", []string{"`08:00` is not a time span"}},
		{"same profiles", telFleet, "/fmu schedule weekdays 08:00-18:00 private else private", []string{"Both profiles"}},
		{"others without fmu.set", telStaff, "/fmu schedule <@" + telFleet + "> weekdays 08:00-18:00 professional else private", []string{"fmu.set"}},
		{"others with until", telFleet, "/fmu on-duty 0470 00 00 01 until 18:00", []string{"your own profile", "/fmu schedule @person"}},
		{"unknown id", telStaff, "/fmu schedule clear abcd", []string{"no schedule `abcd`"}},
	})
	// Rules refused once the store has been read: the refusal follows the
	// acknowledgement.
	for _, tt := range []answerCase{
		{"overlapping rule", telStaff, "/fmu schedule mon 17:00-19:00 on-duty else private", []string{"overlaps", "weekdays 08:00-18:00", "Monday"}},
		{"too many rules", telStaff, "/fmu schedule sat 10:00-11:00 on-duty else private", []string{"20 schedules already"}},
	} {
		reply := h.scheduleWeekly(tt.user, tt.text)
		for _, w := range tt.want {
			if !strings.Contains(reply.Text, w) {
				t.Errorf("%s: answer = %q, want it to mention %q", tt.name, reply.Text, w)
			}
		}
	}
	// Changes for a while refused once the time zone and the store have
	// been read: the refusal follows the acknowledgement.
	for _, tt := range []answerCase{
		{"past date", telStaff, "/fmu private until 2026-03-01 18:00", []string{"already passed"}},
		{"too many with for", telStaff, "/fmu on-duty for 2h", []string{"20 schedules already"}},
	} {
		reply := h.setForAWhile(tt.user, tt.text)
		for _, w := range tt.want {
			if !strings.Contains(reply.Text, w) {
				t.Errorf("%s: answer = %q, want it to mention %q", tt.name, reply.Text, w)
			}
		}
	}
	if n := len(h.encoCalls("/fmu/")); n != 0 {
		t.Errorf("FMU API calls = %d, want none", n)
	}
	if n := len(h.schedules(telStaff)); n != 20 {
		t.Errorf("%s has %d schedules, want the 20 accepted", telStaff, n)
	}
	if n := len(h.schedules(telFleet)); n != 0 {
		t.Errorf("%s has %d schedules, want none", telFleet, n)
	}
}

// TestScheduleForSomeoneElse lets a holder of fmu.set schedule a rota for
// another person, who gets the changes and their reports.
func TestScheduleForSomeoneElse(t *testing.T) {
	t.Parallel()
	loc := brussels(t)
	clk := newTestClock(time.Date(2026, 3, 10, 7, 0, 0, 0, loc))
	h := newHarness(t, withPolicy(telephonyPolicy), withClock(clk))

	answer := h.scheduleWeekly(telFleet, "/fmu schedule <@"+telStaff+"> weekdays 08:00-18:00 on-duty else private")
	if !telHasAll(answer.Text, "<@"+telStaff+">'s", "next change to *On duty* at Tue 10 Mar 08:00 CET") {
		t.Fatalf("answer = %q", answer.Text)
	}
	_, reply := h.command(telFleet, telChan, "/fmu schedule list <@"+telStaff+">")
	if !telHasAll(reply.Text, "1 FMU schedule", "weekdays 08:00-18:00", "set by <@"+telFleet+">") {
		t.Errorf("list = %q", reply.Text)
	}
	_, reply = h.command(telStaff, telChan, "/fmu schedule list")
	if !strings.Contains(reply.Text, "set by <@"+telFleet+">") {
		t.Errorf("own list = %q, want the rule set by the fleet manager", reply.Text)
	}
	clk.Set(time.Date(2026, 3, 10, 8, 0, 1, 0, loc))
	msg := h.dm(telStaff, 1)
	if !telHasAll(msg.Text, "is now *On duty*", "Next: *Private* at Tue 10 Mar 18:00 CET") {
		t.Errorf("direct message = %q", msg.Text)
	}
	if p, _ := h.enco.FMU(telStaffMobile); p != string(enco.ProfileOnDuty) {
		t.Errorf("sandbox profile = %q, want ON_DUTY", p)
	}
	_, reply = h.command(telStaff, telChan, "/fmu schedule clear")
	if !strings.Contains(reply.Text, "Cleared") || len(h.schedules(telStaff)) != 0 {
		t.Errorf("clear = %q, %d left; want it cleared", reply.Text, len(h.schedules(telStaff)))
	}
}

// TestScheduleNotStoredWhenTheTimeZoneCannotBeRead: a schedule stored in the
// default zone while Slack did not answer could fire hours off; nothing is
// stored, and the person is told to try again.
func TestScheduleNotStoredWhenTheTimeZoneCannotBeRead(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	h := newHarness(t, withPolicy(telephonyPolicy), withClock(clk))
	h.slack.FailNext("users.info", 2, "internal_error")
	reply := h.scheduleWeekly(telStaff, "/fmu schedule weekdays 08:00-18:00 professional else private")
	if !strings.Contains(reply.Text, "could not read the time zone") || strings.Contains(reply.Text, "Scheduled") {
		t.Errorf("answer = %q, want a refusal saying the time zone could not be read", reply.Text)
	}
	if got := h.schedules(telStaff); len(got) != 0 {
		t.Errorf("schedules stored = %+v, want none", got)
	}
}
