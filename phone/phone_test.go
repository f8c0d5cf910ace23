package phone

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		digits string
		kind   Kind
		region string
	}{
		{"international spaced", "+32 470 12 34 56", "32470123456", Mobile, "BE"},
		{"national mobile", "0470123456", "32470123456", Mobile, "BE"},
		{"API form", "32470123456", "32470123456", Mobile, "BE"},
		{"double zero prefix", "0032 470 12 34 56", "32470123456", Mobile, "BE"},
		{"dots and slashes", "0470/12.34.56", "32470123456", Mobile, "BE"},
		{"Brussels fixed", "02 816 02 57", "3228160257", Fixed, "BE"},
		{"fixed API form", "3228160257", "3228160257", Fixed, "BE"},
		{"premium rate", "0903 12 345", "3290312345", Premium, "BE"},
		{"toll free", "0800 12 345", "3280012345", TollFree, "BE"},
		{"emergency", "112", "112", Special, "BE"},
		{"fire and ambulance", "100", "100", Special, "BE"},
		{"police", "101", "101", Special, "BE"},
		{"Dutch mobile", "+31 6 12345678", "31612345678", Mobile, "NL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse(tt.input)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.input, err)
			}
			if n.Digits != tt.digits || n.Kind != tt.kind || n.Region != tt.region {
				t.Errorf("Parse(%q) = %s %v %s, want %s %v %s", tt.input, n.Digits, n.Kind, n.Region, tt.digits, tt.kind, tt.region)
			}
		})
	}
}

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		input, reason string
	}{
		{"", "empty"},
		{"04701234", "no such number"},
		{"047012345678901", "too long"},
		{"hello", "contains 'h'"},
		{"32 470 + 12", "a + may only start"},
		{"+999 123 456 789", "country code"},
		{"12", "too short"},
		{strings.Repeat("1", 40), "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			_, err := Parse(tt.input)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error = %v, want *phone.Error", tt.input, err)
			}
			if !strings.Contains(pe.Reason, tt.reason) {
				t.Errorf("Parse(%q) reason = %q, want it to mention %q", tt.input, pe.Reason, tt.reason)
			}
			if !strings.Contains(err.Error(), "+32 470 12 34 56") {
				t.Errorf("error %q does not say how to write a number", err)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	n, err := Parse("0470123456")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.E164(), "+32470123456"; got != want {
		t.Errorf("E164() = %q, want %q", got, want)
	}
	if got, want := n.International(), "+32 470 12 34 56"; got != want {
		t.Errorf("International() = %q, want %q", got, want)
	}
	if got, want := n.Masked(), "+32 470 •• •• 56"; got != want {
		t.Errorf("Masked() = %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"+32 470 12 34 56", "0470123456", "32470123456", "112", "0903 12 345", "+31612345678", "0032", "++32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) returned %T, want *phone.Error", s, err)
			}
			return
		}
		if n.Digits == "" {
			t.Fatalf("Parse(%q) accepted with no digits", s)
		}
		for _, r := range n.Digits {
			if r < '0' || r > '9' {
				t.Fatalf("Parse(%q).Digits = %q has a non-digit", s, n.Digits)
			}
		}
		if n.Kind != Special {
			// The canonical form parses back to itself.
			again, err := Parse(n.E164())
			if err != nil || again.Digits != n.Digits {
				t.Fatalf("Parse(%q) = %q, but Parse(%q) = %q, %v", s, n.Digits, n.E164(), again.Digits, err)
			}
		}
	})
}

func TestParsePool(t *testing.T) {
	tests := []struct {
		in, want string // want "" for an error
		kind     Kind
	}{
		{"3299999999", "3299999999", Unknown},
		{"+32 9 999 99 99", "3299999999", Unknown},
		{"09 999 99 99", "3299999999", Unknown},
		{"02 206 07 42", "3222060742", Fixed},
		{"0470 12 34 56", "32470123456", Mobile},
		{"32999", "", Unknown},
		{"+31 20 999 9999 99", "", Unknown},
		{"3299999999x", "", Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, err := ParsePool(tt.in)
			switch {
			case tt.want == "" && err == nil:
				t.Errorf("ParsePool(%q) = %q, want an error", tt.in, n.Digits)
			case tt.want != "" && (err != nil || n.Digits != tt.want || n.Kind != tt.kind || n.Region != DefaultRegion):
				t.Errorf("ParsePool(%q) = %q %v %s, %v; want %q %v", tt.in, n.Digits, n.Kind, n.Region, err, tt.want, tt.kind)
			}
		})
	}
}

func FuzzParsePool(f *testing.F) {
	for _, s := range []string{"3299999999", "+32 9 999 99 99", "0470123456", "+31612345678", "32999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParsePool(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("ParsePool(%q) returned %T, want *phone.Error", s, err)
			}
			return
		}
		if strict, err := Parse(s); err == nil {
			if strict.Digits != n.Digits {
				t.Fatalf("ParsePool(%q) = %q, Parse = %q", s, n.Digits, strict.Digits)
			}
			return
		}
		if n.Region != DefaultRegion || !strings.HasPrefix(n.Digits, "32") || len(n.Digits) < 9 || len(n.Digits) > 12 {
			t.Fatalf("ParsePool(%q) = %q in %s, want a Belgian number", s, n.Digits, n.Region)
		}
	})
}

func TestDigits(t *testing.T) {
	tests := []struct{ name, input, want string }{
		{"E.164 digits", "32470123456", "32470123456"},
		{"with plus", "+32470123456", "32470123456"},
		{"national", "0470 12 34 56", "32470123456"},
		{"short number kept", "112", "112"},
		{"unreadable kept, trimmed", " +anonymous ", "anonymous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Digits(tt.input); got != tt.want {
				t.Errorf("Digits(%q): got %q, want %q", tt.input, got, tt.want)
			}
		})
	}
}
