package switchboard

import (
	"encoding/json"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Target
		ok   bool
	}{
		{"number", "msisdn:32470123456", Number("32470123456"), true},
		{"iccid", "iccid:89320123456789012345", Target{ICCID, "89320123456789012345"}, true},
		{"imsi", "imsi:206011234567890", Target{IMSI, "206011234567890"}, true},
		{"bare digits", "32470123456", Target{"", "32470123456"}, true},
		{"unknown type", "imei:123", Target{}, false},
		{"upper-case type", "MSISDN:32470123456", Target{}, false},
		{"empty type", ":32470123456", Target{}, false},
		{"empty id", "msisdn:", Target{}, false},
		{"empty", "", Target{}, false},
		{"not digits", "msisdn:+32470123456", Target{}, false},
		{"two colons", "iccid:1:2", Target{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseTarget(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
			if tt.ok && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestTargetJSON(t *testing.T) {
	in := []Target{Number("32470123456"), {ICCID, "89320123456789012345"}, {"", "3228160257"}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `["msisdn:32470123456","iccid:89320123456789012345","3228160257"]`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	var out []Target
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) || out[0] != in[0] || out[1] != in[1] || out[2] != in[2] {
		t.Errorf("got %+v, want %+v", out, in)
	}
	if err := json.Unmarshal([]byte(`["sim:1"]`), &out); err == nil {
		t.Error("decoding an unknown target type: got nil error, want one")
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"msisdn:32470123456", "iccid:89320123456789012345", "imsi:206011234567890", "32470123456", "msisdn:", ":1", "x:1", "msisdn:1:2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if tg.String() != s {
			t.Fatalf("ParseTarget(%q).String() = %q", s, tg.String())
		}
		again, err := ParseTarget(tg.String())
		if err != nil || again != tg {
			t.Fatalf("ParseTarget(%q) = %+v, %v; want %+v", tg.String(), again, err, tg)
		}
		if b, err := tg.MarshalText(); err != nil || string(b) != s {
			t.Fatalf("MarshalText() = %q, %v; want %q", b, err, s)
		}
	})
}

func TestTargetMarshalRefusesWhatCannotBeRead(t *testing.T) {
	for _, tg := range []Target{{}, {MSISDN, ""}, {ICCID, "89:1"}, {"sim", "1"}, {MSISDN, "+32470123456"}} {
		if b, err := tg.MarshalText(); err == nil {
			t.Errorf("MarshalText(%+v) = %q, nil; want an error", tg, b)
		}
	}
}

// FuzzTargetMarshalText builds targets field by field, as code does: what
// MarshalText writes reads back as the same target, and what would not is
// refused.
func FuzzTargetMarshalText(f *testing.F) {
	for _, s := range [][2]string{{"msisdn", "32470123456"}, {"", "32470123456"}, {"iccid", "89:1"}, {"", "msisdn:1"}, {"MSISDN", "1"}, {"imsi", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, typ, id string) {
		tg := Target{Type: TargetType(typ), ID: id}
		b, err := tg.MarshalText()
		if err != nil {
			return
		}
		var back Target
		if err := back.UnmarshalText(b); err != nil || back != tg {
			t.Fatalf("MarshalText(%+v) = %q, which reads back as %+v, %v", tg, b, back, err)
		}
	})
}
