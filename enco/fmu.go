package enco

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Profile is an FMU profile: where business calls to an employee go.
type Profile string

// The FMU profiles.
const (
	ProfilePrivate      Profile = "PRIVATE"
	ProfileProfessional Profile = "PROFESSIONAL"
	ProfileOnDuty       Profile = "ON_DUTY"
)

// Valid reports whether p is one of the three FMU profiles.
func (p Profile) Valid() bool {
	switch p {
	case ProfilePrivate, ProfileProfessional, ProfileOnDuty:
		return true
	}
	return false
}

// ParseProfile reads a profile word in any case, with "-", "_" or a space
// between words ("on-duty", "On Duty", "ON_DUTY").
func ParseProfile(s string) (Profile, bool) {
	p := normalizeProfile(s)
	return p, p.Valid()
}

func normalizeProfile(s string) Profile {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.NewReplacer("-", "_", " ", "_").Replace(s)
	return Profile(s)
}

// MaxFMUBatch is the largest number of MSISDNs one asynchronous FMU request
// may carry.
const MaxFMUBatch = 50

// FMUBatches splits numbers into asynchronous requests of at most
// MaxFMUBatch, as even as can be (51 numbers are 26 + 25, not 50 + 1), so
// that no request carries a lone number: EnCo answers a one-number request
// synchronously, not through the callback.
func FMUBatches(msisdns []string) [][]string {
	if len(msisdns) == 0 {
		return nil
	}
	n := (len(msisdns) + MaxFMUBatch - 1) / MaxFMUBatch
	out := make([][]string, 0, n)
	for i, start := 0, 0; i < n; i++ {
		size := len(msisdns) / n
		if i < len(msisdns)%n {
			size++
		}
		out = append(out, msisdns[start:start+size])
		start += size
	}
	return out
}

const fmuBase = "/fmu/1.0.0"

// FMUStatus is the FMU profile of one mobile number.
type FMUStatus struct {
	// MSISDN is the number, E.164 digits without "+".
	MSISDN string
	// Status is the current profile; empty when IsError is set.
	Status Profile
	// IsError is set when EnCo could not read the profile; Error says why.
	IsError bool
	Error   string
}

// FMUStatus reads the profile of one number synchronously. A number EnCo
// cannot read is not an error: the result has IsError and Error set.
func (c *Client) FMUStatus(ctx context.Context, msisdn string) (FMUStatus, error) {
	const op = "fmu status"
	if err := checkID(op, "msisdn", msisdn); err != nil {
		return FMUStatus{}, err
	}
	var raw json.RawMessage
	_, err := c.do(ctx, request{
		api: APIFMU, op: op, method: http.MethodGet, path: fmuBase + "/status",
		query: url.Values{"msisdn": {msisdn}}, out: &raw,
	})
	if err != nil {
		return FMUStatus{}, err
	}
	m, ok := pickItem(raw, msisdn)
	if !ok {
		return FMUStatus{}, &Error{Op: op, StatusCode: http.StatusOK, Message: "reply has no status for " + msisdn}
	}
	st := FMUStatus{MSISDN: firstNonEmpty(flexString(fieldOrNil(m, "msisdn")), msisdn)}
	st.Status = normalizeProfile(flexString(fieldOrNil(m, "status")))
	st.IsError, _ = flexBool(fieldOrNil(m, "isError"))
	st.Error = capText(firstNonEmpty(readableText(fieldOrNil(m, "error")), readableText(fieldOrNil(m, "message"))))
	if st.Status == "" && !st.IsError {
		st.IsError = true
		st.Error = firstNonEmpty(st.Error, "no status in reply")
	}
	return st, nil
}

// SetFMUStatus sets the profile of one number synchronously. An answer with
// "success": false is returned as an *Error carrying the 2xx status and the
// reason EnCo gave.
func (c *Client) SetFMUStatus(ctx context.Context, msisdn string, p Profile) error {
	const op = "fmu set status"
	if err := checkID(op, "msisdn", msisdn); err != nil {
		return err
	}
	if !p.Valid() {
		return invalid(op, "unknown profile %q", p)
	}
	var raw json.RawMessage
	resp, err := c.do(ctx, request{
		api: APIFMU, op: op, method: http.MethodPut, path: fmuBase + "/status",
		body: fmuChange{MSISDN: []string{msisdn}, Status: p}, out: &raw,
	})
	if err != nil {
		return err
	}
	m, ok := pickItem(raw, msisdn)
	if !ok {
		// An empty or non-object 2xx reply: the status code is the answer.
		return nil
	}
	success, known := flexBool(fieldOrNil(m, "success"))
	isErr, _ := flexBool(fieldOrNil(m, "isError"))
	switch {
	case isErr || (known && !success):
		reason := firstNonEmpty(readableText(fieldOrNil(m, "error")), readableText(fieldOrNil(m, "message")), "change refused")
		return &Error{Op: op, StatusCode: resp.status, Message: capText(reason)}
	case known && success:
		return nil
	case normalizeProfile(flexString(fieldOrNil(m, "status"))) == p:
		return nil
	}
	return &Error{Op: op, StatusCode: resp.status, Message: "reply does not confirm the change for " + msisdn}
}

// pickItem returns the reply object about msisdn from a reply that is one
// object or a list of them, falling back to the first object.
func pickItem(raw json.RawMessage, msisdn string) (map[string]json.RawMessage, bool) {
	items, _ := elements(raw)
	var first map[string]json.RawMessage
	for _, item := range items {
		m, ok := fields(item)
		if !ok {
			continue
		}
		if flexString(fieldOrNil(m, "msisdn")) == msisdn {
			return m, true
		}
		if first == nil {
			first = m
		}
	}
	return first, first != nil
}

// fmuChange is the body of PUT /status.
type fmuChange struct {
	MSISDN      []string `json:"msisdn"`
	Status      Profile  `json:"status"`
	CallbackURL string   `json:"callback_url,omitempty"`
}

// RequestFMUStatuses asks for the profiles of 2 to MaxFMUBatch numbers;
// EnCo posts the results to callbackURL (or, when it is empty, to the URL
// set with RegisterFMUCallback). One number is a synchronous read: use
// FMUStatus. Being a GET, it is retried like any read, so the same results
// may be posted twice.
//
// The results are returned when EnCo answers in its reply instead of (or
// as well as) through the callback; they are nil when the reply only
// acknowledges the request.
func (c *Client) RequestFMUStatuses(ctx context.Context, msisdns []string, callbackURL string) ([]FMUResult, error) {
	const op = "fmu status request"
	if err := checkBatch(op, msisdns, callbackURL); err != nil {
		return nil, err
	}
	q := url.Values{"msisdn": {strings.Join(msisdns, ",")}}
	if callbackURL != "" {
		q.Set("callback_url", callbackURL)
	}
	resp, err := c.do(ctx, request{api: APIFMU, op: op, method: http.MethodGet, path: fmuBase + "/status", query: q})
	if err != nil {
		return nil, err
	}
	return replyResults(resp.body, msisdns), nil
}

// RequestSetFMUStatuses asks for 2 to MaxFMUBatch numbers to be set to p;
// EnCo posts the results to callbackURL (or, when it is empty, to the URL
// set with RegisterFMUCallback). One number is a synchronous change: use
// SetFMUStatus. Results EnCo puts in its reply are returned, as by
// RequestFMUStatuses.
func (c *Client) RequestSetFMUStatuses(ctx context.Context, msisdns []string, p Profile, callbackURL string) ([]FMUResult, error) {
	const op = "fmu set status request"
	if err := checkBatch(op, msisdns, callbackURL); err != nil {
		return nil, err
	}
	if !p.Valid() {
		return nil, invalid(op, "unknown profile %q", p)
	}
	resp, err := c.do(ctx, request{
		api: APIFMU, op: op, method: http.MethodPut, path: fmuBase + "/status",
		body: fmuChange{MSISDN: msisdns, Status: p, CallbackURL: callbackURL},
	})
	if err != nil {
		return nil, err
	}
	return replyResults(resp.body, msisdns), nil
}

// replyResults reads the results an FMU reply carries about the numbers
// asked (msisdns, E.164 digits), in the shape of a callback's. The
// documentation says nothing of this reply's body, so an acknowledgement
// without results ({"message": "..."}, plain text, or nothing) gives none:
// the request was accepted all the same.
func replyResults(body []byte, msisdns []string) []FMUResult {
	if !json.Valid(body) {
		return nil
	}
	results, err := DecodeFMUResults(body)
	if err != nil {
		return nil
	}
	var out []FMUResult
	for _, r := range results {
		// EnCo may write the number with a + or spaces.
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, r.MSISDN)
		if slices.Contains(msisdns, digits) {
			r.MSISDN = digits
			out = append(out, r)
		}
	}
	return out
}

// RegisterFMUCallback sets the URL EnCo posts asynchronous FMU results to
// when a request names none.
func (c *Client) RegisterFMUCallback(ctx context.Context, callbackURL string) error {
	const op = "fmu register callback"
	if err := checkURL(op, callbackURL); err != nil {
		return err
	}
	_, err := c.do(ctx, request{
		api: APIFMU, op: op, method: http.MethodPost, path: fmuBase + "/register_callback",
		body: map[string]string{"url": callbackURL},
	})
	return err
}

func checkBatch(op string, msisdns []string, callbackURL string) error {
	if len(msisdns) < 2 || len(msisdns) > MaxFMUBatch {
		return invalid(op, "%d numbers, want 2 to %d (one number is a synchronous call)", len(msisdns), MaxFMUBatch)
	}
	for _, n := range msisdns {
		if err := checkID(op, "msisdn", n); err != nil {
			return err
		}
		if strings.Contains(n, ",") {
			return invalid(op, "msisdn %q contains a comma", n)
		}
	}
	if callbackURL != "" {
		return checkURL(op, callbackURL)
	}
	return nil
}

// checkID refuses an empty identifier or one with spaces or control
// characters, which would never name anything at EnCo.
func checkID(op, what, id string) error {
	if id == "" {
		return invalid(op, "empty %s", what)
	}
	for _, r := range id {
		if r <= ' ' || r == 0x7f {
			return invalid(op, "%s %q contains a space or control character", what, id)
		}
	}
	return nil
}

// checkURL refuses anything but an absolute http(s) URL.
func checkURL(op, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(op, "callback URL %q is not an absolute http(s) URL", raw)
	}
	return nil
}
