package schedule

import (
	"strings"
	"testing"
	"time"
)

func brussels(t *testing.T) *time.Location {
	t.Helper()
	loc, fallback := Location("")
	if !fallback || loc.String() != DefaultZone {
		t.Fatalf("Location(\"\") = %v, fallback %v; want %s, true", loc, fallback, DefaultZone)
	}
	return loc
}

func TestLocation(t *testing.T) {
	if loc, fallback := Location("America/New_York"); fallback || loc.String() != "America/New_York" {
		t.Errorf("got %v, %v; want America/New_York, false", loc, fallback)
	}
	if loc, fallback := Location("Mars/Olympus"); !fallback || loc.String() != DefaultZone {
		t.Errorf("unknown zone: got %v, %v; want %s, true", loc, fallback, DefaultZone)
	}
}

func TestParseClock(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "18:00", want: "18:00"},
		{in: "8:05", want: "08:05"},
		{in: "00:00", want: "00:00"},
		{in: "23:59", want: "23:59"},
		{in: "25:00", err: "hours go from 00 to 23"},
		{in: "24:00", err: "hours go from 00 to 23"},
		{in: "12:60", err: "minutes go from 00 to 59"},
		{in: "1800", err: "write it as HH:MM"},
		{in: "18:0", err: "write it as HH:MM"},
		{in: "-1:00", err: "write it as HH:MM"},
		{in: "ab:cd", err: "write it as HH:MM"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ParseClock(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, %v; want an error saying %q", c, err, tt.err)
				}
				return
			}
			if err != nil || c.String() != tt.want {
				t.Fatalf("got %v, %v; want %s", c, err, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "1m", want: time.Minute},
		{in: "90m", want: 90 * time.Minute},
		{in: "2h", want: 2 * time.Hour},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "3d", want: 72 * time.Hour},
		{in: "30d", want: MaxDuration},
		{in: "-2h", err: "negative"},
		{in: "400d", err: "too long"},
		{in: "30d1m", err: "too long"},
		{in: "0m", err: "too short"},
		{in: "2", err: "not a duration"},
		{in: "h", err: "not a duration"},
		{in: "2w", err: "not a unit"},
		{in: "9999999999h", err: "not a duration"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDuration(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, %v; want an error saying %q", d, err, tt.err)
				}
				return
			}
			if err != nil || d != tt.want {
				t.Fatalf("got %v, %v; want %v", d, err, tt.want)
			}
		})
	}
}

func TestUntil(t *testing.T) {
	loc := brussels(t)
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, loc)
	for _, tt := range []struct {
		name, date, clock string
		want              time.Time
		err               string
	}{
		{name: "later today", clock: "18:00", want: time.Date(2026, 3, 10, 18, 0, 0, 0, loc)},
		{name: "passed: tomorrow", clock: "09:00", want: time.Date(2026, 3, 11, 9, 0, 0, 0, loc)},
		{name: "now is passed", clock: "14:00", want: time.Date(2026, 3, 11, 14, 0, 0, 0, loc)},
		{name: "date", date: "2026-03-24", clock: "18:00", want: time.Date(2026, 3, 24, 18, 0, 0, 0, loc)},
		{name: "past date", date: "2026-03-01", clock: "18:00", err: "already passed"},
		{name: "too far", date: "2026-05-01", clock: "18:00", err: "too far ahead"},
		{name: "bad date", date: "2026-13-01", clock: "18:00", err: "not a date"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseClock(tt.clock)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Until(now, loc, tt.date, c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, %v; want an error saying %q", got, err, tt.err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestUntilAcrossDST checks that "until HH:MM" names the local time on the
// day of a switch, and that a duration is elapsed time across it.
func TestUntilAcrossDST(t *testing.T) {
	loc := brussels(t)
	// 29 March 2026: 02:00 CET becomes 03:00 CEST.
	before := time.Date(2026, 3, 29, 0, 30, 0, 0, loc)
	got, err := Until(before, loc, "", 18*60)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 29, 16, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("until 18:00 on 29 March: got %v, want %v (18:00 CEST)", got.UTC(), want)
	}
	// 25 October 2026: 03:00 CEST becomes 02:00 CET.
	got, err = Until(time.Date(2026, 10, 25, 0, 30, 0, 0, loc), loc, "", 18*60)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 10, 25, 17, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("until 18:00 on 25 October: got %v, want %v (18:00 CET)", got.UTC(), want)
	}
	// "for 2h" from 01:30 CET on 29 March ends at 04:30 CEST: two real hours.
	if end := before.Add(time.Hour).Add(2 * time.Hour); end.In(loc).Format("15:04 MST") != "04:30 CEST" {
		t.Errorf("01:30 + 2h = %s, want 04:30 CEST", end.In(loc).Format("15:04 MST"))
	}
}

func TestParseDays(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "weekdays", want: "weekdays"},
		{in: "WEEKENDS", want: "weekends"},
		{in: "daily", want: "daily"},
		{in: "mon,tue,fri", want: "mon,tue,fri"},
		{in: "monday,Wednesday", want: "mon,wed"},
		{in: "mon-fri", want: "weekdays"},
		{in: "fri-mon", want: "mon,fri,sat,sun"},
		{in: "sat,sun", want: "weekends"},
		{in: "funday", err: "`funday` is not a day"},
		{in: "mon,,tue", err: "is not a day"},
		{in: "mo", err: "`mo` is not a day"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDays(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, %v; want an error saying %q", d, err, tt.err)
				}
				return
			}
			if err != nil || d.String() != tt.want {
				t.Fatalf("got %v, %v; want %s", d, err, tt.want)
			}
		})
	}
}

func mustParse(t *testing.T, days, span string) Weekly {
	t.Helper()
	w, err := Parse(days, span)
	if err != nil {
		t.Fatalf("Parse(%q, %q): %v", days, span, err)
	}
	return w
}

func TestNext(t *testing.T) {
	loc := brussels(t)
	at := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, loc) }
	office := mustParse(t, "weekdays", "08:00-18:00")
	night := mustParse(t, "fri", "22:00-06:00")
	daily := mustParse(t, "daily", "08:00-18:00")
	for _, tt := range []struct {
		name      string
		rule      Weekly
		from      time.Time
		want      time.Time
		wantStart bool
	}{
		{"before start", office, at(3, 10, 7, 0), at(3, 10, 8, 0), true},
		{"at start: the end is next", office, at(3, 10, 8, 0), at(3, 10, 18, 0), false},
		{"friday evening: monday", office, at(3, 13, 18, 0), at(3, 16, 8, 0), true},
		{"night shift starts", night, at(3, 13, 12, 0), at(3, 13, 22, 0), true},
		{"night shift ends saturday", night, at(3, 13, 23, 0), at(3, 14, 6, 0), false},
		// 29 March 2026: CET to CEST. 08:00 stays 08:00 local, 06:00 UTC.
		{"spring forward", daily, at(3, 28, 18, 0), time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC), true},
		{"day before spring forward", daily, at(3, 28, 7, 0), time.Date(2026, 3, 28, 7, 0, 0, 0, time.UTC), true},
		// 25 October 2026: CEST to CET. 08:00 local is 07:00 UTC again.
		{"fall back", daily, at(10, 24, 18, 0), time.Date(2026, 10, 25, 7, 0, 0, 0, time.UTC), true},
		{"fall back end", daily, at(10, 25, 8, 0), time.Date(2026, 10, 25, 17, 0, 0, 0, time.UTC), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, start := tt.rule.Next(tt.from, loc)
			if !got.Equal(tt.want) || start != tt.wantStart {
				t.Errorf("got %v (start %v), want %v (start %v)", got.In(loc), start, tt.want.In(loc), tt.wantStart)
			}
		})
	}
}

// TestNextNonexistentTime checks a rule whose time does not exist on the
// spring switch day: it runs once, an hour later on the wall clock, and the
// day after at its own time.
func TestNextNonexistentTime(t *testing.T) {
	loc := brussels(t)
	r := mustParse(t, "daily", "02:30-05:00")
	got, _ := r.Next(time.Date(2026, 3, 28, 23, 0, 0, 0, loc), loc)
	if want := time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v (03:30 CEST)", got.UTC(), want)
	}
	got, _ = r.Next(time.Date(2026, 3, 29, 12, 0, 0, 0, loc), loc)
	if want := time.Date(2026, 3, 30, 0, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("the day after: got %v, want %v (02:30 CEST)", got.UTC(), want)
	}
}

func TestOverlaps(t *testing.T) {
	for _, tt := range []struct {
		name    string
		a, b    [2]string
		overlap bool
		day     time.Weekday
	}{
		{"same days, apart", [2]string{"weekdays", "08:00-12:00"}, [2]string{"weekdays", "13:00-18:00"}, false, 0},
		{"touching", [2]string{"weekdays", "08:00-12:00"}, [2]string{"weekdays", "12:00-18:00"}, false, 0},
		{"crossing", [2]string{"weekdays", "08:00-18:00"}, [2]string{"mon,wed", "17:00-19:00"}, true, time.Monday},
		{"other days", [2]string{"weekdays", "08:00-18:00"}, [2]string{"weekends", "08:00-18:00"}, false, 0},
		{"night into saturday", [2]string{"fri", "22:00-06:00"}, [2]string{"sat", "05:00-09:00"}, true, time.Saturday},
		{"sunday night into monday", [2]string{"sun", "22:00-06:00"}, [2]string{"mon", "05:00-09:00"}, true, time.Monday},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := mustParse(t, tt.a[0], tt.a[1]), mustParse(t, tt.b[0], tt.b[1])
			day, got := Overlaps(a, b)
			if got != tt.overlap || (got && day != tt.day) {
				t.Errorf("got %v on %v, want %v on %v", got, day, tt.overlap, tt.day)
			}
			if _, back := Overlaps(b, a); back != got {
				t.Errorf("not symmetric: reversed gives %v", back)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"weekdays 08:00-18:00", "mon,tue 22:00-06:00", "fri-mon 1:00-2:00", "daily 25:00-26:00"} {
		f.Add(s)
	}
	loc, _ := Location("")
	from := time.Date(2026, 3, 28, 12, 0, 0, 0, loc)
	f.Fuzz(func(t *testing.T, s string) {
		days, span, _ := strings.Cut(s, " ")
		w, err := Parse(days, span)
		if err != nil {
			return
		}
		if w.Days == 0 {
			t.Fatalf("%q parsed to a rule on no day", s)
		}
		next, _ := w.Next(from, loc)
		if !next.After(from) || next.Sub(from) > 8*24*time.Hour {
			t.Fatalf("%q: next change %v is not within a week after %v", s, next, from)
		}
		d, sp, _ := strings.Cut(w.String(), " ")
		if again, err := Parse(d, sp); err != nil || again != w {
			t.Fatalf("%q: String %q does not read back: %v, %v", s, w.String(), again, err)
		}
	})
}

// TestNextWindowInSkippedHour walks a rule whose whole window lies in the
// hour skipped on 29 March 2026 in Brussels (02:00 CET becomes 03:00 CEST).
// Its start, moved past the switch, would come after its end; the rule must
// not swap them and leave the person on duty for the rest of the day. Each
// window it opens lasts at most its own 30 minutes, starts and ends take
// turns, and 29 March has no window at all.
func TestNextWindowInSkippedHour(t *testing.T) {
	loc := brussels(t)
	for _, tt := range []struct {
		span    string
		longest time.Duration
		on29th  time.Duration // time on duty that 29 March: the window's part after 03:00
	}{
		{"02:30-03:00", 30 * time.Minute, 0},
		{"02:30-03:15", 45 * time.Minute, 15 * time.Minute},
	} {
		t.Run(tt.span, func(t *testing.T) {
			r := mustParse(t, "daily", tt.span)
			from := time.Date(2026, 3, 28, 12, 0, 0, 0, loc)
			stop := time.Date(2026, 3, 31, 12, 0, 0, 0, loc)
			var onSince time.Time
			var on29th time.Duration
			for at, start := r.Next(from, loc); at.Before(stop); at, start = r.Next(at, loc) {
				switch {
				case start && !onSince.IsZero():
					t.Fatalf("two starts in a row: %v and %v", onSince.In(loc), at.In(loc))
				case start:
					onSince = at
				case onSince.IsZero():
					t.Fatalf("an end at %v with no start before it", at.In(loc))
				default:
					if d := at.Sub(onSince); d > tt.longest {
						t.Errorf("on duty from %v to %v: %v, want at most %v", onSince.In(loc), at.In(loc), d, tt.longest)
					}
					if y, m, d := onSince.In(loc).Date(); y == 2026 && m == time.March && d == 29 {
						on29th += at.Sub(onSince)
					}
					onSince = time.Time{}
				}
			}
			if on29th != tt.on29th {
				t.Errorf("on duty on 29 March for %v, want %v", on29th, tt.on29th)
			}
		})
	}
}
