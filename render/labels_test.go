package render

import "testing"

// TestNumberLabelGroupsPoolNumbers: a pool number libphonenumber does not
// know to be in use is grouped like any other, so one list does not mix
// +32 9 201 00 01 with 3299999999; what is not a number stays as given.
func TestNumberLabelGroupsPoolNumbers(t *testing.T) {
	tests := []struct {
		digits string
		mask   bool
		want   string
	}{
		{"3292010001", false, "+32 9 201 00 01"},
		{"3299999999", false, "+32 9 999 99 99"},
		{"+3299999999", false, "+32 9 999 99 99"},
		{"3299999999", true, "+32 9 ••• •• 99"},
		{"3292010001", true, "+32 9 ••• •• 01"},
		{"32999", false, "32999"},
		{"unknown", false, "unknown"},
	}
	for _, tt := range tests {
		if got := NumberLabel(tt.digits, tt.mask); got != tt.want {
			t.Errorf("NumberLabel(%q, %v) = %q, want %q", tt.digits, tt.mask, got, tt.want)
		}
	}
}
