package permissions

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboard-bot/switchboard"
)

// fakeStore serves directory-admin entries.
type fakeStore struct {
	entry func(ctx context.Context, userID string) (switchboard.Entry, bool, error)
}

func (f *fakeStore) DirectoryEntry(ctx context.Context, userID string) (switchboard.Entry, bool, error) {
	return f.entry(ctx, userID)
}

// fakePhones serves Slack profile phones and counts the calls.
type fakePhones struct {
	calls atomic.Int64
	phone func(ctx context.Context, userID string) (string, error)
}

func (f *fakePhones) ProfilePhone(ctx context.Context, userID string) (string, error) {
	f.calls.Add(1)
	return f.phone(ctx, userID)
}

func storeWith(entries map[string]switchboard.Entry) *fakeStore {
	return &fakeStore{entry: func(_ context.Context, id string) (switchboard.Entry, bool, error) {
		e, ok := entries[id]
		return e, ok, nil
	}}
}

func phonesWith(phones map[string]string) *fakePhones {
	return &fakePhones{phone: func(_ context.Context, id string) (string, error) {
		return phones[id], nil
	}}
}

const directoryPolicy = `roles:
  - name: everyone
    members: ["*"]
    permissions: [fmu.self]
directory:
  U0AAAAAAA: {mobile: "32470000001", fixed: "3228160257"}
  U0BBBBBBB: {mobile: "32470000002"}
trust_profile_phone: %s
`

func TestDirectoryLookup(t *testing.T) {
	store := storeWith(map[string]switchboard.Entry{
		"U0BBBBBBB": {Fixed: "3228160999"},
		"U0CCCCCCC": {Mobile: "32470000003"},
	})
	profiles := map[string]string{
		"U0AAAAAAA": "+32 470 99 99 99",
		"U0CCCCCCC": "+32 470 99 99 99",
		"U0MOBILE0": "+32 470 12 34 56",
		"U0NATION0": "0470 12 34 56",
		"U0DIGITS0": "32470123456",
		"U0FIXED00": "+32 2 816 02 57",
		"U0JUNK000": "call me maybe",
		"U0SHORT00": "+32 1",
		"U0PREMIUM": "+32 900 12 345",
		"U0US00000": "+1 650 253 0000",
	}
	trusting := mustParse(t, strings.Replace(directoryPolicy, "%s", "true", 1))
	distrusting := mustParse(t, strings.Replace(directoryPolicy, "%s", "false", 1))

	tests := []struct {
		name       string
		policy     *Policy
		user       string
		want       switchboard.Entry
		wantSource string
		wantOK     bool
	}{
		{"policy file", distrusting, "U0AAAAAAA", switchboard.Entry{Mobile: "32470000001", Fixed: "3228160257"}, SourcePolicy, true},
		{"admin entry replaces policy entry", distrusting, "U0BBBBBBB", switchboard.Entry{Fixed: "3228160999"}, SourceAdmin, true},
		{"admin entry only", distrusting, "U0CCCCCCC", switchboard.Entry{Mobile: "32470000003"}, SourceAdmin, true},
		{"admin entry wins over profile", trusting, "U0CCCCCCC", switchboard.Entry{Mobile: "32470000003"}, SourceAdmin, true},
		{"policy entry wins over profile", trusting, "U0AAAAAAA", switchboard.Entry{Mobile: "32470000001", Fixed: "3228160257"}, SourcePolicy, true},
		{"profile not trusted", distrusting, "U0MOBILE0", switchboard.Entry{}, "", false},
		{"profile mobile, international format", trusting, "U0MOBILE0", switchboard.Entry{Mobile: "32470123456"}, SourceProfile, true},
		{"profile mobile, national format", trusting, "U0NATION0", switchboard.Entry{Mobile: "32470123456"}, SourceProfile, true},
		{"profile mobile, digits", trusting, "U0DIGITS0", switchboard.Entry{Mobile: "32470123456"}, SourceProfile, true},
		{"profile fixed line", trusting, "U0FIXED00", switchboard.Entry{Fixed: "3228160257"}, SourceProfile, true},
		{"profile not a number", trusting, "U0JUNK000", switchboard.Entry{}, "", false},
		{"profile number too short", trusting, "U0SHORT00", switchboard.Entry{}, "", false},
		{"profile premium-rate number", trusting, "U0PREMIUM", switchboard.Entry{}, "", false},
		{"profile number of either kind", trusting, "U0US00000", switchboard.Entry{Mobile: "16502530000", Fixed: "16502530000"}, SourceProfile, true},
		{"profile empty", trusting, "U0NOBODY0", switchboard.Entry{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phones := phonesWith(profiles)
			d := NewDirectory(tt.policy, store, phones)
			got, source, ok, err := d.Lookup(t.Context(), tt.user)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if got != tt.want || source != tt.wantSource || ok != tt.wantOK {
				t.Errorf("Lookup(%s): got (%+v, %q, %t), want (%+v, %q, %t)", tt.user, got, source, ok, tt.want, tt.wantSource, tt.wantOK)
			}
			if !tt.policy.TrustProfilePhone() && phones.calls.Load() != 0 {
				t.Errorf("profile lookups with trust_profile_phone false: got %d, want 0", phones.calls.Load())
			}
		})
	}
}

func TestDirectoryLookupErrors(t *testing.T) {
	trusting := mustParse(t, strings.Replace(directoryPolicy, "%s", "true", 1))
	redisDown := errors.New("redis: connection refused")
	slackDown := errors.New("slack: user_not_found")
	failingStore := &fakeStore{entry: func(context.Context, string) (switchboard.Entry, bool, error) {
		return switchboard.Entry{}, false, redisDown
	}}
	failingPhones := &fakePhones{phone: func(context.Context, string) (string, error) {
		return "", slackDown
	}}

	tests := []struct {
		name    string
		store   DirectoryStore
		phones  ProfilePhones
		user    string
		wantErr error
		wantMsg string
	}{
		{"store down, even with a policy entry", failingStore, nil, "U0AAAAAAA", redisDown, "directory lookup U0AAAAAAA: redis: connection refused"},
		{"profile lookup fails", storeWith(nil), failingPhones, "U0NOBODY0", slackDown, "directory lookup U0NOBODY0: profile phone: slack: user_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, ok, err := NewDirectory(trusting, tt.store, tt.phones).Lookup(t.Context(), tt.user)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Lookup error: got %v, want %v", err, tt.wantErr)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("Lookup error: got %q, want %q", err, tt.wantMsg)
			}
			if ok {
				t.Errorf("Lookup ok with an error: got true, want false")
			}
		})
	}
}

func TestDirectoryWithoutStoreOrPhones(t *testing.T) {
	trusting := mustParse(t, strings.Replace(directoryPolicy, "%s", "true", 1))
	tests := []struct {
		name   string
		policy *Policy
		user   string
		wantOK bool
	}{
		{"policy entry", trusting, "U0AAAAAAA", true},
		{"no entry and no profile source", trusting, "U0NOBODY0", false},
		{"no policy", nil, "U0AAAAAAA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, ok, err := NewDirectory(tt.policy, nil, nil).Lookup(t.Context(), tt.user)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if ok != tt.wantOK {
				t.Errorf("Lookup(%s) ok: got %t, want %t", tt.user, ok, tt.wantOK)
			}
		})
	}
}
