// Package schedule reads the times people type for scheduled FMU changes and
// works out when those changes fall due.
//
// Everything here is wall-clock arithmetic in the person's own time zone:
// "08:00 on weekdays" means 08:00 on their clock whatever the UTC offset of
// that day, so a rule keeps its local time across the daylight-saving
// switches, while a duration ("for 2h") is elapsed time. A local time that
// does not exist on a switch day (02:30 when clocks jump from 02:00 to 03:00)
// is taken as the same distance past the switch (03:30), as time.Date does.
//
// The package has no I/O; errors are plain messages, meant to be shown to the
// person who typed the text.
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	// The zone database travels in the binary: the container image has none,
	// and every schedule depends on it.
	_ "time/tzdata"
)

// DefaultZone is the time zone of people whose Slack profile gives none.
const DefaultZone = "Europe/Brussels"

// Limits on durations given with "for".
const (
	MinDuration = time.Minute
	MaxDuration = 30 * 24 * time.Hour
)

// Location loads the IANA zone name (a Slack profile's tz), falling back to
// DefaultZone when name is empty or unknown; fallback reports that.
func Location(name string) (loc *time.Location, fallback bool) {
	if name != "" {
		if l, err := time.LoadLocation(name); err == nil {
			return l, false
		}
	}
	l, err := time.LoadLocation(DefaultZone)
	if err != nil {
		// Unreachable: time/tzdata is linked in.
		panic("schedule: no time zone data for " + DefaultZone + ": " + err.Error())
	}
	return l, true
}

// Clock is a time of day, in minutes after midnight (0 to 1439).
type Clock int

// ParseClock reads a time of day written HH:MM or H:MM, 24-hour.
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(m) != 2 || len(h) < 1 || len(h) > 2 {
		return 0, fmt.Errorf("`%s` is not a time of day: write it as HH:MM, like `18:00`", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	switch {
	case err1 != nil || err2 != nil || hh < 0 || mm < 0:
		return 0, fmt.Errorf("`%s` is not a time of day: write it as HH:MM, like `18:00`", s)
	case hh > 23:
		return 0, fmt.Errorf("`%s` is not a time of day: hours go from 00 to 23", s)
	case mm > 59:
		return 0, fmt.Errorf("`%s` is not a time of day: minutes go from 00 to 59", s)
	}
	return Clock(hh*60 + mm), nil
}

// String writes the clock as HH:MM.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// on returns the instant of clock c on the calendar day of day, in loc.
func (c Clock) on(day time.Time, loc *time.Location) time.Time {
	y, mo, d := day.Date()
	return time.Date(y, mo, d, int(c)/60, int(c)%60, 0, 0, loc)
}

// ParseDuration reads the length of a "for": a sequence of numbers with a
// unit d, h or m ("90m", "2h", "1h30m", "3d"), from MinDuration to
// MaxDuration.
func ParseDuration(s string) (time.Duration, error) {
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("`%s` is negative: give how long from now, like `2h` or `90m`", s)
	}
	rest := strings.ToLower(s)
	var total time.Duration
	if rest == "" {
		return 0, errors.New("`for` needs a duration, like `2h`, `90m` or `1h30m`")
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || i > 6 {
			return 0, fmt.Errorf("`%s` is not a duration: write it like `2h`, `90m`, `1h30m` or `3d`", s)
		}
		n, _ := strconv.Atoi(rest[:i]) // at most 6 digits
		var unit time.Duration
		switch rest[i] {
		case 'd':
			unit = 24 * time.Hour
		case 'h':
			unit = time.Hour
		case 'm':
			unit = time.Minute
		default:
			return 0, fmt.Errorf("`%s`: `%c` is not a unit; use d (days), h (hours) or m (minutes)", s, rest[i])
		}
		total += time.Duration(n) * unit
		if total > MaxDuration {
			return 0, fmt.Errorf("`%s` is too long: schedules reach at most 30 days ahead (`30d`)", s)
		}
		rest = rest[i+1:]
	}
	if total < MinDuration {
		return 0, fmt.Errorf("`%s` is too short: give at least one minute (`1m`)", s)
	}
	return total, nil
}

// Until returns the instant a "until" names, seen at now in loc: clock alone
// is today, or tomorrow when it has passed; with date (YYYY-MM-DD) it is that
// day. The instant must lie within MaxDuration of now.
func Until(now time.Time, loc *time.Location, date string, clock Clock) (time.Time, error) {
	local := now.In(loc)
	at := clock.on(local, loc)
	if date != "" {
		day, err := time.ParseInLocation(time.DateOnly, date, loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("`%s` is not a date: write it as YYYY-MM-DD, like `2026-12-24`", date)
		}
		at = clock.on(day, loc)
		if !at.After(now) {
			return time.Time{}, fmt.Errorf("`%s %s` has already passed", date, clock)
		}
	} else if !at.After(now) {
		at = clock.on(local.AddDate(0, 0, 1), loc)
	}
	if at.Sub(now) > MaxDuration {
		return time.Time{}, fmt.Errorf("`%s %s` is too far ahead: schedules reach at most 30 days ahead", date, clock)
	}
	return at, nil
}

// Days is a set of weekdays: bit i stands for time.Weekday(i).
type Days uint8

// Common sets of days.
const (
	Weekdays Days = 1<<time.Monday | 1<<time.Tuesday | 1<<time.Wednesday | 1<<time.Thursday | 1<<time.Friday
	Weekends Days = 1<<time.Saturday | 1<<time.Sunday
	Daily         = Weekdays | Weekends
)

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseDays reads "weekdays", "weekends", "daily" or a comma-separated list
// of day names ("mon,tue,fri"; three letters or full names) and ranges
// ("mon-thu").
func ParseDays(s string) (Days, error) {
	switch strings.ToLower(s) {
	case "weekdays":
		return Weekdays, nil
	case "weekends":
		return Weekends, nil
	case "daily", "everyday":
		return Daily, nil
	}
	var d Days
	for _, part := range strings.Split(strings.ToLower(s), ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, ok := dayOf(from)
		if !ok {
			return 0, fmt.Errorf("`%s` is not a day: use `weekdays`, `weekends`, `daily` or day names like `mon,tue,fri`", strings.TrimSpace(from))
		}
		b := a
		if isRange {
			if b, ok = dayOf(to); !ok {
				return 0, fmt.Errorf("`%s` is not a day: use `weekdays`, `weekends`, `daily` or day names like `mon,tue,fri`", strings.TrimSpace(to))
			}
		}
		for w := a; ; w = (w + 1) % 7 {
			d |= 1 << w
			if w == b {
				break
			}
		}
	}
	return d, nil
}

func dayOf(s string) (time.Weekday, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 3 {
		return 0, false
	}
	for i, n := range dayNames {
		full := strings.ToLower(time.Weekday(i).String())
		if s == n || s == full {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// Has reports whether w is in the set.
func (d Days) Has(w time.Weekday) bool { return d&(1<<w) != 0 }

// String names the set as ParseDays reads it.
func (d Days) String() string {
	switch d {
	case Weekdays:
		return "weekdays"
	case Weekends:
		return "weekends"
	case Daily:
		return "daily"
	}
	var names []string
	for _, w := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if d.Has(w) {
			names = append(names, dayNames[w])
		}
	}
	return strings.Join(names, ",")
}

// Weekly is a weekly rule: on each of Days, a change at Start and another at
// End. An End at or before Start ends on the next day (a night shift). On a
// spring switch day, a Start in the skipped hour that would then come after
// its End is taken as the moment of the switch, and a window left with no
// time at all (02:30-03:00) does not open that day.
type Weekly struct {
	Days       Days
	Start, End Clock
}

// Parse reads "<days> HH:MM-HH:MM".
func Parse(days, span string) (Weekly, error) {
	d, err := ParseDays(days)
	if err != nil {
		return Weekly{}, err
	}
	a, b, ok := strings.Cut(span, "-")
	if !ok {
		return Weekly{}, fmt.Errorf("`%s` is not a time span: write it as HH:MM-HH:MM, like `08:00-18:00`", span)
	}
	start, err := ParseClock(a)
	if err != nil {
		return Weekly{}, err
	}
	end, err := ParseClock(b)
	if err != nil {
		return Weekly{}, err
	}
	if start == end {
		return Weekly{}, fmt.Errorf("`%s` starts and ends at the same time", span)
	}
	return Weekly{Days: d, Start: start, End: end}, nil
}

// String writes the rule as Parse reads it.
func (w Weekly) String() string { return fmt.Sprintf("%s %s-%s", w.Days, w.Start, w.End) }

// Next returns the first change of the rule strictly after t, in loc, and
// whether it is a start (else an end).
func (w Weekly) Next(t time.Time, loc *time.Location) (at time.Time, start bool) {
	local := t.In(loc)
	// Look at the day before too: a night shift that began yesterday ends today.
	for i := -1; i <= 8; i++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+i, 12, 0, 0, 0, loc)
		if !w.Days.Has(day.Weekday()) {
			continue
		}
		s := w.Start.on(day, loc)
		e := w.End.on(day, loc)
		if w.End <= w.Start {
			e = w.End.on(day.AddDate(0, 0, 1), loc)
		}
		if !s.Before(e) {
			// The start lies in the hour skipped by a spring switch, and
			// moved past the switch it comes at or after the end (02:30-03:00
			// would start at 03:30). The window is the part of the day's
			// clock between the two: from the switch to the end, or nothing.
			s, _ = s.ZoneBounds()
			if !s.Before(e) {
				continue
			}
		}
		var best time.Time
		bestStart := false
		if s.After(t) {
			best, bestStart = s, true
		}
		if e.After(t) && (best.IsZero() || e.Before(best)) {
			best, bestStart = e, false
		}
		if !best.IsZero() && (at.IsZero() || best.Before(at)) {
			at, start = best, bestStart
		}
	}
	return at, start
}

// spans returns the rule's intervals in minutes of the week (Sunday 00:00 is
// 0), each [from, to) with to possibly past the week's end.
func (w Weekly) spans() [][2]int {
	var out [][2]int
	length := int(w.End - w.Start)
	if length <= 0 {
		length += 24 * 60
	}
	for d := range 7 {
		if w.Days.Has(time.Weekday(d)) {
			from := d*24*60 + int(w.Start)
			out = append(out, [2]int{from, from + length})
		}
	}
	return out
}

// Overlaps reports whether two rules are ever in force at the same time, and
// if so on which day the overlap begins.
func Overlaps(a, b Weekly) (time.Weekday, bool) {
	const week = 7 * 24 * 60
	for _, x := range a.spans() {
		for _, y := range b.spans() {
			for _, shift := range []int{-week, 0, week} {
				from, to := y[0]+shift, y[1]+shift
				if x[0] < to && from < x[1] {
					start := max(x[0], from)
					return time.Weekday(((start % week) + week) % week / (24 * 60)), true
				}
			}
		}
	}
	return 0, false
}
