package slacktest

import (
	"testing"

	"github.com/slack-go/slack"
)

// TestEveryMethodHasItsScopes keeps MethodScopes complete: a method the fake
// implements without a scope entry would slip past GrantScopes.
func TestEveryMethodHasItsScopes(t *testing.T) {
	for m := range apiMethods {
		if _, ok := MethodScopes[m]; !ok && m != "apps.connections.open" {
			t.Errorf("%s: no entry in MethodScopes", m)
		}
	}
	for m := range MethodScopes {
		if _, ok := apiMethods[m]; !ok {
			t.Errorf("MethodScopes lists %s, which the fake does not implement", m)
		}
	}
}

// TestGrantScopes: a call needing a scope the app lacks is refused with
// missing_scope, one whose scope was granted or that needs none goes
// through, and nothing is refused before GrantScopes.
func TestGrantScopes(t *testing.T) {
	fake := New(t)
	api := slack.New(fake.BotToken, slack.OptionAPIURL(fake.URL))
	if _, err := api.GetUserInfo("U0ANYONE01"); err != nil && err.Error() == "missing_scope" {
		t.Fatalf("users.info before GrantScopes: got missing_scope, want every scope granted")
	}
	fake.GrantScopes("chat:write")
	_, err := api.GetUserInfo("U0ANYONE01")
	if err == nil || err.Error() != "missing_scope" {
		t.Errorf("users.info without users:read: got %v, want missing_scope", err)
	}
	if _, _, err := api.PostMessage("C0OPS0001", slack.MsgOptionText("hello", false)); err != nil {
		t.Errorf("chat.postMessage with chat:write: %v", err)
	}
	if _, err := api.GetPermalink(&slack.PermalinkParameters{Channel: "C0OPS0001", Ts: "1.000001"}); err != nil && err.Error() == "missing_scope" {
		t.Errorf("chat.getPermalink needs no scope, got missing_scope")
	}
}
