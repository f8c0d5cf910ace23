package slacktest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// slackError returns Slack's error word in err, or "".
func slackError(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

func textBlock(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

func TestPostUpdateThread(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)

	channel, parent, err := api.PostMessageContext(ctx, "C0OPS0001",
		slack.MsgOptionText("Deactivating 2 SIMs", false), slack.MsgOptionBlocks(textBlock("*Deactivating* 2 SIMs")))
	if err != nil {
		t.Fatalf("post parent: %v", err)
	}
	if channel != "C0OPS0001" {
		t.Errorf("got channel %q, want C0OPS0001", channel)
	}
	_, reply1, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("32470000001 deactivated", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatalf("post reply: %v", err)
	}
	_, reply2, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("32470000002 deactivated", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatalf("post reply: %v", err)
	}
	if !(parent < reply1 && reply1 < reply2) {
		t.Errorf("got timestamps %s, %s, %s, want them increasing", parent, reply1, reply2)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C0OPS0001", parent,
		slack.MsgOptionText("Deactivated 2 SIMs", false), slack.MsgOptionBlocks(textBlock("*Done* 2/2"))); err != nil {
		t.Fatalf("update parent: %v", err)
	}

	m, found := fake.Message("C0OPS0001", parent)
	if !found {
		t.Fatalf("parent %s not found", parent)
	}
	if m.Text != "Deactivated 2 SIMs" || m.Updated != 1 || m.User != fake.BotUserID {
		t.Errorf("got parent text %q updated %d user %q, want the new text, 1 update, the bot", m.Text, m.Updated, m.User)
	}
	if !strings.Contains(string(m.Blocks), "*Done* 2/2") {
		t.Errorf("got parent blocks %s, want the updated blocks", m.Blocks)
	}
	thread := fake.Thread("C0OPS0001", parent)
	if len(thread) != 2 || thread[0].TS != reply1 || thread[1].TS != reply2 || thread[0].ThreadTS != parent {
		t.Errorf("got thread %+v, want replies %s and %s under %s", thread, reply1, reply2, parent)
	}
	all := fake.Messages("C0OPS0001")
	if len(all) != 3 || all[0].TS != parent || all[2].TS != reply2 {
		t.Errorf("got %d channel messages %+v, want parent then two replies", len(all), all)
	}
	if other := fake.Messages("C0OTHER01"); len(other) != 0 {
		t.Errorf("got %d messages in another channel, want 0", len(other))
	}

	_, _, _, err = api.UpdateMessageContext(ctx, "C0OPS0001", "1600000000.000001", slack.MsgOptionText("x", false))
	if got := slackError(err); got != "message_not_found" {
		t.Errorf("update of an unknown ts: got %v, want message_not_found", err)
	}
	if _, _, err := api.DeleteMessageContext(ctx, "C0OPS0001", reply2); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if got := len(fake.Thread("C0OPS0001", parent)); got != 1 {
		t.Errorf("got %d replies after a delete, want 1", got)
	}
	if m, _ := fake.Message("C0OPS0001", reply2); !m.Deleted {
		t.Error("got the deleted reply not marked Deleted")
	}
}

func TestPostMessageValidation(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)
	tooMany := make([]slack.Block, 51)
	for i := range tooMany {
		tooMany[i] = textBlock("x")
	}
	for _, tc := range []struct {
		name    string
		channel string
		opts    []slack.MsgOption
		want    string
	}{
		{"no channel", "", []slack.MsgOption{slack.MsgOptionText("hi", false)}, "channel_not_found"},
		{"no text", "C0OPS0001", nil, "no_text"},
		{"too many blocks", "C0OPS0001", []slack.MsgOption{slack.MsgOptionBlocks(tooMany...)}, "invalid_blocks"},
		{"text too long", "C0OPS0001", []slack.MsgOption{slack.MsgOptionText(strings.Repeat("a", 40001), false)}, "msg_too_long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := api.PostMessageContext(ctx, tc.channel, tc.opts...)
			if got := slackError(err); got != tc.want {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
	if got := len(fake.Messages("")); got != 0 {
		t.Errorf("got %d messages stored, want 0", got)
	}
}

func TestPostEphemeral(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)
	ts, err := api.PostEphemeralContext(ctx, "C0OPS0001", "U0AAAAAAA", slack.MsgOptionText("only you", false))
	if err != nil {
		t.Fatalf("postEphemeral: %v", err)
	}
	m, found := fake.Message("C0OPS0001", ts)
	if !found || !m.Ephemeral || m.User != "U0AAAAAAA" || m.Text != "only you" {
		t.Errorf("got %+v (found %v), want an ephemeral message for U0AAAAAAA", m, found)
	}
	_, _, _, err = api.UpdateMessageContext(ctx, "C0OPS0001", ts, slack.MsgOptionText("x", false))
	if got := slackError(err); got != "message_not_found" {
		t.Errorf("chat.update of an ephemeral message: got %v, want message_not_found", err)
	}
}

func TestJSONBody(t *testing.T) {
	fake := slacktest.New(t)
	ctx := testContext(t)
	body := `{"channel":"C0OPS0001","text":"hi","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fake.URL+"chat.postMessage", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+fake.BotToken)
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	_, _ = got.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(got.String(), `"ok":true`) {
		t.Fatalf("got %s, want ok", got.String())
	}
	calls := fake.Calls("chat.postMessage")
	if len(calls) != 1 {
		t.Fatalf("got %d calls, want 1", len(calls))
	}
	if c := calls[0]; c.Form.Get("channel") != "C0OPS0001" || c.Token != fake.BotToken || c.Status != http.StatusOK {
		t.Errorf("got call channel %q token ok %v status %d, want C0OPS0001, the bot token, 200",
			c.Form.Get("channel"), c.Token == fake.BotToken, c.Status)
	}
	msgs := fake.Messages("C0OPS0001")
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	assertJSONEqual(t, "blocks", msgs[0].Blocks, `[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]`)
}

func TestInvalidAuth(t *testing.T) {
	fake := slacktest.New(t)
	ctx := testContext(t)
	post := func(api *slack.Client) error {
		_, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("hi", false))
		return err
	}
	for _, tc := range []struct {
		name   string
		call   func() error
		method string
	}{
		{"wrong bot token", func() error { return post(slack.New("xoxb-wrong", slack.OptionAPIURL(fake.URL))) }, "chat.postMessage"},
		{"no token", func() error { return post(slack.New("", slack.OptionAPIURL(fake.URL))) }, "chat.postMessage"},
		{"app token on a bot method", func() error { return post(slack.New(fake.AppToken, slack.OptionAPIURL(fake.URL))) }, "chat.postMessage"},
		{"bot token on apps.connections.open", func() error {
			_, _, err := slack.New(fake.BotToken, slack.OptionAPIURL(fake.URL), slack.OptionAppLevelToken(fake.BotToken)).StartSocketModeContext(ctx)
			return err
		}, "apps.connections.open"},
		{"wrong app token", func() error {
			_, _, err := slack.New(fake.BotToken, slack.OptionAPIURL(fake.URL), slack.OptionAppLevelToken("xapp-wrong")).StartSocketModeContext(ctx)
			return err
		}, "apps.connections.open"},
		{"users.info", func() error {
			_, err := slack.New("xoxb-wrong", slack.OptionAPIURL(fake.URL)).GetUserInfoContext(ctx, "U0AAAAAAA")
			return err
		}, "users.info"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(fake.Calls(tc.method))
			if got := slackError(tc.call()); got != "invalid_auth" {
				t.Errorf("got error %q, want invalid_auth", got)
			}
			calls := fake.Calls(tc.method)
			if len(calls) != before+1 || calls[len(calls)-1].Status != http.StatusOK {
				t.Errorf("got %d calls (last %+v), want one more, answered 200", len(calls), calls[len(calls)-1])
			}
		})
	}
	if got := len(fake.Messages("")); got != 0 {
		t.Errorf("got %d messages posted with bad tokens, want 0", got)
	}
}

func TestRateLimit(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)
	fake.RateLimit("chat.postMessage", 2, 1500*time.Millisecond)
	for i := range 2 {
		_, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("hi", false))
		rl, isRateLimit := errors.AsType[*slack.RateLimitedError](err)
		if !isRateLimit {
			t.Fatalf("call %d: got %v, want *slack.RateLimitedError", i+1, err)
		}
		if rl.RetryAfter != 2*time.Second {
			t.Errorf("call %d: got RetryAfter %v, want 2s (1.5s rounded up)", i+1, rl.RetryAfter)
		}
	}
	if _, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatalf("third call: got %v, want success", err)
	}
	var statuses []int
	for _, c := range fake.Calls("chat.postMessage") {
		statuses = append(statuses, c.Status)
	}
	if len(statuses) != 3 || statuses[0] != 429 || statuses[1] != 429 || statuses[2] != 200 {
		t.Errorf("got statuses %v, want [429 429 200]", statuses)
	}
	if got := len(fake.Messages("C0OPS0001")); got != 1 {
		t.Errorf("got %d messages, want 1", got)
	}
}

func TestFailNext(t *testing.T) {
	for _, tc := range []struct {
		name       string
		slackError string
		check      func(error) bool
		status     int
	}{
		{"not_in_channel", "not_in_channel", func(err error) bool { return slackError(err) == "not_in_channel" }, 200},
		{"channel_not_found", "channel_not_found", func(err error) bool { return slackError(err) == "channel_not_found" }, 200},
		{"internal_error", "internal_error", func(err error) bool { return slackError(err) == "internal_error" }, 200},
		{"http500", "http500", func(err error) bool {
			sc, isStatus := errors.AsType[slack.StatusCodeError](err)
			return isStatus && sc.Code == 500
		}, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := slacktest.New(t)
			api := newAPI(fake)
			ctx := testContext(t)
			fake.FailNext("chat.update", 1, tc.slackError) // another method: must not interfere
			fake.FailNext("chat.postMessage", 1, tc.slackError)
			_, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("hi", false))
			if !tc.check(err) {
				t.Errorf("got %v, want %s", err, tc.slackError)
			}
			if got := fake.Calls("chat.postMessage")[0].Status; got != tc.status {
				t.Errorf("got status %d, want %d", got, tc.status)
			}
			if _, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("hi", false)); err != nil {
				t.Errorf("next call: got %v, want success", err)
			}
		})
	}
}

func TestForcedAnswersQueue(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)
	fake.RateLimit("users.info", 1, time.Second)
	fake.FailNext("users.info", 1, "internal_error")
	fake.SetUser(slack.User{ID: "U0AAAAAAA"})
	_, err := api.GetUserInfoContext(ctx, "U0AAAAAAA")
	if _, isRateLimit := errors.AsType[*slack.RateLimitedError](err); !isRateLimit {
		t.Errorf("first call: got %v, want a rate limit", err)
	}
	_, err = api.GetUserInfoContext(ctx, "U0AAAAAAA")
	if got := slackError(err); got != "internal_error" {
		t.Errorf("second call: got %v, want internal_error", err)
	}
	if _, err := api.GetUserInfoContext(ctx, "U0AAAAAAA"); err != nil {
		t.Errorf("third call: got %v, want success", err)
	}

	fake.FailNext("*", 2, "http500")
	_, err = api.AuthTestContext(ctx)
	if sc, isStatus := errors.AsType[slack.StatusCodeError](err); !isStatus || sc.Code != 500 {
		t.Errorf("auth.test while Slack is down: got %v, want status 500", err)
	}
	_, _, err = api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("hi", false))
	if sc, isStatus := errors.AsType[slack.StatusCodeError](err); !isStatus || sc.Code != 500 {
		t.Errorf("chat.postMessage while Slack is down: got %v, want status 500", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("after the outage: got %v, want success", err)
	}
}

func TestPacePerChannel(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)
	fake.PacePerChannel(time.Hour)
	_, first, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("one", false))
	if err != nil {
		t.Fatalf("first post: %v", err)
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"second post", func() error {
			_, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("two", false))
			return err
		}},
		{"update", func() error {
			_, _, _, err := api.UpdateMessageContext(ctx, "C0OPS0001", first, slack.MsgOptionText("one!", false))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rl, isRateLimit := errors.AsType[*slack.RateLimitedError](tc.call())
			if !isRateLimit || rl.RetryAfter != time.Hour {
				t.Errorf("got %v, want a rate limit with RetryAfter 1h", rl)
			}
		})
	}
	if _, _, err := api.PostMessageContext(ctx, "C0OTHER01", slack.MsgOptionText("elsewhere", false)); err != nil {
		t.Errorf("post in another channel: got %v, want success", err)
	}
	if got := len(fake.Messages("C0OPS0001")); got != 1 {
		t.Errorf("got %d messages in the paced channel, want 1", got)
	}
}

func TestNotInChannel(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)
	fake.SetChannel("C0OPS0001", "ops")
	fake.NotInChannel("C0OPS0001")
	_, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("hi", false))
	if got := slackError(err); got != "not_in_channel" {
		t.Errorf("post: got %v, want not_in_channel", err)
	}
	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C0OPS0001"})
	if err != nil {
		t.Fatalf("conversations.info: %v", err)
	}
	if ch.Name != "ops" || ch.IsMember {
		t.Errorf("got name %q member %v, want ops, not a member", ch.Name, ch.IsMember)
	}
	fake.InviteBot("C0OPS0001")
	if _, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("post after invite: got %v, want success", err)
	}

	fake.NotInChannel("C0OTHER01")
	if _, _, _, err := api.JoinConversationContext(ctx, "C0OTHER01"); err != nil {
		t.Fatalf("conversations.join: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C0OTHER01", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("post after join: got %v, want success", err)
	}
}

func TestDirectory(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)
	fake.SetUser(slack.User{ID: "U0AAAAAAA", Name: "alice", Profile: slack.UserProfile{RealName: "Alice", Phone: "+32 470 00 00 01"}})
	fake.SetUserGroup("S0OPS0000", "U0AAAAAAA", "U0BBBBBBB")

	t.Run("auth.test", func(t *testing.T) {
		resp, err := api.AuthTestContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if resp.UserID != fake.BotUserID || resp.TeamID != fake.TeamID || resp.BotID != fake.BotID {
			t.Errorf("got user %q team %q bot %q, want %s %s %s", resp.UserID, resp.TeamID, resp.BotID, fake.BotUserID, fake.TeamID, fake.BotID)
		}
	})
	t.Run("users.info", func(t *testing.T) {
		u, err := api.GetUserInfoContext(ctx, "U0AAAAAAA")
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "alice" || u.Profile.Phone != "+32 470 00 00 01" || u.TeamID != fake.TeamID {
			t.Errorf("got name %q phone %q team %q, want alice, +32 470 00 00 01, %s", u.Name, u.Profile.Phone, u.TeamID, fake.TeamID)
		}
		if _, err := api.GetUserInfoContext(ctx, "U0NOBODY0"); slackError(err) != "user_not_found" {
			t.Errorf("unknown user: got %v, want user_not_found", err)
		}
	})
	t.Run("usergroups.users.list", func(t *testing.T) {
		members, err := api.GetUserGroupMembersContext(ctx, "S0OPS0000")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(members, ",") != "U0AAAAAAA,U0BBBBBBB" {
			t.Errorf("got members %v, want [U0AAAAAAA U0BBBBBBB]", members)
		}
		if _, err := api.GetUserGroupMembersContext(ctx, "S0NOPE000"); slackError(err) != "no_such_subteam" {
			t.Errorf("unknown group: got %v, want no_such_subteam", err)
		}
	})
}

func TestResponseURL(t *testing.T) {
	fake := slacktest.New(t)
	startBot(t, fake, nil)
	api := newAPI(fake)
	ctx := testContext(t)
	hc := &http.Client{Timeout: 5 * time.Second}

	cmd, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim", Text: "status 1", UserID: "U0AAAAAAA", ChannelID: "C0OPS0001"})
	if err != nil {
		t.Fatalf("SlashCommand: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeEphemeral),
		slack.MsgOptionText("working on it", false)); err != nil {
		t.Fatalf("ephemeral response: %v", err)
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, cmd.ResponseURL, hc,
		&slack.WebhookMessage{Text: "SIM 1 is active", ResponseType: slack.ResponseTypeInChannel}); err != nil {
		t.Fatalf("in_channel response: %v", err)
	}
	posts := fake.ResponseURLPosts(cmd.EnvelopeID)
	if len(posts) != 2 {
		t.Fatalf("got %d response URL posts, want 2", len(posts))
	}
	if p := posts[0]; p.Text != "working on it" || !p.Ephemeral || p.User != "U0AAAAAAA" || p.ResponseURLFor != cmd.EnvelopeID {
		t.Errorf("got first post %+v, want the ephemeral text for U0AAAAAAA", p)
	}
	if p := posts[1]; p.Ephemeral || p.ResponseType != slack.ResponseTypeInChannel {
		t.Errorf("got second post %+v, want in_channel", p)
	}
	if got := fake.ResponseURLPosts(cmd.ResponseURL); len(got) != 2 {
		t.Errorf("looked up by URL: got %d posts, want 2", len(got))
	}
	if msgs := fake.Messages("C0OPS0001"); len(msgs) != 2 || msgs[1].Text != "SIM 1 is active" {
		t.Errorf("got channel messages %+v, want both responses, the last in_channel", msgs)
	}

	_, original, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("Deactivate 32470000001?", false))
	if err != nil {
		t.Fatalf("post original: %v", err)
	}
	click := func() slacktest.Ack {
		t.Helper()
		ack, err := fake.BlockAction(ctx, slack.InteractionCallback{
			User:      slack.User{ID: "U0AAAAAAA"},
			Container: slack.Container{Type: "message", MessageTs: original, ChannelID: "C0OPS0001"},
			ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{
				{ActionID: "confirm", BlockID: "b", Value: "op-1"},
			}},
		})
		if err != nil {
			t.Fatalf("BlockAction: %v", err)
		}
		return ack
	}
	ack := click()
	if err := slack.PostWebhookCustomHTTPContext(ctx, ack.ResponseURL, hc,
		&slack.WebhookMessage{Text: "Confirmed by <@U0AAAAAAA>", ReplaceOriginal: true}); err != nil {
		t.Fatalf("replace_original: %v", err)
	}
	if m, _ := fake.Message("C0OPS0001", original); m.Text != "Confirmed by <@U0AAAAAAA>" {
		t.Errorf("got original text %q, want it replaced", m.Text)
	}
	if posts := fake.ResponseURLPosts(ack.EnvelopeID); len(posts) != 1 || !posts[0].ReplaceOriginal || posts[0].TS != original {
		t.Errorf("got posts %+v, want one replace_original of %s", posts, original)
	}
	ack = click()
	if _, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionDeleteOriginal(ack.ResponseURL)); err != nil {
		t.Fatalf("delete_original: %v", err)
	}
	if m, _ := fake.Message("C0OPS0001", original); !m.Deleted {
		t.Error("got the original not deleted, want delete_original to delete it")
	}

	err = slack.PostWebhookCustomHTTPContext(ctx, fake.URL+"response/unknown", hc, &slack.WebhookMessage{Text: "x"})
	if sc, isStatus := errors.AsType[slack.StatusCodeError](err); !isStatus || sc.Code != http.StatusNotFound {
		t.Errorf("unknown response URL: got %v, want status 404", err)
	}
	if got := len(fake.Calls(slacktest.MethodResponseURL)); got != 5 {
		t.Errorf("got %d response URL calls recorded, want 5", got)
	}
}

func TestFileUpload(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)
	_, parent, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("CDRs", false))
	if err != nil {
		t.Fatal(err)
	}
	content := "callId,from,to,duration\n1,3228160257,32470000001,42\n"
	summary, err := api.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename: "cdr.csv", Title: "Call records", Content: content, FileSize: len(content),
		Channel: "C0OPS0001", ThreadTimestamp: parent,
	})
	if err != nil {
		t.Fatalf("UploadFileContext: %v", err)
	}
	files := fake.Files()
	if len(files) != 1 {
		t.Fatalf("got %d files, want 1", len(files))
	}
	f := files[0]
	for _, tc := range []struct {
		field, got, want string
	}{
		{"id", f.ID, summary.ID},
		{"name", f.Name, "cdr.csv"},
		{"title", f.Title, "Call records"},
		{"content", string(f.Content), content},
		{"channel", f.Channel, "C0OPS0001"},
		{"thread_ts", f.ThreadTS, parent},
	} {
		t.Run(tc.field, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	var methods []string
	for _, c := range fake.Calls("") {
		methods = append(methods, c.Method)
	}
	want := "chat.postMessage files.getUploadURLExternal file_upload files.completeUploadExternal"
	if got := strings.Join(methods, " "); got != want {
		t.Errorf("got calls %q, want %q", got, want)
	}
	_, err = api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: []slack.FileSummary{{ID: "F404"}}})
	if got := slackError(err); got != "file_not_found" {
		t.Errorf("complete of an unknown file: got %v, want file_not_found", err)
	}
}

func TestWaitFor(t *testing.T) {
	fake := slacktest.New(t)
	api := newAPI(fake)
	ctx := testContext(t)
	done := make(chan error, 1)
	go func() {
		done <- fake.WaitFor(ctx, func() bool { return len(fake.Messages("C0OPS0001")) == 1 })
	}()
	if _, _, err := api.PostMessageContext(ctx, "C0OPS0001", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	if err := receive(ctx, t, done); err != nil {
		t.Errorf("got %v, want nil once the message is posted", err)
	}

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := fake.WaitFor(short, func() bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want an error wrapping context.DeadlineExceeded", err)
	}
}
