package render

import "testing"

func TestStepErrorText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<@U0GUEST001> may not do this: no permission sim.deactivate", "The person named in the step may not do this: no permission sim.deactivate"},
		{"Not now for <@U0ME|alice>: slow down", "Not now for alice: slow down"},
		{":x: The results are in <#C0OPS0001|ops> and <#C0OPS0002>.", "The results are in #ops and the channel."},
		{"See <https://example.slack.com/archives/C1/p1|the thread> or <https://example.com>", "See the thread (https://example.slack.com/archives/C1/p1) or https://example.com"},
		{"`/sim status &lt;numbers&gt;` is *not* valid &amp; refused", "/sim status <numbers> is not valid & refused"},
		{"Due at 18:00:00, :hourglass: still waiting", "Due at 18:00:00, still waiting"},
	}
	for _, tt := range tests {
		if got := StepErrorText(tt.in); got != tt.want {
			t.Errorf("StepErrorText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
