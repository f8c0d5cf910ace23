package render

import (
	"strings"
	"testing"

	"github.com/switchboard-bot/switchboard/enco"
)

func TestFailedWordsSayFailedOnce(t *testing.T) {
	tests := []struct{ status, want string }{
		{"Failed", "failed"},
		{"FAILED", "failed"},
		{" failure ", "failed"},
		{"", "failed"},
		{"Rejected", "failed (Rejected)"},
		{"Timeout", "failed (Timeout)"},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			if got := failedWords(tt.status); got != tt.want {
				t.Errorf("failedWords(%q) = %q, want %q", tt.status, got, tt.want)
			}
		})
	}
}

// A status word EnCo sends that is no known profile is shown as sent, but
// escaped: it comes from the network and must not form a link or a mention.
func TestProfileLabelEscapesUnknownWords(t *testing.T) {
	if got := ProfileLabel(enco.Profile("<!channel> <http://evil.example|x>")); strings.ContainsAny(got, "<>") {
		t.Errorf("ProfileLabel(markup) = %q, want it escaped", got)
	}
	if got := ProfileLabel(enco.ProfileOnDuty); got != "On duty" {
		t.Errorf("ProfileLabel(ON_DUTY) = %q, want On duty", got)
	}
}
