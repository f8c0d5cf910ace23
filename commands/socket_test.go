package commands

import "testing"

func TestRedactURLSecrets(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"websocket ticket", `dial wss://wss-primary.slack.com/link/?ticket=abc-123&app_id=A1: bad handshake`, `dial wss://wss-primary.slack.com/link/?ticket=REDACTED&app_id=A1: bad handshake`},
		{"token in a query", `Post "https://x/api?token=xoxb-1": EOF`, `Post "https://x/api?token=REDACTED": EOF`},
		{"nothing to hide", `slack server error: 503 Service Unavailable`, `slack server error: 503 Service Unavailable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactURLSecrets(tt.in); got != tt.want {
				t.Errorf("redactURLSecrets(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
