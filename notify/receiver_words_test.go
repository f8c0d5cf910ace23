package notify

import "testing"

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
