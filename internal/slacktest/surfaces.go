package slacktest

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// Slack's limit on the blocks of a Home tab view.
const maxViewBlocks = 100

// PublishedView is one views.publish call the fake accepted.
type PublishedView struct {
	// User is the user_id the view was published for.
	User string
	// ID is the view ID the fake gave it.
	ID string
	// View is the view as the bot sent it (type "home", blocks, …).
	View slack.View
	// Raw is the view's JSON as sent.
	Raw json.RawMessage
}

// FunctionCompletion is one functions.completeSuccess or
// functions.completeError call the fake accepted.
type FunctionCompletion struct {
	// ExecutionID is the function_execution_id completed.
	ExecutionID string
	// Success is true for completeSuccess, false for completeError.
	Success bool
	// Outputs are the outputs of a completeSuccess call, as JSON decodes
	// them: a string, or a json.Number for a number.
	Outputs map[string]any
	// Error is the error text of a completeError call.
	Error string
}

// isUserID reports whether id names a user (U… or W…) rather than a
// conversation.
func isUserID(id string) bool {
	return strings.HasPrefix(id, "U") || strings.HasPrefix(id, "W")
}

// dmChannelLocked returns the ID of the direct message channel between the
// bot and user, opening it on first use. s.mu must be held.
func (s *Server) dmChannelLocked(user string) string {
	if id, ok := s.dms[user]; ok {
		return id
	}
	id := s.nextIDLocked("D")
	s.dms[user] = id
	s.dmUsers[id] = user
	return id
}

// DMChannel returns the direct message channel between the bot and user,
// opening it as conversations.open would.
func (s *Server) DMChannel(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmChannelLocked(user)
}

// DirectMessages returns the messages the bot sent user in their direct
// message channel, whether posted with channel set to the user ID or to the
// channel conversations.open returned, in order.
func (s *Server) DirectMessages(user string) []Message {
	return s.Messages(s.DMChannel(user))
}

// conversationsOpen opens (or finds) the direct message channel with the one
// user named in users. Group DMs are not supported.
func (s *Server) conversationsOpen(r *apiRequest) apiReply {
	if id := r.form.Get("channel"); id != "" {
		return ok(map[string]any{"channel": s.channelLocked(id), "already_open": true})
	}
	users := strings.Split(r.form.Get("users"), ",")
	switch {
	case r.form.Get("users") == "":
		return fail("users_list_not_supplied")
	case len(users) > 1:
		return fail("not_supported")
	}
	if !isUserID(users[0]) {
		return fail("user_not_found")
	}
	_, already := s.dms[users[0]]
	ch := s.channelLocked(s.dmChannelLocked(users[0]))
	ch.User = users[0]
	return ok(map[string]any{"channel": ch, "already_open": already, "no_op": already})
}

// viewsPublish records a Home tab view for a user.
func (s *Server) viewsPublish(r *apiRequest) apiReply {
	user, raw := r.form.Get("user_id"), r.form.Get("view")
	if user == "" || raw == "" {
		return fail("invalid_arguments")
	}
	var view slack.View
	if err := json.Unmarshal([]byte(raw), &view); err != nil {
		return fail("invalid_arguments")
	}
	switch {
	case view.Type != slack.VTHomeTab:
		return fail("invalid_arguments")
	case len(view.Blocks.BlockSet) > maxViewBlocks:
		return fail("invalid_blocks")
	}
	if !isUserID(user) {
		return fail("user_not_found")
	}
	view.ID = s.nextIDLocked("V")
	view.TeamID = s.TeamID
	view.AppID = s.AppID
	view.BotID = s.BotID
	s.views = append(s.views, PublishedView{User: user, ID: view.ID, View: view, Raw: json.RawMessage(raw)})
	return ok(map[string]any{"view": view})
}

// PublishedViews returns the views published for user ("" for every user), in
// order.
func (s *Server) PublishedViews(user string) []PublishedView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PublishedView
	for _, v := range s.views {
		if user == "" || v.User == user {
			v.Raw = append(json.RawMessage(nil), v.Raw...)
			out = append(out, v)
		}
	}
	return out
}

// HomeView returns the view last published for user, and whether there is
// one.
func (s *Server) HomeView(user string) (PublishedView, bool) {
	views := s.PublishedViews(user)
	if len(views) == 0 {
		return PublishedView{}, false
	}
	return views[len(views)-1], true
}

func (s *Server) functionsCompleteSuccess(r *apiRequest) apiReply {
	id := r.form.Get("function_execution_id")
	if id == "" {
		return fail("invalid_arguments")
	}
	var outputs map[string]any
	if raw := r.form.Get("outputs"); raw != "" && raw != "null" {
		d := json.NewDecoder(strings.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&outputs); err != nil {
			return fail("invalid_arguments")
		}
	}
	s.completions = append(s.completions, FunctionCompletion{ExecutionID: id, Success: true, Outputs: outputs})
	return ok(nil)
}

func (s *Server) functionsCompleteError(r *apiRequest) apiReply {
	id, text := r.form.Get("function_execution_id"), r.form.Get("error")
	if id == "" || text == "" {
		return fail("invalid_arguments")
	}
	s.completions = append(s.completions, FunctionCompletion{ExecutionID: id, Error: text})
	return ok(nil)
}

// FunctionCompletions returns the completions recorded for executionID (""
// for every execution), in order; a step completed twice shows twice.
func (s *Server) FunctionCompletions(executionID string) []FunctionCompletion {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []FunctionCompletion
	for _, c := range s.completions {
		if executionID == "" || c.ExecutionID == executionID {
			outputs := make(map[string]any, len(c.Outputs))
			for k, v := range c.Outputs {
				outputs[k] = v
			}
			c.Outputs = outputs
			out = append(out, c)
		}
	}
	return out
}

// AppHomeOpened delivers an app_home_opened event for user's Home tab, as
// Slack does when they open it, and waits for the ack.
func (s *Server) AppHomeOpened(ctx context.Context, user string) (Ack, error) {
	return s.EventCallback(ctx, slackevents.AppHomeOpenedEvent{
		Type:           string(slackevents.AppHomeOpened),
		User:           user,
		Channel:        s.DMChannel(user),
		EventTimeStamp: s.nextTS(),
		Tab:            "home",
	})
}

func (s *Server) nextTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextTSLocked()
}
