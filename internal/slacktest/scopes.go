package slacktest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// MethodScopes are the bot-token scopes Slack's Web API reference lists for
// each method the fake implements: any one of them lets the call through; a
// method listed with none needs no scope. apps.connections.open takes the
// app-level token (connections:write), not a bot scope, and is not listed.
var MethodScopes = map[string][]string{
	"auth.test":                    nil,
	"chat.postMessage":             {"chat:write"},
	"chat.postEphemeral":           {"chat:write"},
	"chat.update":                  {"chat:write"},
	"chat.delete":                  {"chat:write"},
	"chat.getPermalink":            nil,
	"conversations.info":           {"channels:read", "groups:read", "im:read", "mpim:read"},
	"conversations.join":           {"channels:join"},
	"conversations.open":           {"im:write", "mpim:write", "channels:manage", "groups:write"},
	"views.publish":                nil,
	"views.open":                   nil,
	"views.update":                 nil,
	"files.info":                   {"files:read"},
	"functions.completeSuccess":    nil,
	"functions.completeError":      nil,
	"users.info":                   {"users:read"},
	"usergroups.users.list":        {"usergroups:read"},
	"files.getUploadURLExternal":   {"files:write"},
	"files.completeUploadExternal": {"files:write"},
}

// GrantScopes installs the app with these bot scopes only: from then on a
// call whose method needs a scope it was not granted is answered as Slack
// does, {"ok":false,"error":"missing_scope","needed":…}. Until it is called
// every scope is granted.
func (s *Server) GrantScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = slices.Clone(scopes)
	if s.scopes == nil {
		s.scopes = []string{}
	}
}

// missingScopeLocked answers a call of method that the granted scopes do not
// cover; ok is false when the call may go on. s.mu must be held.
func (s *Server) missingScopeLocked(method string) (apiReply, bool) {
	need, listed := MethodScopes[method]
	if s.scopes == nil || !listed || len(need) == 0 {
		return apiReply{}, false
	}
	for _, sc := range need {
		if slices.Contains(s.scopes, sc) {
			return apiReply{}, false
		}
	}
	body, _ := json.Marshal(map[string]any{"ok": false, "error": "missing_scope", "needed": need[0], "provided": strings.Join(s.scopes, ",")})
	return apiReply{status: http.StatusOK, body: body}, true
}
