package enco

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzNewError feeds the error decoder any reply body and Retry-After: it
// never panics, always says something, keeps the status, and its text is
// one capped line.
func FuzzNewError(f *testing.F) {
	for _, s := range []struct{ body, retry string }{
		{`{"fault":{"code":900901,"message":"Invalid Credentials","description":"Access failure"}}`, ""},
		{`{"fault":{"code":"900800","message":"Message throttled out","nextAccessTime":"2030-01-01 12:01:00"}}`, "30"},
		{`{"error":"invalid_request","error_description":"origin is required"}`, "Wed, 21 Oct 2099 07:28:00 GMT"},
		{`{"error":{"code":"E12","message":{"text":["bad","msisdn"]}}}`, "-1"},
		{`<html>Bad gateway</html>`, "soon"},
		{``, "99999999999999999999"},
		{`{"message":null,"fault":null}`, ""},
	} {
		f.Add([]byte(s.body), s.retry, 503)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, retry string, status int) {
		if len(body) > maxResponseBody {
			body = body[:maxResponseBody]
		}
		h := http.Header{}
		h.Set("Retry-After", retry)
		start := time.Now()
		e := newError("op", status, h, body, now)
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Fatalf("decoding a %d-byte error took %v", len(body), took)
		}
		if e.StatusCode != status || e.Op != "op" {
			t.Fatalf("got status %d op %q, want %d op", e.StatusCode, e.Op, status)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative RetryAfter %v from %q", e.RetryAfter, retry)
		}
		for _, text := range []string{e.Message, e.Description} {
			if strings.ContainsAny(text, "\n\r\t") {
				t.Fatalf("error text %q is not one line", text)
			}
			if utf8.RuneCountInString(text) > maxErrorText+1 {
				t.Fatalf("error text of %d characters, over the cap %d", len(text), maxErrorText)
			}
		}
		if e.Message == "" && e.Description == "" && e.Code == 0 && http.StatusText(status) != "" {
			t.Fatalf("no message for status %d and body %q", status, body)
		}
		_ = e.Error()
	})
}

// FuzzParseRetryAfter: never negative, and a number of seconds is capped
// at a day.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "30", "-5", "86401", "9223372036854775807", "Wed, 21 Oct 2099 07:28:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", " 12 ", "1.5"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 {
			t.Fatalf("parseRetryAfter(%q) = %v, negative", v, d)
		}
		if strings.Trim(strings.TrimSpace(v), "0123456789") == "" && d > 24*time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v, over a day", v, d)
		}
	})
}

// FuzzDecodeNumbers feeds the number-list decoder any reply: it never
// panics, and every number it returns has its number set.
func FuzzDecodeNumbers(f *testing.F) {
	for _, s := range []string{
		`[{"phonenumber":"3222060742","type":"fixed","priceTier":"regular","zone":"02","smsSupported":true}]`,
		`{"items":[{"phoneNumber":3222060742,"type":"MOBILE","pricingTier":"PREMIUM","supportsSMS":"yes"}]}`,
		`{"phonenumbers":[]}`, `{"content":{"number":"3222"}}`, `{"phonenumber":"3222060742"}`, `[1,2]`, `null`, `[{"number":null}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxResponseBody {
			data = data[:maxResponseBody]
		}
		start := time.Now()
		nums, err := decodeNumbers("numbers", data)
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Fatalf("decoding %d bytes took %v", len(data), took)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "numbers: ") {
				t.Fatalf("error %q does not name the call", err)
			}
			return
		}
		for i, n := range nums {
			if n.Number == "" {
				t.Fatalf("number %d of %q is empty", i, data)
			}
		}
	})
}
