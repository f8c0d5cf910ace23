package commands

import (
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/schedule"
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
