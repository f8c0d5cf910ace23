package slacktest

import (
	"context"

	"github.com/slack-go/slack/slackevents"
)

// FunctionExecuted delivers a function_executed event, as Slack does when a
// workflow reaches one of the app's custom steps (callbackID, the function's
// callback_id in the manifest), and waits for the ack. It returns the
// function_execution_id it made up, under which FunctionCompletions records
// the step's completion.
func (s *Server) FunctionExecuted(ctx context.Context, callbackID string, inputs map[string]any) (string, Ack, error) {
	s.mu.Lock()
	exec := s.nextIDLocked("Fx")
	workflow := s.nextIDLocked("Wx")
	fn := s.nextIDLocked("Fn")
	ts := s.nextTSLocked()
	s.mu.Unlock()
	ev := slackevents.FunctionExecutedEvent{
		Type:                string(slackevents.FunctionExecuted),
		Inputs:              inputs,
		FunctionExecutionID: exec,
		WorkflowExecutionID: workflow,
		EventTs:             ts,
		// A function token, valid for this execution only; the bot does
		// not need it.
		BotAccessToken: "xwfp-slacktest-" + exec,
	}
	ev.Function.ID = fn
	ev.Function.CallbackID = callbackID
	ev.Function.Title = callbackID
	ev.Function.Type = "app"
	ev.Function.AppID = s.AppID
	ack, err := s.EventCallback(ctx, ev)
	return exec, ack, err
}
