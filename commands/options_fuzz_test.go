package commands

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard-bot/switchboard/phone"
)

// checkUsage fails unless a refusal says something readable.
func checkUsage(t *testing.T, input string, uerr *UsageError) {
	t.Helper()
	if uerr.Msg == "" || (utf8.ValidString(input) && !utf8.ValidString(uerr.Msg)) {
		t.Fatalf("empty or invalid usage message for %q: %q", input, uerr.Msg)
	}
}

// FuzzParseSince feeds /call cdr's since= any text: it never panics, and
// what it accepts is a moment in the past.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"", "24h", "90m", "7d", "0d", "-1d", "3661d", "2025-01-31", "2025-01-31T14:00", "2025-01-31T14:00:00+01:00",
		"2099-01-01", "1h30m", "-5m", "9999999999999h", "d", "1e9d", " 7d"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		got, uerr := parseSince(v, now)
		if uerr != nil {
			checkUsage(t, v, uerr)
			return
		}
		if got.After(now) {
			t.Fatalf("since=%q read as %v, after now (%v)", v, got, now)
		}
	})
}

// FuzzNumberOptions feeds /number available and /number reserve any text:
// they never panic, a refusal is readable, and what they accept is a
// documented filter or one Belgian number.
func FuzzNumberOptions(f *testing.F) {
	for _, s := range []string{"zone=02 type=fixed", "type=mobile tier=premium", "zone=2", "zone=050", "zone=00", "zone= type=",
		"tier=regular zone=09 extra", "02 206 07 42 zone=02", "TYPE=Fixed", "zone=02 zone=03", "<@U1> zone=02", "=", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		toks, terr := tokenize(text)
		if terr != nil {
			checkUsage(t, text, terr)
			return
		}
		filter, uerr := numberFilter(toks)
		if uerr != nil {
			checkUsage(t, text, uerr)
		} else {
			if z := filter.Zone; z != "" && (len(z) < 2 || len(z) > 3 || z[0] != '0' || strings.Trim(z, "0123456789") != "") {
				t.Fatalf("accepted zone %q from %q", z, text)
			}
			if !oneOf(filter.Type, "", "FIXED", "MOBILE") || !oneOf(filter.PriceTier, "", "REGULAR", "PREMIUM") {
				t.Fatalf("accepted filter %+v from %q", filter, text)
			}
		}
		pos, _, uerr := options(numberUsage, toks, "zone")
		if uerr != nil {
			checkUsage(t, text, uerr)
			return
		}
		nums, uerr := numbers(numberUsage, pos)
		if uerr != nil {
			checkUsage(t, text, uerr)
			return
		}
		for _, n := range nums {
			if n.Digits == "" || strings.Trim(n.Digits, "0123456789") != "" {
				t.Fatalf("number %+v from %q is not digits", n, text)
			}
		}
	})
}

// FuzzCallOptions feeds /call any text: it never panics, a refusal is
// readable, and what it accepts is one number that call barring allows,
// with from= and cli= as digits.
func FuzzCallOptions(f *testing.F) {
	for _, s := range []string{"0468 37 39 01", "0468 37 39 01 from=02 816 02 57", "+32 2 816 02 57 cli=none hidden", "from= 0468373901",
		"112", "0900 12 34 56", "+44 20 7946 0958", "cdr", "cli=+32 2 816 02 57 cli=02", "<@U1>", "from=none", "hidden", "1 2 3 4 5 6 7"} {
		f.Add(s)
	}
	r := &callCommand{}
	f.Fuzz(func(t *testing.T, text string) {
		toks, terr := tokenize(text)
		if terr != nil {
			checkUsage(t, text, terr)
			return
		}
		req, uerr := r.parseCall(toks)
		if uerr != nil {
			checkUsage(t, text, uerr)
			return
		}
		if req.dest.Kind == phone.Special || req.dest.Kind == phone.Premium || req.dest.IsInternational() {
			t.Fatalf("call to %+v from %q passed barring", req.dest, text)
		}
		for _, d := range []string{req.dest.Digits, req.from, req.cli} {
			if strings.Trim(d, "0123456789") != "" {
				t.Fatalf("accepted %q from %q: not digits", d, text)
			}
		}
	})
}

func oneOf(v string, set ...string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// FuzzCDROptions feeds /call cdr's options any text: they never panic, a
// refusal is readable, and what they accept is a list that starts before it
// ends, in the past, with a page from 1 and a page size of 1 to 1000, which
// EnCo's client takes as it is.
func FuzzCDROptions(f *testing.F) {
	for _, s := range []string{"", "since=7d", "since=7d till=2d", "till=2d", "till=2099-01-01", "page=0", "page=2 limit=50", "limit=1001",
		"limit=-1", "page=+3", "page=1e3", "since=2025-01-31 till=2025-01-30", "till=", "page=2 page=3", "limit=1000 page=100000"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text string) {
		toks, terr := tokenize(text)
		if terr != nil {
			checkUsage(t, text, terr)
			return
		}
		_, opts, uerr := options(callUsage, toks, "since", "till", "page", "limit")
		if uerr != nil {
			checkUsage(t, text, uerr)
			return
		}
		q, uerr := parseCDRQuery(opts, now)
		if uerr != nil {
			checkUsage(t, text, uerr)
			return
		}
		if q.since.After(now) || q.till.After(now) || (!q.till.IsZero() && q.till.Before(q.since)) {
			t.Fatalf("%q read as since %v till %v (now %v)", text, q.since, q.till, now)
		}
		if q.page < 0 || q.page > maxCDRPage || q.limit < 0 || q.limit > maxCDRLimit {
			t.Fatalf("%q read as page %d limit %d", text, q.page, q.limit)
		}
		e := q.enco()
		if e.Page < 0 || e.Limit < 1 || e.Limit > maxCDRLimit || e.MaxItems < 1 || (q.page+q.limit > 0 && e.MaxItems != e.Limit) {
			t.Fatalf("%q makes the query %+v", text, e)
		}
	})
}
