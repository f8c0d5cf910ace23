package switchboard

import (
	"fmt"
	"strings"
)

// TargetType says which identifier a [Target] is.
type TargetType string

// Target types, as written before the colon of a target.
const (
	MSISDN TargetType = "msisdn" // a phone number, E.164 digits without "+"
	ICCID  TargetType = "iccid"  // a SIM card's serial number
	IMSI   TargetType = "imsi"   // a SIM card's subscriber identity
)

// Target is one thing an operation acts on: a phone number or a SIM card,
// written "msisdn:32470123456", "iccid:8932…" or "imsi:2060…". A target
// without a type (bare digits, as operations of earlier versions may hold)
// is a phone number written without its prefix; it keeps that spelling.
type Target struct {
	Type TargetType // "" for bare digits
	ID   string     // digits
}

// Number returns the target of a phone number given as E.164 digits.
func Number(digits string) Target { return Target{Type: MSISDN, ID: digits} }

// String writes the target as it is kept: "<type>:<id>", or the bare id.
func (t Target) String() string {
	if t.Type == "" {
		return t.ID
	}
	return string(t.Type) + ":" + t.ID
}

// IsNumber reports whether the target is a phone number.
func (t Target) IsNumber() bool { return t.Type == MSISDN || t.Type == "" }

// ParseTarget reads a target as [Target.String] writes it: a known type in
// lower case, a colon and digits, or digits alone.
func ParseTarget(s string) (Target, error) {
	typ, id, typed := strings.Cut(s, ":")
	if !typed {
		typ, id = "", s
	}
	t := Target{Type: TargetType(typ), ID: id}
	switch {
	case typed && t.Type == "":
		return Target{}, fmt.Errorf("target %q: no type before the colon", s)
	case t.Type == "", t.Type == MSISDN, t.Type == ICCID, t.Type == IMSI:
	default:
		return Target{}, fmt.Errorf("target %q: unknown type %q", s, typ)
	}
	if id == "" || strings.Trim(id, "0123456789") != "" {
		return Target{}, fmt.Errorf("target %q: the id is not digits", s)
	}
	return t, nil
}

// MarshalText writes the target as String does. It refuses a target that
// ParseTarget would not read back, so that an operation that could not be
// loaded is never stored.
func (t Target) MarshalText() ([]byte, error) {
	s := t.String()
	if back, err := ParseTarget(s); err != nil || back != t {
		return nil, fmt.Errorf("target %+v cannot be written: %q does not read back", t, s)
	}
	return []byte(s), nil
}

// UnmarshalText reads a target as ParseTarget does.
func (t *Target) UnmarshalText(b []byte) error {
	parsed, err := ParseTarget(string(b))
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}
