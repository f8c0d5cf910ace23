// Package slackpost is the bot's side of Slack's Web API: the adapter that
// posts, updates and uploads messages, completes workflow steps, publishes
// Home tabs and looks up user groups and profiles (SlackAPI, Profiles); the
// reading of Slack's error answers; the per-channel pacing every replica
// shares; and the Deliverer, which drains the durable queue of posts into
// Slack.
package slackpost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/internal/redact"

	"github.com/switchboard-bot/switchboard/render"
)

// Slack is the part of the Slack Web API the bot posts through. The production
// implementation is SlackAPI; console mode prints instead.
type Slack interface {
	// PostMessage posts in a channel (in a thread when m.ThreadTS is set) and returns the message ts.
	PostMessage(ctx context.Context, channel string, m render.Message) (string, error)
	// UpdateMessage replaces the text and blocks of a message the bot posted.
	UpdateMessage(ctx context.Context, channel, ts string, m render.Message) error
	// PostEphemeral shows a message to one user in a channel.
	PostEphemeral(ctx context.Context, channel, user string, m render.Message) error
	// Respond answers through an interaction's response URL, replacing the
	// original ephemeral message when replace is true.
	Respond(ctx context.Context, responseURL string, m render.Message, replace bool) error
	// UploadFile attaches a file to a channel (in a thread when threadTS is
	// set), the way files.uploadV2 does.
	UploadFile(ctx context.Context, channel, threadTS, filename, title string, content []byte) error
}

// SlackAPI is Slack through slack-go's Web API client.
type SlackAPI struct {
	Client *slack.Client
	// HTTPClient posts to response URLs and makes the calls slack-go cannot
	// make as Slack wants them (see CompleteStep); nil means a client with a
	// 10 s timeout.
	HTTPClient *http.Client
	// APIURL (ending in /) and Token are the Web API base URL and the bot
	// token, for those calls.
	APIURL, Token string
}

var defaultResponseClient = &http.Client{Timeout: 10 * time.Second}

func msgOptions(m render.Message) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	if m.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(m.ThreadTS))
	}
	return opts
}

// PostMessage implements Slack.
func (s *SlackAPI) PostMessage(ctx context.Context, channel string, m render.Message) (string, error) {
	_, ts, err := s.Client.PostMessageContext(ctx, channel, msgOptions(m)...)
	if err != nil {
		return "", fmt.Errorf("chat.postMessage: %w", err)
	}
	return ts, nil
}

// UpdateMessage implements Slack.
func (s *SlackAPI) UpdateMessage(ctx context.Context, channel, ts string, m render.Message) error {
	m.ThreadTS = ""
	if _, _, _, err := s.Client.UpdateMessageContext(ctx, channel, ts, msgOptions(m)...); err != nil {
		return fmt.Errorf("chat.update: %w", err)
	}
	return nil
}

// PostEphemeral implements Slack.
func (s *SlackAPI) PostEphemeral(ctx context.Context, channel, user string, m render.Message) error {
	if _, err := s.Client.PostEphemeralContext(ctx, channel, user, msgOptions(m)...); err != nil {
		return fmt.Errorf("chat.postEphemeral: %w", err)
	}
	return nil
}

// Respond implements Slack.
func (s *SlackAPI) Respond(ctx context.Context, responseURL string, m render.Message, replace bool) error {
	hc := s.HTTPClient
	if hc == nil {
		hc = defaultResponseClient
	}
	wm := &slack.WebhookMessage{Text: m.Text, ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: replace}
	if len(m.Blocks) > 0 {
		wm.Blocks = &slack.Blocks{BlockSet: m.Blocks}
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, hc, wm); err != nil {
		// A response_url's path is its credential.
		return fmt.Errorf("response_url: %w", redact.URLs(err))
	}
	return nil
}

// UploadFile implements Slack.
func (s *SlackAPI) UploadFile(ctx context.Context, channel, threadTS, filename, title string, content []byte) error {
	_, err := s.Client.UploadFileContext(ctx, slack.UploadFileParameters{
		Channel:         channel,
		ThreadTimestamp: threadTS,
		Filename:        filename,
		Title:           title,
		Content:         string(content),
		FileSize:        len(content),
	})
	if err != nil {
		return fmt.Errorf("files.uploadV2: %w", err)
	}
	return nil
}

// UserGroupMembers resolves a user group's members through
// usergroups.users.list (permissions' user-group lookup).
func (s *SlackAPI) UserGroupMembers(ctx context.Context, groupID string) ([]string, error) {
	return s.Client.GetUserGroupMembersContext(ctx, groupID)
}

// PublishHome publishes a person's Home tab with views.publish.
func (s *SlackAPI) PublishHome(ctx context.Context, user string, blocks []slack.Block) error {
	_, err := s.Client.PublishViewContext(ctx, slack.PublishViewContextRequest{
		UserID: user,
		View:   slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}},
	})
	return err
}

// SlackErrorCode returns Slack's error word ("not_in_channel", "channel_not_found")
// when err is an error answer from the Web API, or "".
func SlackErrorCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// RetryAfter reports how long Slack asked us to wait when err is a rate-limit answer.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	return 0, false
}

// Permanent reports whether retrying err cannot help (the channel is gone, the
// bot is not in it, the message is invalid). Rate limits, server errors and
// network trouble are not permanent.
func Permanent(err error) bool {
	switch SlackErrorCode(err) {
	case "", "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return false
	}
	return true
}

// NotInChannel reports whether err says the bot cannot post in the channel
// because nobody invited it there.
func NotInChannel(err error) bool {
	switch SlackErrorCode(err) {
	case "not_in_channel", "channel_not_found":
		return true
	}
	return false
}
