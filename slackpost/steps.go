package slackpost

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redact"
)

// Workflow Builder steps end the way an operation ends: the completion of a
// step is one more queued entry (render.KindStep), queued in the same atomic
// step that closes the operation (its last result, its expiry, a cancel or a
// failure), and delivered by whichever replica's sender takes it.

// stepClaimTTL is how long the claim on a step execution's completion is
// kept: longer than any operation waits for its results.
const stepClaimTTL = 72 * time.Hour

// Steps is the part of the Slack Web API that ends workflow steps. Slack
// accepts the app's bot token for these calls, so a completion can be sent
// by any replica, long after the event (whose short-lived function token is
// never stored).
type Steps interface {
	// CompleteStep ends a step execution successfully with its outputs,
	// each of the type the manifest declares (a string, or an int for an
	// integer output).
	CompleteStep(ctx context.Context, executionID string, outputs map[string]any) error
	// FailStep ends a step execution with an error shown in the workflow's activity.
	FailStep(ctx context.Context, executionID, message string) error
	// Permalink returns the URL of a message.
	Permalink(ctx context.Context, channel, ts string) (string, error)
}

// CompleteStep implements Steps. Slack checks the outputs against the
// step's output types in the manifest, so an integer must go as a JSON
// number; slack-go sends every output as a string, so this call is made
// here, as slack-go would make it otherwise (JSON body, bearer token).
func (s *SlackAPI) CompleteStep(ctx context.Context, executionID string, outputs map[string]any) error {
	body, err := json.Marshal(struct {
		ID      string         `json:"function_execution_id"`
		Outputs map[string]any `json:"outputs"`
	}{executionID, outputs})
	if err != nil {
		return fmt.Errorf("functions.completeSuccess: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cmp.Or(s.APIURL, slack.APIURL)+"functions.completeSuccess", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("functions.completeSuccess: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := cmp.Or(s.HTTPClient, defaultResponseClient).Do(req)
	if err != nil {
		return fmt.Errorf("functions.completeSuccess: %w", redact.URLs(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return fmt.Errorf("functions.completeSuccess: %w", &slack.RateLimitedError{RetryAfter: time.Duration(max(wait, 1)) * time.Second})
	}
	var reply slack.SlackResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&reply); err != nil {
		return fmt.Errorf("functions.completeSuccess: HTTP %d, unreadable answer: %w", resp.StatusCode, err)
	}
	if !reply.Ok {
		return fmt.Errorf("functions.completeSuccess: %w", reply.Err())
	}
	return nil
}

// FailStep implements Steps.
func (s *SlackAPI) FailStep(ctx context.Context, executionID, message string) error {
	if err := s.Client.FunctionCompleteErrorContext(ctx, executionID, message); err != nil {
		return fmt.Errorf("functions.completeError: %w", err)
	}
	return nil
}

// Permalink implements Steps.
func (s *SlackAPI) Permalink(ctx context.Context, channel, ts string) (string, error) {
	link, err := s.Client.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
	if err != nil {
		return "", fmt.Errorf("chat.getPermalink: %w", err)
	}
	return link, nil
}

// completeStep delivers a render.KindStep entry: it claims the execution's
// completion for this entry (so that exactly one of the ways an execution
// can end reaches Slack) and makes the call.
func (d *Deliverer) completeStep(ctx context.Context, m switchboard.Outgoing) error {
	exec := m.DedupeKey
	if d.Steps == nil || exec == "" {
		d.log().Error("workflow step completion cannot be sent", "entry", m.ID, "operation", m.OperationID, "has_steps", d.Steps != nil)
		return errSkip
	}
	var (
		op switchboard.Operation
		p  switchboard.Progress
	)
	if m.Text == "" {
		var err error
		if op, p, err = d.progress(ctx, m.OperationID); err != nil {
			return err
		}
	}
	return d.call(ctx, m, "", func(ctx context.Context) error {
		claimed, err := d.Store.ClaimStepCompletion(ctx, exec, m.ID, stepClaimTTL)
		if err != nil {
			return err
		}
		if !claimed {
			d.log().Info("workflow step already completed by another entry", "execution", exec, "entry", m.ID, "operation", m.OperationID)
			return errSkip
		}
		if m.Text != "" {
			return d.observe(m.Kind, d.Steps.FailStep(ctx, exec, m.Text))
		}
		outputs, failure, err := d.stepOutputs(ctx, op, p)
		if err != nil {
			return err
		}
		if failure != "" {
			return d.observe(m.Kind, d.Steps.FailStep(ctx, exec, failure))
		}
		return d.observe(m.Kind, d.Steps.CompleteStep(ctx, exec, outputs))
	})
}

// stepOutputs are the outputs of a finished step operation, or the reason
// the step failed (an FMU profile that was not set).
func (d *Deliverer) stepOutputs(ctx context.Context, op switchboard.Operation, p switchboard.Progress) (map[string]any, string, error) {
	link, err := d.threadLink(ctx, op)
	if err != nil {
		return nil, "", err
	}
	switch op.Params.StepFunction {
	case switchboard.StepSetFMUProfile:
		if p.Failed > 0 {
			return nil, fmt.Sprintf("The FMU profile was not changed; EnCo's answer is in the thread: %s", link), nil
		}
		return map[string]any{"profile": op.Params.Profile}, "", nil
	case switchboard.StepSIMChange:
		return map[string]any{"succeeded": p.Done, "failed": p.Failed, "thread_url": link}, "", nil
	}
	return nil, fmt.Sprintf("Switchboard does not know the step %q.", op.Params.StepFunction), nil
}

// threadLink is the permalink of op's thread (chat.getPermalink), for a
// step's thread_url output, which is never empty. A passing failure is
// returned, for the entry to be tried again. When Slack refuses for good
// (the message or channel is gone), or op has no thread, the link opens the
// channel instead (Slack's app_redirect), and the log says why.
func (d *Deliverer) threadLink(ctx context.Context, op switchboard.Operation) (string, error) {
	if op.ThreadTS != "" {
		link, err := d.Steps.Permalink(ctx, op.ChannelID, op.ThreadTS)
		switch {
		case err == nil && link != "":
			return link, nil
		case err != nil && !Permanent(err):
			return "", err
		}
		d.log().Warn("no permalink for a step's thread; its output links to the channel", "err", err, "operation", op.ID, "channel", op.ChannelID)
	} else {
		d.log().Warn("a step's operation has no thread; its output links to the channel", "operation", op.ID, "channel", op.ChannelID)
	}
	return ChannelLink(op.ChannelID), nil
}

// ChannelLink is a URL that opens a channel (or direct message) in Slack.
func ChannelLink(channel string) string {
	return "https://slack.com/app_redirect?channel=" + url.QueryEscape(channel)
}

// OpenDM opens (or finds) the direct message channel between the bot and
// user and returns its ID.
func (s *SlackAPI) OpenDM(ctx context.Context, user string) (string, error) {
	ch, _, _, err := s.Client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return "", fmt.Errorf("conversations.open: %w", err)
	}
	return ch.ID, nil
}
