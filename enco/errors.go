package enco

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxErrorText caps how much of a reply's raw text an Error keeps, so that an
// HTML error page from a proxy does not end up whole in a log line.
const maxErrorText = 300

// The APIs a Client calls, as Error.API and Client.Observe name them.
const (
	APIFMU     = "fmu"
	APIM2M     = "m2m"
	APIVoice   = "voice"
	APINumbers = "numbers"
)

// Classes of refusal an Error wraps (see Error.Err), for errors.Is. Each
// asks for different words to the user: none is worth retrying at once.
var (
	// ErrAccessDenied is a 403: the gateway refused the bot's application
	// the API, for a wrong key or a missing subscription.
	ErrAccessDenied = errors.New("EnCo refused access to the API")
	// ErrThrottled is a 429: EnCo asks the bot to slow down, for
	// Error.RetryAfter when it says.
	ErrThrottled = errors.New("EnCo is throttling the bot")
	// ErrAPIRetired is a 404 or 410 from the Voice Call-out API. Its two
	// paths name no resource that could be missing, and EnCo labels the
	// API retired: the answer means it is gone for this account.
	ErrAPIRetired = errors.New("the API is not available for this account")
)

// Error is a non-2xx answer from an EnCo API (or a 2xx answer whose body
// reports a refusal, such as an FMU change with "success": false). Callers
// inspect it with errors.As.
type Error struct {
	// Op names the operation, for example "m2m deactivation".
	Op string
	// API is the API that answered: APIFMU, APIM2M, APIVoice or
	// APINumbers; "" when the error did not come from an API call.
	API string
	// StatusCode is the HTTP status of the reply.
	StatusCode int
	// Code is the API gateway's fault code (900901 for invalid
	// credentials, 900800 when throttled, ...), 0 if the reply had none.
	Code int
	// Message is the fault message, a service's own "message" or "error"
	// field, or the raw text of the reply (trimmed and capped).
	Message string
	// Description is the fault description or a service's
	// "error_description"/"description" field, if any.
	Description string
	// RetryAfter is the delay the service asked for in its Retry-After
	// header (seconds or an HTTP date), 0 if none.
	RetryAfter time.Duration
	// Err, when set, classifies the failure for errors.Is: it is
	// ErrCredentialsRefused for a 401 that renewing the token cannot cure,
	// ErrAccessDenied for a 403, ErrThrottled for a 429 and ErrAPIRetired
	// for a 404 or 410 from the Voice Call-out API.
	Err error
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Error reads "op: HTTP status: message (code N): description", leaving out
// the parts the reply did not carry.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
		b.WriteString(": ")
	}
	b.WriteString("HTTP ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Code != 0 {
		b.WriteString(" (code ")
		b.WriteString(strconv.Itoa(e.Code))
		b.WriteString(")")
	}
	if e.Description != "" && e.Description != e.Message {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	return b.String()
}

// Temporary reports whether the same request may succeed later: the API was
// throttled (429) or failed on its side (5xx).
func (e *Error) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// newError builds the Error for a non-2xx reply from its status, headers and
// (already capped) body. now is used to turn a Retry-After date into a delay.
func newError(op string, status int, h http.Header, body []byte, now time.Time) *Error {
	e := &Error{Op: op, StatusCode: status, RetryAfter: parseRetryAfter(h.Get("Retry-After"), now)}
	var reply struct {
		Fault *struct {
			Code        json.RawMessage `json:"code"`
			Message     json.RawMessage `json:"message"`
			Description json.RawMessage `json:"description"`
		} `json:"fault"`
		Message          json.RawMessage `json:"message"`
		Error            json.RawMessage `json:"error"`
		ErrorDescription json.RawMessage `json:"error_description"`
		Description      json.RawMessage `json:"description"`
	}
	if err := json.Unmarshal(body, &reply); err == nil {
		if f := reply.Fault; f != nil {
			e.Code = int(flexInt(f.Code))
			e.Message = capText(readableText(f.Message))
			e.Description = capText(readableText(f.Description))
		} else {
			e.Message = capText(firstNonEmpty(readableText(reply.Message), readableText(reply.Error)))
			e.Description = capText(firstNonEmpty(readableText(reply.ErrorDescription), readableText(reply.Description)))
		}
		if e.Message != "" || e.Description != "" || e.Code != 0 {
			return e
		}
	}
	e.Message = capText(string(body))
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// classify sets e.Err from the API and status of the reply.
func (e *Error) classify(api string) {
	e.API = api
	switch {
	case e.Err != nil:
	case e.StatusCode == http.StatusForbidden:
		e.Err = ErrAccessDenied
	case e.StatusCode == http.StatusTooManyRequests:
		e.Err = ErrThrottled
	case api == APIVoice && (e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone):
		e.Err = ErrAPIRetired
	}
}

// parseRetryAfter reads a Retry-After header given in seconds or as an HTTP
// date; anything else, or a date in the past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(24 * time.Hour / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// capText trims s, folds its whitespace runs into single spaces and cuts it
// to maxErrorText bytes on a rune boundary.
func capText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
