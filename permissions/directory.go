package permissions

import (
	"context"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard-bot/switchboard"
)

// Where a directory entry came from, as returned by [Directory.Lookup].
const (
	SourceAdmin   = "directory admin"
	SourcePolicy  = "policy file"
	SourceProfile = "Slack profile"
)

// profileRegion is the region assumed for a profile number written without
// a country code.
const profileRegion = "BE"

// DirectoryStore holds the directory entries set by directory admins. A
// missing entry is (switchboard.Entry{}, false, nil).
type DirectoryStore interface {
	DirectoryEntry(ctx context.Context, userID string) (switchboard.Entry, bool, error)
}

// ProfilePhones reads the phone number a person typed in their Slack profile
// (users.info); "" when there is none.
type ProfilePhones interface {
	ProfilePhone(ctx context.Context, userID string) (string, error)
}

// Directory finds the numbers of a Slack user.
type Directory struct {
	policy *Policy
	store  DirectoryStore
	phones ProfilePhones
}

// NewDirectory returns a Directory reading the policy's directory (nil means
// [DenyAll], which has none), the admin entries in store and, only when the
// policy trusts them, Slack profile phones. store and phones may be nil.
func NewDirectory(p *Policy, store DirectoryStore, phones ProfilePhones) *Directory {
	if p == nil {
		p = DenyAll()
	}
	return &Directory{policy: p, store: store, phones: phones}
}

// Lookup returns the numbers of userID and where they came from: an entry set
// by a directory admin replaces the policy file's entry as a whole, and the
// Slack profile phone is used only when the policy sets trust_profile_phone
// and neither has an entry. A profile phone that is not a valid number is
// treated as absent. ok is false when no source has the user.
func (d *Directory) Lookup(ctx context.Context, userID string) (e switchboard.Entry, source string, ok bool, err error) {
	if d.store != nil {
		e, ok, err := d.store.DirectoryEntry(ctx, userID)
		if err != nil {
			return switchboard.Entry{}, "", false, fmt.Errorf("directory lookup %s: %w", userID, err)
		}
		if ok {
			return e, SourceAdmin, true, nil
		}
	}
	if e, ok := d.policy.directory[userID]; ok {
		return e, SourcePolicy, true, nil
	}
	if !d.policy.trustProfilePhone || d.phones == nil {
		return switchboard.Entry{}, "", false, nil
	}
	raw, err := d.phones.ProfilePhone(ctx, userID)
	if err != nil {
		return switchboard.Entry{}, "", false, fmt.Errorf("directory lookup %s: profile phone: %w", userID, err)
	}
	e, ok = profileEntry(raw)
	if !ok {
		return switchboard.Entry{}, "", false, nil
	}
	return e, SourceProfile, true, nil
}

// profileEntry normalises a profile phone ("+32 470 12 34 56", "0470 12 34
// 56") to E.164 digits and files it as mobile or fixed by its number type.
func profileEntry(raw string) (switchboard.Entry, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return switchboard.Entry{}, false
	}
	num, err := phonenumbers.Parse(raw, profileRegion)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return switchboard.Entry{}, false
	}
	digits := strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+")
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE:
		return switchboard.Entry{Mobile: digits}, true
	case phonenumbers.FIXED_LINE, phonenumbers.VOIP:
		return switchboard.Entry{Fixed: digits}, true
	case phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.PERSONAL_NUMBER:
		return switchboard.Entry{Mobile: digits, Fixed: digits}, true
	default:
		// Premium, toll-free, shared-cost and other service numbers are not
		// a person's own line.
		return switchboard.Entry{}, false
	}
}
