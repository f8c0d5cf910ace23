package enco

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const vcaBase = "/vca/1.0.0"

// Presentation values of a call: whether the B party sees the A (or CLI)
// number.
const (
	PresentationAllowed    = "ALLOWED"
	PresentationRestricted = "RESTRICTED"
)

// CallRequest is a click-to-call: EnCo first rings Origin and, once it
// answers, Destination. Numbers are E.164 with "+"; digits without "+" are
// taken as E.164 too.
type CallRequest struct {
	// Origin is a fixed Proximus number of the account (the A number).
	Origin string `json:"origin"`
	// Destination is the number called once Origin answers (the B number).
	Destination string `json:"destination"`
	// CLI, if set, is the number shown to the B party instead of Origin.
	CLI string `json:"cli,omitempty"`
	// Presentation is PresentationAllowed (the default) or
	// PresentationRestricted.
	Presentation string `json:"presentation,omitempty"`
	// Callback, if set, receives the call's CDR when it ends.
	Callback string `json:"callback,omitempty"`
}

// PlaceCall starts a call and returns EnCo's session id for it.
func (c *Client) PlaceCall(ctx context.Context, r CallRequest) (sessionID string, err error) {
	const op = "voice call"
	if r.Origin, err = e164(op, "origin", r.Origin); err != nil {
		return "", err
	}
	if r.Destination, err = e164(op, "destination", r.Destination); err != nil {
		return "", err
	}
	if r.CLI != "" {
		if r.CLI, err = e164(op, "cli", r.CLI); err != nil {
			return "", err
		}
	}
	switch p := strings.ToUpper(strings.TrimSpace(r.Presentation)); p {
	case "", PresentationAllowed, PresentationRestricted:
		r.Presentation = p
	default:
		return "", invalid(op, "presentation %q, want %s or %s", r.Presentation, PresentationAllowed, PresentationRestricted)
	}
	if r.Callback != "" {
		if err := checkURL(op, r.Callback); err != nil {
			return "", err
		}
	}
	var raw json.RawMessage
	resp, err := c.do(ctx, request{api: APIVoice, op: op, method: http.MethodPost, path: vcaBase + "/call", body: r, out: &raw})
	if err != nil {
		return "", err
	}
	if m, ok := fields(raw); ok {
		sessionID = flexString(fieldOrNil(m, "sessionId"))
	}
	if sessionID == "" {
		return "", &Error{Op: op, StatusCode: resp.status, Message: "reply has no session id"}
	}
	return sessionID, nil
}

// e164 returns n as "+" and 8 to 15 digits, accepting digits without "+".
func e164(op, what, n string) (string, error) {
	digits := strings.TrimPrefix(n, "+")
	ok := len(digits) >= 8 && len(digits) <= 15 && digits[0] != '0'
	for _, r := range digits {
		ok = ok && r >= '0' && r <= '9'
	}
	if !ok {
		return "", invalid(op, "%s %q is not an E.164 number", what, n)
	}
	return "+" + digits, nil
}

// CDR is the call detail record of one call-out.
type CDR struct {
	SessionID   string `json:"sessionId"`
	Origin      string `json:"origin"`
	Destination string `json:"destination"`
	// Presentation is as EnCo reports it ("allowed", "restricted").
	Presentation   string    `json:"presentation"`
	RequestTime    time.Time `json:"requestTime"`
	CallOneSetup   time.Time `json:"callOneSetup"`
	CallOneRelease time.Time `json:"callOneRelease"`
	// CallDuration is the length of the conversation in seconds.
	CallDuration int `json:"callDuration"`
	// CallReleaseInfo is EnCo's release cause, such as
	// "Leg1-404-NotFound received" or "Leg2-486-Busy Here".
	CallReleaseInfo string `json:"callReleaseInfo"`
	WebRTC          bool   `json:"webRTC"`
}

// UnmarshalJSON reads a CDR tolerantly: ids and durations as strings or
// numbers, times in RFC 3339 with or without a zone (UTC assumed) or as Unix
// seconds or milliseconds, unknown fields ignored. A JSON null leaves c as
// it is.
func (c *CDR) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	m, ok := fields(data)
	if !ok {
		return fmt.Errorf("CDR: want a JSON object")
	}
	*c = CDR{
		SessionID:       flexString(fieldOrNil(m, "sessionId")),
		Origin:          flexString(fieldOrNil(m, "origin")),
		Destination:     flexString(fieldOrNil(m, "destination")),
		Presentation:    flexString(fieldOrNil(m, "presentation")),
		RequestTime:     flexTime(fieldOrNil(m, "requestTime")),
		CallOneSetup:    flexTime(fieldOrNil(m, "callOneSetup")),
		CallOneRelease:  flexTime(fieldOrNil(m, "callOneRelease")),
		CallDuration:    int(max(0, min(flexInt(fieldOrNil(m, "callDuration")), 1<<31-1))),
		CallReleaseInfo: readableText(fieldOrNil(m, "callReleaseInfo")),
	}
	c.WebRTC, _ = flexBool(fieldOrNil(m, "webRTC"))
	return nil
}

// flexTime reads a time in the shapes CDR.UnmarshalJSON accepts; anything
// else is the zero time.
func flexTime(raw json.RawMessage) time.Time {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] != '"' {
		n := flexInt(raw)
		switch {
		case n > 1e11 && n < 1e14:
			return time.UnixMilli(n).UTC()
		case n > 0 && n < 1e11:
			return time.Unix(n, 0).UTC()
		}
		return time.Time{}
	}
	s := flexString(raw)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Answered reports whether the call got through to the destination.
func (c CDR) Answered() bool {
	return c.CallDuration > 0
}

// ReleaseReason says in plain words why the call ended: "no such number",
// "busy", "no answer", "rejected", "unavailable", "normal clearing", or
// EnCo's own text when it is none of those.
func (c CDR) ReleaseReason() string {
	info := strings.ToLower(c.CallReleaseInfo)
	code := sipCode(info)
	switch {
	case code == 404 || code == 484 || strings.Contains(info, "notfound") || strings.Contains(info, "not found"):
		return "no such number"
	case code == 486 || code == 600 || strings.Contains(info, "busy"):
		return "busy"
	case code == 408 || code == 480 || code == 487 || strings.Contains(info, "no answer") || strings.Contains(info, "timeout"):
		return "no answer"
	case code == 403 || code == 603 || strings.Contains(info, "declin") || strings.Contains(info, "reject"):
		return "rejected"
	case code == 503 || code == 502 || strings.Contains(info, "unavailable"):
		return "unavailable"
	case code == 200 || strings.Contains(info, "normal") || strings.Contains(info, "bye"):
		return "normal clearing"
	case info == "" && c.CallDuration > 0:
		return "normal clearing"
	}
	return c.CallReleaseInfo
}

// sipCode finds the SIP status in a release cause like "Leg2-486-Busy Here".
func sipCode(info string) int {
	for _, part := range strings.FieldsFunc(info, func(r rune) bool { return r == '-' || r == ' ' }) {
		if len(part) == 3 {
			if n, err := strconv.Atoi(part); err == nil && n >= 100 && n < 700 {
				return n
			}
		}
	}
	return 0
}

// CDRQuery selects CDRs by request time.
type CDRQuery struct {
	// From and Till bound the request time; zero means unbounded.
	From, Till time.Time
	// Limit is the page size; 0 means the API's default (100).
	Limit int
	// Page is the first page to read, in the API's numbering (from 0).
	Page int
	// MaxItems stops paging after this many CDRs; 0 means 1000. With
	// MaxItems equal to Limit, CDRs reads the one page Page.
	MaxItems int
}

// cdrPage is one page of GET /cdr.
type cdrPage struct {
	Items []CDR `json:"items"`
	Meta  *struct {
		CurrentPage   int `json:"currentPage"`
		TotalElements int `json:"totalElements"`
		LastPage      int `json:"lastPage"`
	} `json:"meta"`
}

// maxCDRPages bounds paging in case the API's page numbers never reach the
// last page.
const maxCDRPages = 1000

// CDRs returns the CDRs matching q, following pages until the last one or
// until q.MaxItems CDRs were read.
func (c *Client) CDRs(ctx context.Context, q CDRQuery) ([]CDR, error) {
	const op = "voice cdr"
	if q.Limit < 0 || q.MaxItems < 0 || q.Page < 0 {
		return nil, invalid(op, "negative limit or page")
	}
	if !q.From.IsZero() && !q.Till.IsZero() && q.Till.Before(q.From) {
		return nil, invalid(op, "till %s is before from %s", q.Till.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	maxItems := q.MaxItems
	if maxItems == 0 {
		maxItems = 1000
	}
	var out []CDR
	page := q.Page
	for range maxCDRPages {
		v := url.Values{}
		if !q.From.IsZero() {
			v.Set("from", q.From.UTC().Format(cdrTimeLayout))
		}
		if !q.Till.IsZero() {
			v.Set("till", q.Till.UTC().Format(cdrTimeLayout))
		}
		if q.Limit > 0 {
			v.Set("limit", strconv.Itoa(q.Limit))
		}
		if page > 0 {
			v.Set("page", strconv.Itoa(page))
		}
		var raw json.RawMessage
		if _, err := c.do(ctx, request{api: APIVoice, op: op, method: http.MethodGet, path: vcaBase + "/cdr", query: v, out: &raw}); err != nil {
			return out, err
		}
		var p cdrPage
		if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
			if err := json.Unmarshal(raw, &p.Items); err != nil {
				return out, fmt.Errorf("%s: decode reply: %w", op, err)
			}
		} else if len(bytes.TrimSpace(raw)) > 0 {
			if err := json.Unmarshal(raw, &p); err != nil {
				return out, fmt.Errorf("%s: decode reply: %w", op, err)
			}
		}
		out = append(out, p.Items[:min(len(p.Items), maxItems-len(out))]...)
		if len(out) >= maxItems || len(p.Items) == 0 || p.Meta == nil || p.Meta.CurrentPage >= p.Meta.LastPage {
			return out, nil
		}
		next := p.Meta.CurrentPage + 1
		if next <= page {
			return out, nil
		}
		page = next
	}
	return out, nil
}

// cdrTimeLayout is the date format of the CDR API's from and till.
const cdrTimeLayout = "2006-01-02T15:04:05.000Z07:00"
