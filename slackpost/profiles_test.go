package slackpost

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// TestProfilesAskSlackOncePerPersonForAWhile: a Home tab, a command and a
// schedule may each want a person's time zone and profile phone; users.info
// is asked once, and again only once the answer has aged.
func TestProfilesAskSlackOncePerPersonForAWhile(t *testing.T) {
	t.Parallel()
	fake := slacktest.New(t)
	fake.SetUser(slack.User{ID: "U0TZ00001", TZ: "America/New_York", Profile: slack.UserProfile{Phone: "+32 470 00 00 09"}})
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	users := NewProfiles(slack.New(fake.BotToken, slack.OptionAPIURL(fake.URL)))
	users.now = func() time.Time { return now }
	ctx := context.Background()

	for range 2 {
		if tz, err := users.TimeZone(ctx, "U0TZ00001"); err != nil || tz != "America/New_York" {
			t.Fatalf("TimeZone = %q, %v; want America/New_York", tz, err)
		}
	}
	if phone, err := users.ProfilePhone(ctx, "U0TZ00001"); err != nil || phone != "+32 470 00 00 09" {
		t.Fatalf("ProfilePhone = %q, %v", phone, err)
	}
	if n := len(fake.Calls("users.info")); n != 1 {
		t.Errorf("users.info calls = %d, want 1 for three lookups of one person", n)
	}
	now = now.Add(userCacheTTL + time.Second)
	if _, err := users.TimeZone(ctx, "U0TZ00001"); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Calls("users.info")); n != 2 {
		t.Errorf("users.info calls after the answer aged = %d, want 2", n)
	}
	if tz, err := users.TimeZone(ctx, "U0NOBODY1"); err != nil || tz != "" {
		t.Errorf("TimeZone of someone Slack does not know = %q, %v; want no zone and no error", tz, err)
	}
}
