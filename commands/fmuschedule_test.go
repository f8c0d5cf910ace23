package commands

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/schedule"
	"github.com/switchboard-bot/switchboard/state"
)

// FuzzScheduleGrammar feeds arbitrary text to the readers of "until …",
// "for …" and weekly rules: whatever they accept lies within the limits, and
// whatever they refuse is refused with a message.
func FuzzScheduleGrammar(f *testing.F) {
	for _, s := range []string{
		"weekdays 08:00-18:00 professional else private", "mon,tue 22:00-06:00 on-duty else private",
		"until 25:00", "for -2h", "for 400d", "until 2026-12-24 18:00", "for 1h30m", "fri-mon 1:00-2:00 onduty ELSE private",
	} {
		f.Add(s)
	}
	loc, _ := schedule.Location("")
	now := time.Date(2026, 3, 28, 23, 30, 0, 0, loc)
	f.Fuzz(func(t *testing.T, text string) {
		toks, err := tokenize(text)
		if err != nil || len(toks) == 0 {
			return
		}
		rule, in, out, uerr := parseWeekly(toks)
		switch {
		case uerr != nil && uerr.Msg == "":
			t.Fatalf("%q: refused without a message", text)
		case uerr == nil && (rule.Days == 0 || !in.Valid() || !out.Valid() || in == out || rule.Start == rule.End):
			t.Fatalf("%q: accepted %+v, %s else %s", text, rule, in, out)
		}
		at, uerr := untilFor(toks, now, loc)
		switch {
		case uerr != nil && uerr.Msg == "":
			t.Fatalf("%q: refused without a message", text)
		case uerr == nil && (!at.After(now) || at.Sub(now) > schedule.MaxDuration):
			t.Fatalf("%q: accepted %v, not within 30 days after %v", text, at, now)
		}
	})
}

// countingDirectory is a directory that counts its lookups.
type countingDirectory struct {
	telDirectory
	lookups atomic.Int32
}

func (d *countingDirectory) Lookup(ctx context.Context, user string) (switchboard.Entry, string, bool, error) {
	d.lookups.Add(1)
	return d.telDirectory.Lookup(ctx, user)
}

// countingPeople gives everyone the time zone of Brussels and counts the
// questions, as Slack's users.info would be asked them.
type countingPeople struct{ asked atomic.Int32 }

func (p *countingPeople) TimeZone(context.Context, string) (string, error) {
	p.asked.Add(1)
	return "Europe/Brussels", nil
}

// TestScheduleForManyAcknowledgesFirst: a weekly rule for a rota of as many
// people as one command takes is acknowledged before anyone's number or
// time zone is looked up and before anything is stored; the outcome follows
// through the response URL, with the rule stored for everyone.
func TestScheduleForManyAcknowledgesFirst(t *testing.T) {
	f := newTelFixture(switchboard.PermFMUSet)
	rdb, prefix := redistest.New(t)
	st := state.New(rdb, prefix)
	useStore(&f.cfg, st)
	f.cfg.State.Schedules = st
	f.cfg.Settings.Now = func() time.Time { return time.Date(2026, 3, 10, 7, 0, 0, 0, time.UTC) }
	dir := &countingDirectory{telDirectory: telDirectory{}}
	zones := &countingPeople{}
	f.cfg.Directory, f.cfg.Slack.People = dir, zones
	var users, mentions []string
	for i := range f.router().fmuCmd().maxTargets() {
		u := fmt.Sprintf("U0P%03d", i)
		users = append(users, u)
		mentions = append(mentions, "<@"+u+">")
		dir.telDirectory[u] = switchboard.Entry{Mobile: fmt.Sprintf("32470%06d", i+1)}
	}
	ctx := context.Background()

	reply, after := f.router().Command(ctx, slack.SlashCommand{Command: "/fmu", Text: "schedule " + strings.Join(mentions, " ") + " weekdays 08:00-18:00 on-duty else private",
		UserID: "U0ME", ChannelID: "C0CHAN", ResponseURL: "https://hooks.example/1"})
	if !strings.Contains(reply.Text, "Scheduling weekdays for 100 people") || after == nil {
		t.Fatalf("acknowledgement = %q (work after it: %v), want it to say the rule is being scheduled", reply.Text, after != nil)
	}
	if n, m := dir.lookups.Load(), zones.asked.Load(); n != 0 || m != 0 {
		t.Errorf("before the acknowledgement: %d directory lookups and %d time-zone questions, want none", n, m)
	}
	for _, u := range users {
		if list, err := st.FMUSchedules(ctx, u); err != nil || len(list) != 0 {
			t.Fatalf("schedules of %s before the acknowledgement = %v (err %v), want none", u, list, err)
		}
	}

	after(ctx)
	answer := f.lastResponse(t)
	if !strings.Contains(answer, ":white_check_mark: Scheduled weekdays: *On duty* from 08:00 to 18:00, *Private* otherwise.") || strings.Count(answer, "next change to *Private* at Tue 10 Mar 18:00 CET") != len(users) {
		t.Errorf("answer through the response URL = %q, want the rule scheduled for all %d", answer, len(users))
	}
	if n, m := dir.lookups.Load(), zones.asked.Load(); n != int32(len(users)) || m != int32(len(users)) {
		t.Errorf("after the acknowledgement: %d directory lookups and %d time-zone questions, want %d each", n, m, len(users))
	}
	for _, u := range users {
		if list, err := st.FMUSchedules(ctx, u); err != nil || len(list) != 1 || list[0].CreatedBy != "U0ME" {
			t.Fatalf("schedules of %s = %+v (err %v), want the rule set by U0ME", u, list, err)
		}
	}
}

// settingFMU is telFMU that also counts changes of one number.
type settingFMU struct {
	*telFMU
	sets atomic.Int32
}

func (f *settingFMU) SetFMUStatus(context.Context, string, enco.Profile) error {
	f.sets.Add(1)
	return nil
}

// TestSetForAWhileAcknowledgesFirst: "/fmu on-duty for 2h" is acknowledged
// before the requester's time zone or number is looked up (each a Slack
// users.info call with trust_profile_phone); when the change back falls due
// and the outcome follow through the response URL.
func TestSetForAWhileAcknowledgesFirst(t *testing.T) {
	f := newTelFixture(switchboard.PermFMUSelf)
	rdb, prefix := redistest.New(t)
	st := state.New(rdb, prefix)
	useStore(&f.cfg, st)
	f.cfg.State.Schedules = st
	f.cfg.Settings.Now = func() time.Time { return time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC) }
	dir := &countingDirectory{telDirectory: telDirectory{"U0ME": {Mobile: "32470000001"}}}
	zones := &countingPeople{}
	f.cfg.Directory, f.cfg.Slack.People = dir, zones
	api := &settingFMU{telFMU: f.fmu}
	f.cfg.EnCo.FMU = api
	ctx := context.Background()

	reply, after := f.router().Command(ctx, slack.SlashCommand{Command: "/fmu", Text: "on-duty for 2h",
		UserID: "U0ME", ChannelID: "C0CHAN", ResponseURL: "https://hooks.example/1"})
	if n, m := dir.lookups.Load(), zones.asked.Load(); n != 0 || m != 0 {
		t.Errorf("before the acknowledgement: %d directory lookups and %d time-zone questions, want none", n, m)
	}
	if reply.Text != ":hourglass_flowing_sand: Looking up your time zone and mobile number…" || after == nil {
		t.Fatalf("acknowledgement = %q (work after it: %v), want it to say the look-ups are under way", reply.Text, after != nil)
	}
	if n := api.sets.Load(); n != 0 {
		t.Errorf("FMU changes before the acknowledgement = %d, want none", n)
	}

	after(ctx)
	if n, m := dir.lookups.Load(), zones.asked.Load(); n != 1 || m != 1 {
		t.Errorf("after the acknowledgement: %d directory lookups and %d time-zone questions, want 1 each", n, m)
	}
	f.slack.mu.Lock()
	var answers []string
	for _, m := range f.slack.responses {
		answers = append(answers, m.Text)
	}
	f.slack.mu.Unlock()
	want := []string{
		":hourglass_flowing_sand: Setting your FMU profile to *On duty* until Tue 10 Mar 12:00 CET…",
		":white_check_mark: Your FMU profile (+32 470 00 00 01) is now *On duty*. I will set it back to *Private* at Tue 10 Mar 12:00 CET",
	}
	if len(answers) != 2 || answers[0] != want[0] || !strings.HasPrefix(answers[1], want[1]) {
		t.Errorf("answers through the response URL = %q, want %q then the change made", answers, want)
	}
	if n := api.sets.Load(); n != 1 {
		t.Errorf("FMU changes = %d, want 1", n)
	}
	if list, err := st.FMUSchedules(ctx, "U0ME"); err != nil || len(list) != 1 || list[0].DueProfile != string(enco.ProfilePrivate) {
		t.Errorf("schedules = %+v (err %v), want the change back to Private", list, err)
	}
}

// evilStatusFMU answers every profile read with an error in EnCo's words
// that would ping the channel and form a link if posted as it is.
type evilStatusFMU struct{ *telFMU }

func (evilStatusFMU) FMUStatus(_ context.Context, msisdn string) (enco.FMUStatus, error) {
	return enco.FMUStatus{MSISDN: msisdn, IsError: true, Error: "<!channel> <http://evil.example|click>"}, nil
}

// A profile change until a time starts by reading the profile; when EnCo
// cannot, its reason reaches the requester escaped.
func TestSetUntilEscapesEnCoReadError(t *testing.T) {
	f := newTelFixture()
	f.cfg.EnCo.FMU = evilStatusFMU{f.fmu}
	got := f.router().sched.setUntil(context.Background(), "U0ME", fmuTarget{digits: "32470000001"}, enco.ProfileOnDuty, time.Now().Add(time.Hour), time.UTC, false)
	if strings.Contains(got, "<!channel>") || strings.Contains(got, "<http") || !strings.Contains(got, "&lt;!channel&gt;") {
		t.Errorf("answer = %q, want EnCo's reason escaped", got)
	}
}

// oddStatusFMU reads every profile as one that is none of the three, and
// counts the changes asked of it.
type oddStatusFMU struct{ settingFMU }

func (*oddStatusFMU) FMUStatus(_ context.Context, msisdn string) (enco.FMUStatus, error) {
	return enco.FMUStatus{MSISDN: msisdn, Status: "VACATION <!here>"}, nil
}

// A profile change until a time reads the profile to go back to; when
// EnCo's answer is not a profile, nothing is changed or scheduled, and the
// answer says why.
func TestSetUntilRefusesAnUnknownCurrentProfile(t *testing.T) {
	f := newTelFixture()
	rdb, prefix := redistest.New(t)
	st := state.New(rdb, prefix)
	f.cfg.State.Schedules = st
	api := &oddStatusFMU{settingFMU{telFMU: f.fmu}}
	f.cfg.EnCo.FMU = api
	ctx := context.Background()
	got := f.router().sched.setUntil(ctx, "U0ME", fmuTarget{digits: "32470000001"}, enco.ProfileOnDuty, time.Now().Add(time.Hour), time.UTC, false)
	want := ":x: I could not read your current FMU profile (EnCo's answer is not private, professional or on duty), so no change back can be scheduled and I changed nothing. `/fmu on-duty` without `until` or `for` sets it for good."
	if got != want {
		t.Errorf("answer = %q, want %q", got, want)
	}
	if n := api.sets.Load(); n != 0 {
		t.Errorf("FMU changes = %d, want none", n)
	}
	if list, err := st.FMUSchedules(ctx, "U0ME"); err != nil || len(list) != 0 {
		t.Errorf("schedules = %+v (err %v), want none", list, err)
	}
}

// Days written with commas are one list, whatever the tokenizer made of
// them.
func TestParseWeeklyReadsDaysWithCommas(t *testing.T) {
	for text, want := range map[string]string{
		"mon,tue 22:00-06:00 on-duty else private":          "mon,tue 22:00-06:00",
		"mon, wed,fri-sun 08:00-18:00 on-duty else private": "mon,wed,fri,sat,sun 08:00-18:00",
		"Weekdays 08:00-18:00 professional else private":    "weekdays 08:00-18:00",
	} {
		rule, uerr := readWeekly(t, text)
		if uerr != nil || rule.String() != want {
			t.Errorf("%q: got %v (%+v), want %q", text, rule, uerr, want)
		}
	}
}

// A weekly rule without its else part but with a wrong day or time span is
// refused for that token first: asking for the else would leave the typo
// in place.
func TestParseWeeklyNamesTheSpanBeforeTheElse(t *testing.T) {
	for text, want := range map[string]string{
		"daily 08:00 professional":                          "`08:00` is not a time span",
		"daily 25:00-18:00 professional":                    "25:00",
		"someday 08:00-18:00 on-duty":                       "`someday` is not a day",
		"daily 08:00-18:00 professional":                    "Say which profile applies outside those hours with `else`",
		"mon,tue,xyz 08:00-18:00 professional else private": "`xyz` is not a day: use `weekdays`, `weekends`, `daily` or day names like `mon,tue,fri`",
		"mon,xyz-fri 08:00-18:00 professional":              "`xyz` is not a day",
	} {
		_, uerr := readWeekly(t, text)
		if uerr == nil || !strings.Contains(uerr.Msg, want) {
			t.Errorf("%q: got %+v, want a refusal saying %q", text, uerr, want)
		}
	}
}

// readWeekly reads text as the words of a weekly schedule rule.
func readWeekly(t *testing.T, text string) (schedule.Weekly, *UsageError) {
	t.Helper()
	toks, err := tokenize(text)
	if err != nil {
		t.Fatal(err)
	}
	rule, _, _, uerr := parseWeekly(toks)
	return rule, uerr
}
