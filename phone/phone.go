// Package phone turns phone numbers as people type them ("+32 470 12 34 56",
// "0470123456", "32470123456", "0032 2 816 02 57") into one canonical form, and
// classifies them for the checks the bot makes before calling an API: mobile or
// fixed, Belgian or international, premium-rate, and the emergency and special
// short numbers that must never be dialled through a call-out.
//
// Parsing and classification come from github.com/nyaruka/phonenumbers (the Go
// port of libphonenumber); this package only fixes the defaults (region BE) and
// the wording of the errors people see.
package phone

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for numbers written without a country code.
const DefaultRegion = "BE"

// Kind is the broad class of a number.
type Kind int

// The kinds of numbers the bot tells apart.
const (
	Unknown Kind = iota
	Mobile
	Fixed
	Premium // premium-rate and shared-cost numbers (090x, 070, …)
	TollFree
	Special // emergency and other short service numbers (112, 101, 100, 1207, …)
)

func (k Kind) String() string {
	switch k {
	case Mobile:
		return "mobile"
	case Fixed:
		return "fixed"
	case Premium:
		return "premium-rate"
	case TollFree:
		return "toll-free"
	case Special:
		return "emergency or special"
	}
	return "unknown"
}

// Number is a parsed, valid phone number.
type Number struct {
	// Digits is the E.164 form without the leading "+", the form the EnCo APIs take
	// (e.g. "32470123456"). For Special numbers it is the short number as dialled.
	Digits string
	// Region is the ISO region code of the number ("BE", "NL", …).
	Region string
	// Kind classifies the number.
	Kind Kind

	parsed *phonenumbers.PhoneNumber
}

// E164 returns the number with its leading "+" (e.g. "+32470123456").
func (n Number) E164() string {
	if n.Kind == Special {
		return n.Digits
	}
	return "+" + n.Digits
}

// International returns the number grouped for reading ("+32 470 12 34 56").
func (n Number) International() string {
	if n.parsed == nil || n.Kind == Special {
		return n.E164()
	}
	return phonenumbers.Format(n.parsed, phonenumbers.INTERNATIONAL)
}

// Masked returns the readable form with the middle digits hidden
// ("+32 470 •• •• 56"), for channels where numbers must not be shown in full.
func (n Number) Masked() string {
	return Mask(n.International())
}

// International reports whether the number is outside the default region.
func (n Number) IsInternational() bool { return n.Region != DefaultRegion && n.Kind != Special }

// Mask hides the digits of a grouped number except the country code and
// first group and the last two digits: "+32 470 12 34 56" → "+32 470 •• •• 56".
// A string without spaces keeps its first five and last two characters.
func Mask(s string) string {
	groups := strings.Fields(s)
	if len(groups) < 3 {
		r := []rune(s)
		if len(r) <= 7 {
			return s
		}
		return string(r[:5]) + strings.Repeat("•", len(r)-7) + string(r[len(r)-2:])
	}
	out := make([]string, len(groups))
	copy(out, groups[:2])
	for i := 2; i < len(groups); i++ {
		g := []rune(groups[i])
		if i == len(groups)-1 && len(g) >= 2 {
			out[i] = strings.Repeat("•", len(g)-2) + string(g[len(g)-2:])
			if len(g) == 2 {
				out[i] = string(g)
			}
			continue
		}
		out[i] = strings.Repeat("•", len(g))
	}
	return strings.Join(out, " ")
}

// Error says why a token is not a phone number, in words for the person who typed it.
type Error struct {
	Input  string
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%q is not a valid phone number (%s); write it like +32 470 12 34 56 or 0470123456", e.Input, e.Reason)
}

// MaxInputLength bounds what Parse looks at; no phone number is longer.
const MaxInputLength = 32

// Parse reads a number as people write it. Numbers without a country code are
// read as Belgian; digits-only input that starts with a country code
// ("32470123456", the form the APIs use) is accepted too. Short emergency and
// service numbers parse as Kind Special so callers can refuse them by name.
func Parse(input string) (Number, error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return Number{}, &Error{Input: input, Reason: "empty"}
	}
	if len(s) > MaxInputLength {
		return Number{}, &Error{Input: input[:MaxInputLength] + "…", Reason: "too long"}
	}
	for _, r := range s {
		if !(unicode.IsDigit(r) && r < 128) && !strings.ContainsRune("+ ()-./", r) {
			return Number{}, &Error{Input: input, Reason: fmt.Sprintf("it contains %q", r)}
		}
	}
	if strings.Count(s, "+") > 1 || (strings.Contains(s, "+") && !strings.HasPrefix(s, "+")) {
		return Number{}, &Error{Input: input, Reason: "a + may only start the number"}
	}
	digits := phonenumbers.NormalizeDigitsOnly(s)
	if digits == "" {
		return Number{}, &Error{Input: input, Reason: "no digits"}
	}
	if !strings.HasPrefix(s, "+") && len(digits) <= 6 {
		if phonenumbers.ConnectsToEmergencyNumber(digits, DefaultRegion) || isShortNumber(digits) {
			return Number{Digits: digits, Region: DefaultRegion, Kind: Special}, nil
		}
		return Number{}, &Error{Input: input, Reason: "too short"}
	}

	num, err := phonenumbers.Parse(s, DefaultRegion)
	if (err != nil || !phonenumbers.IsValidNumber(num)) && !strings.HasPrefix(s, "+") && !strings.HasPrefix(digits, "0") {
		// "32470123456": the API's own form, a country code without "+".
		if alt, altErr := phonenumbers.Parse("+"+digits, DefaultRegion); altErr == nil && phonenumbers.IsValidNumber(alt) {
			num, err = alt, nil
		}
	}
	if err != nil {
		return Number{}, &Error{Input: input, Reason: parseReason(err)}
	}
	if !phonenumbers.IsValidNumber(num) {
		reason := "no such number exists"
		switch phonenumbers.IsPossibleNumberWithReason(num) {
		case phonenumbers.TOO_SHORT:
			reason = "too short"
		case phonenumbers.TOO_LONG:
			reason = "too long"
		case phonenumbers.INVALID_COUNTRY_CODE:
			reason = "unknown country code"
		}
		return Number{}, &Error{Input: input, Reason: reason}
	}
	n := Number{
		Digits: strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+"),
		Region: phonenumbers.GetRegionCodeForNumber(num),
		parsed: num,
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE:
		n.Kind = Mobile
	case phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.VOIP, phonenumbers.UAN:
		n.Kind = Fixed
	case phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST:
		n.Kind = Premium
	case phonenumbers.TOLL_FREE:
		n.Kind = TollFree
	default:
		n.Kind = Unknown
	}
	return n, nil
}

func isShortNumber(digits string) bool {
	num, err := phonenumbers.Parse(digits, DefaultRegion)
	if err != nil {
		return false
	}
	return phonenumbers.IsValidShortNumberForRegion(num, DefaultRegion)
}

func parseReason(err error) string {
	switch err {
	case phonenumbers.ErrInvalidCountryCode:
		return "unknown country code"
	case phonenumbers.ErrTooShortNSN, phonenumbers.ErrTooShortAfterIDD:
		return "too short"
	case phonenumbers.ErrNumTooLong:
		return "too long"
	}
	return "not a phone number"
}

// ParsePool reads a number as Parse does and also accepts a Belgian number
// that has a possible length but is missing from libphonenumber's tables
// of allocated ranges (Kind Unknown, such as +32 9 999 99 99). It is for
// FlexIO number management, where EnCo's pool, not the tables, decides
// which numbers exist: a number it lists must be one the bot can reserve.
func ParsePool(input string) (Number, error) {
	n, err := Parse(input)
	if err == nil {
		return n, nil
	}
	s := strings.TrimSpace(input)
	digits := phonenumbers.NormalizeDigitsOnly(s)
	if len(s) > MaxInputLength || digits == "" || strings.ContainsFunc(s, func(r rune) bool {
		return !(unicode.IsDigit(r) && r < 128) && !strings.ContainsRune("+ ()-./", r)
	}) {
		return Number{}, err
	}
	candidates := []string{s}
	if !strings.HasPrefix(s, "+") && !strings.HasPrefix(digits, "0") {
		candidates = append(candidates, "+"+digits)
	}
	for _, c := range candidates {
		num, perr := phonenumbers.Parse(c, DefaultRegion)
		if perr != nil || phonenumbers.GetRegionCodeForNumber(num) != "" && phonenumbers.GetRegionCodeForNumber(num) != DefaultRegion ||
			num.GetCountryCode() != 32 || phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE {
			continue
		}
		return Number{
			Digits: strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+"),
			Region: DefaultRegion,
			Kind:   Unknown,
			parsed: num,
		}, nil
	}
	return Number{}, err
}

// Digits reads a number as EnCo writes it ("32470123456", "+32470123456")
// into E.164 digits without "+", the form the bot keeps numbers in. What is
// not a number, or is a short number, is kept as it is, less surrounding
// space and a leading "+".
func Digits(s string) string {
	if n, err := Parse(s); err == nil && n.Kind != Special {
		return n.Digits
	}
	return strings.TrimPrefix(strings.TrimSpace(s), "+")
}
