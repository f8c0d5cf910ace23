package enco

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewError(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		body       string
		want       Error
	}{
		{
			name: "gateway fault", status: 401,
			body: `{"fault":{"code":900901,"message":"Invalid Credentials","description":"Access failure for API: /fmu/1.0.0"}}`,
			want: Error{Op: "op", StatusCode: 401, Code: 900901, Message: "Invalid Credentials", Description: "Access failure for API: /fmu/1.0.0"},
		},
		{
			name: "fault code as a string, throttled", status: 429, retryAfter: "3",
			body: `{"fault":{"code":"900800","message":"Message throttled out","description":"You have exceeded your quota","nextAccessTime":"2030-01-01 12:01:00"}}`,
			want: Error{Op: "op", StatusCode: 429, Code: 900800, Message: "Message throttled out", Description: "You have exceeded your quota", RetryAfter: 3 * time.Second},
		},
		{
			name: "service message", status: 409, body: `{"status":409,"message":"phone number is frozen"}`,
			want: Error{Op: "op", StatusCode: 409, Message: "phone number is frozen"},
		},
		{
			name: "service error and description", status: 400, body: `{"error":"invalid_request","error_description":"origin is required"}`,
			want: Error{Op: "op", StatusCode: 400, Message: "invalid_request", Description: "origin is required"},
		},
		{
			name: "error object", status: 400, body: `{"error":{"code":"E12","message":"bad msisdn"}}`,
			want: Error{Op: "op", StatusCode: 400, Message: "bad msisdn"},
		},
		{
			name: "JSON without known fields", status: 500, body: `{"oops":true}`,
			want: Error{Op: "op", StatusCode: 500, Message: `{"oops":true}`},
		},
		{
			name: "plain text", status: 502, body: "  Bad Gateway\n\n upstream  down ",
			want: Error{Op: "op", StatusCode: 502, Message: "Bad Gateway upstream down"},
		},
		{
			name: "empty body", status: 503, retryAfter: "Tue, 01 Jan 2030 12:00:10 GMT",
			want: Error{Op: "op", StatusCode: 503, Message: "Service Unavailable", RetryAfter: 10 * time.Second},
		},
		{
			name: "Retry-After in the past or garbage", status: 429, retryAfter: "soon",
			want: Error{Op: "op", StatusCode: 429, Message: "Too Many Requests"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			got := newError("op", tt.status, h, []byte(tt.body), now)
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestErrorTextIsCapped(t *testing.T) {
	body := strings.Repeat("é", 1000)
	got := newError("op", 500, http.Header{}, []byte(body), time.Now())
	if len(got.Message) > maxErrorText+len("…") {
		t.Errorf("message length: got %d, want at most %d", len(got.Message), maxErrorText+len("…"))
	}
	if !strings.HasSuffix(got.Message, "…") || !strings.HasPrefix(got.Message, "é") {
		t.Errorf("message: got %q, want whole runes and an ellipsis", got.Message)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Op: "m2m deactivation", StatusCode: 401, Code: 900901, Message: "Invalid Credentials", Description: "Make sure you have provided the correct security credentials"},
			"m2m deactivation: HTTP 401: Invalid Credentials (code 900901): Make sure you have provided the correct security credentials"},
		{Error{Op: "numbers release", StatusCode: 404, Message: "not held"}, "numbers release: HTTP 404: not held"},
		{Error{StatusCode: 500}, "HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorTemporary(t *testing.T) {
	tests := []struct {
		status int
		want   bool
	}{{400, false}, {401, false}, {404, false}, {409, false}, {429, true}, {500, true}, {502, true}, {503, true}}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			if got := (&Error{StatusCode: tt.status}).Temporary(); got != tt.want {
				t.Errorf("Temporary() for %d: got %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	for attempt := range 12 {
		d := backoff(attempt)
		limit := min(backoffBase<<min(attempt, 10), backoffMax)
		if d < limit/2 || d > limit {
			t.Errorf("backoff(%d) = %v, want between %v and %v", attempt, d, limit/2, limit)
		}
	}
}
