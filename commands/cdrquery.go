package commands

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
)

// maxCDRLimit is the largest limit= /call cdr takes: the most calls one
// page of EnCo's list holds.
const maxCDRLimit = 1000

// maxCDRPage bounds page=: far past any account's list of calls.
const maxCDRPage = 100000

// cdrQuery is what /call cdr asks EnCo's call records for: the calls
// between since and till (now when zero), and with page= or limit= one page
// of EnCo's list (page counts from 1, as people do; EnCo's list from 0).
type cdrQuery struct {
	since, till time.Time
	page, limit int // 0 when not given
}

// parseCDRQuery reads /call cdr's options: since= and till= (how far back,
// or a moment), page= and limit=, as EnCo's CDR API documents them.
func parseCDRQuery(opts map[string]string, now time.Time) (cdrQuery, *UsageError) {
	var q cdrQuery
	var uerr *UsageError
	if q.since, uerr = parseSince(opts["since"], now); uerr != nil {
		return q, uerr
	}
	if v, ok := opts["till"]; ok {
		if q.till, uerr = parseMoment("till", v, now); uerr != nil {
			return q, uerr
		}
		if q.till.Before(q.since) {
			return q, usageErr(callUsage, "`till=%s` is before the start of the list (%s); give a later `till=` or an earlier `since=`, e.g. `/call cdr since=7d till=2d`.", v, sinceLabel(q.since))
		}
	}
	if q.page, uerr = cdrNumber(opts, "page", 1, maxCDRPage, "`page=` counts from 1: `page=1` is the first page of `limit=` calls (100 by default)"); uerr != nil {
		return q, uerr
	}
	if q.limit, uerr = cdrNumber(opts, "limit", 1, maxCDRLimit, "`limit=` is how many calls one page holds, 1 to 1000"); uerr != nil {
		return q, uerr
	}
	return q, nil
}

// cdrNumber reads a whole-number option between lo and hi; 0 when absent.
func cdrNumber(opts map[string]string, key string, lo, hi int, what string) (int, *UsageError) {
	v, ok := opts[key]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi || strings.HasPrefix(v, "+") {
		return 0, usageErr(callUsage, "`%s=%s` is not a page size or number I can use: %s.", key, v, what)
	}
	return n, nil
}

// enco is the query for EnCo's client: every page up to maxCDRItems, or
// with page= or limit= that one page.
func (q cdrQuery) enco() enco.CDRQuery {
	if q.page == 0 && q.limit == 0 {
		return enco.CDRQuery{From: q.since, Till: q.till, Limit: 100, MaxItems: maxCDRItems}
	}
	limit := q.limit
	if limit == 0 {
		limit = 100 // EnCo's own page size
	}
	return enco.CDRQuery{From: q.since, Till: q.till, Limit: limit, Page: max(q.page-1, 0), MaxItems: limit}
}

// label says which calls these are, with times in loc: "since 2025-01-31
// 00:00 UTC", with the end and the page when given ("… until … (page 2, 50
// calls a page)").
func (q cdrQuery) label(loc *time.Location) string {
	s := "since " + sinceIn(q.since, loc)
	if !q.till.IsZero() {
		s += " until " + sinceIn(q.till, loc)
	}
	if q.page != 0 || q.limit != 0 {
		s += fmt.Sprintf(" (page %d, %d calls a page)", max(q.page, 1), q.enco().Limit)
	}
	return s
}
