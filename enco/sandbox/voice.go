package sandbox

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CDR is a call detail record, with the fields of an item of GET /cdr.
type CDR struct {
	SessionID       string
	Origin          string
	Destination     string
	Presentation    string
	RequestTime     time.Time
	CallOneSetup    time.Time
	CallOneRelease  time.Time
	CallDuration    int
	CallReleaseInfo string
	WebRTC          bool
}

// The presentation values of a call request.
const (
	presentationAllowed    = "ALLOWED"
	presentationRestricted = "RESTRICTED"
)

// handleCall places a call; its outcome is decided by the destination's
// last digit (see the package documentation).
func (s *Sandbox) handleCall(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Origin       string `json:"origin"`
		Destination  string `json:"destination"`
		CLI          string `json:"cli"`
		Presentation string `json:"presentation"`
		Callback     string `json:"callback"`
	}
	if !decodeBody(w, body, &req, "error") {
		return
	}
	if req.Origin == "" || req.Destination == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "origin and destination are required"})
		return
	}
	origin, ok1 := nationalDigits(req.Origin)
	dest, ok2 := nationalDigits(req.Destination)
	if !ok1 || !ok2 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "origin and destination must be E.164 numbers; emergency and short numbers cannot be called"})
		return
	}
	if req.CLI != "" {
		if _, ok := nationalDigits(req.CLI); !ok {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "cli must be an E.164 number"})
			return
		}
	}
	presentation := strings.ToUpper(req.Presentation)
	switch presentation {
	case "":
		presentation = presentationAllowed
	case presentationAllowed, presentationRestricted:
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "presentation must be ALLOWED or RESTRICTED"})
		return
	}
	if req.Callback != "" && !absoluteURL(req.Callback) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "callback must be an absolute http(s) URL"})
		return
	}

	s.mu.Lock()
	cdr := CDR{
		SessionID:    strconv.Itoa(61200000 + s.nextSeq()),
		Origin:       origin,
		Destination:  dest,
		Presentation: strings.ToLower(presentation),
		RequestTime:  s.now().UTC().Truncate(time.Second),
	}
	s.mu.Unlock()
	outcome(&cdr)
	s.AddCDR(cdr)

	var out []outgoing
	if req.Callback != "" {
		out = append(out, newOutgoing("voice", req.Callback, nil, cdrJSON(cdr)))
	}
	s.answer(w, http.StatusOK, map[string]string{"sessionId": cdr.SessionID}, out)
}

// outcome fills in how a call went, from the destination's last digit.
func outcome(c *CDR) {
	last := c.Destination[len(c.Destination)-1]
	c.CallOneSetup = c.RequestTime.Add(2 * time.Second)
	switch last {
	case '0':
		c.CallReleaseInfo = "Leg2-486-Busy Here"
		c.CallOneRelease = c.CallOneSetup.Add(8 * time.Second)
	case '9':
		c.CallReleaseInfo = "Leg2-480-No Answer"
		c.CallOneRelease = c.CallOneSetup.Add(30 * time.Second)
	case '8':
		c.CallReleaseInfo = "Leg1-404-NotFound received"
		c.CallOneSetup = c.RequestTime
		c.CallOneRelease = c.RequestTime
	default:
		tail, _ := strconv.Atoi(c.Destination[len(c.Destination)-2:])
		c.CallDuration = 20 + tail
		c.CallReleaseInfo = "Normal Clearing"
		c.CallOneRelease = c.CallOneSetup.Add(time.Duration(c.CallDuration+10) * time.Second)
	}
}

// nationalDigits normalises a number as EnCo's autocorrection does: "+" or
// "00" before the country code, spaces and dots ignored; it must then be 8
// to 15 digits not starting with 0.
func nationalDigits(n string) (string, bool) {
	n = strings.NewReplacer(" ", "", ".", "", "-", "").Replace(n)
	switch {
	case strings.HasPrefix(n, "+"):
		n = n[1:]
	case strings.HasPrefix(n, "00"):
		n = n[2:]
	}
	if len(n) < 8 || len(n) > 15 || n[0] == '0' {
		return "", false
	}
	for _, r := range n {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return n, true
}

// cdrJSON is a CDR in the shape of an item of GET /cdr.
func cdrJSON(c CDR) map[string]any {
	return map[string]any{
		"sessionId":       c.SessionID,
		"origin":          c.Origin,
		"destination":     c.Destination,
		"presentation":    c.Presentation,
		"requestTime":     c.RequestTime.UTC().Format(time.RFC3339),
		"callOneRelease":  c.CallOneRelease.UTC().Format(time.RFC3339),
		"callOneSetup":    c.CallOneSetup.UTC().Format(time.RFC3339),
		"callDuration":    c.CallDuration,
		"callReleaseInfo": c.CallReleaseInfo,
		"webRTC":          c.WebRTC,
	}
}

// handleCDR lists CDRs by request time, paged: from (inclusive), till
// (inclusive), page (from 0), limit (default 100).
func (s *Sandbox) handleCDR(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	from, err1 := parseCDRTime(q.Get("from"))
	till, err2 := parseCDRTime(q.Get("till"))
	page, err3 := intParam(q.Get("page"), 0)
	limit, err4 := intParam(q.Get("limit"), 100)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || page < 0 || limit < 1 || limit > 1000 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "from and till must be ISO 8601 dates, page >= 0 and limit 1..1000"})
		return
	}
	var match []CDR
	for _, c := range s.CDRs() {
		if (from.IsZero() || !c.RequestTime.Before(from)) && (till.IsZero() || !c.RequestTime.After(till)) {
			match = append(match, c)
		}
	}
	items := []map[string]any{}
	for i := page * limit; i < len(match) && i < (page+1)*limit; i++ {
		items = append(items, cdrJSON(match[i]))
	}
	lastPage := 0
	if len(match) > 0 {
		lastPage = (len(match) - 1) / limit
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"items": items,
		"meta":  map[string]int{"currentPage": page, "totalElements": len(match), "lastPage": lastPage},
	})
}

func parseCDRTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", v)
}

func intParam(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

// AddCDR adds a CDR to those GET /cdr lists.
func (s *Sandbox) AddCDR(c CDR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cdrs = append(s.cdrs, c)
	slices.SortStableFunc(s.cdrs, func(a, b CDR) int { return a.RequestTime.Compare(b.RequestTime) })
}

// CDRs returns every CDR, oldest request first.
func (s *Sandbox) CDRs() []CDR {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cdrs)
}
