package slackpost

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestOutcome(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"delivered", nil, "ok"},
		{"429", fmt.Errorf("chat.postMessage: %w", &slack.RateLimitedError{RetryAfter: time.Second}), "ratelimited"},
		{"not in channel", fmt.Errorf("chat.postMessage: %w", slack.SlackErrorResponse{Err: "not_in_channel"}), "refused"},
		{"slack error", fmt.Errorf("chat.update: %w", slack.SlackErrorResponse{Err: "internal_error"}), "failed"},
		{"network", errors.New("connection reset"), "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Outcome(tt.err); got != tt.want {
				t.Errorf("Outcome(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
