package slacktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// maxBody caps request bodies, file uploads included.
const maxBody = 8 << 20

// Slack's limits on one message.
const (
	maxBlocks     = 50
	maxTextLength = 40000
)

// apiRequest is a parsed Web API request.
type apiRequest struct {
	method string
	form   url.Values
	body   []byte
	token  string
	at     time.Time
}

// apiReply is the answer to a request, built while s.mu is held and written
// after it is released.
type apiReply struct {
	status     int
	retryAfter string // Retry-After header, when set
	body       []byte // JSON
	text       string // plain-text body, used instead of body when set
}

// ok is a successful Slack answer: fields plus "ok":true.
func ok(fields map[string]any) apiReply {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["ok"] = true
	body, err := json.Marshal(fields)
	if err != nil {
		return apiReply{status: http.StatusInternalServerError, text: "slacktest: encode reply: " + err.Error()}
	}
	return apiReply{status: http.StatusOK, body: body}
}

// fail is Slack's error answer, which comes with HTTP 200.
func fail(code string) apiReply {
	body, _ := json.Marshal(map[string]any{"ok": false, "error": code}) // a map of strings always encodes
	return apiReply{status: http.StatusOK, body: body}
}

func (r apiReply) write(w http.ResponseWriter) {
	if r.retryAfter != "" {
		w.Header().Set("Retry-After", r.retryAfter)
	}
	if r.text != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, r.text)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// apiMethod handles one Web API method; s.mu is held.
type apiMethod func(*Server, *apiRequest) apiReply

// apiMethods are the Web API methods the fake implements.
var apiMethods = map[string]apiMethod{
	"apps.connections.open":        (*Server).appsConnectionsOpen,
	"auth.test":                    (*Server).authTest,
	"chat.postMessage":             (*Server).chatPostMessage,
	"chat.postEphemeral":           (*Server).chatPostEphemeral,
	"chat.update":                  (*Server).chatUpdate,
	"chat.delete":                  (*Server).chatDelete,
	"chat.getPermalink":            (*Server).chatGetPermalink,
	"conversations.info":           (*Server).conversationsInfo,
	"conversations.join":           (*Server).conversationsJoin,
	"conversations.open":           (*Server).conversationsOpen,
	"views.publish":                (*Server).viewsPublish,
	"views.open":                   (*Server).viewsOpen,
	"views.update":                 (*Server).viewsUpdate,
	"files.info":                   (*Server).filesInfo,
	"functions.completeSuccess":    (*Server).functionsCompleteSuccess,
	"functions.completeError":      (*Server).functionsCompleteError,
	"users.info":                   (*Server).usersInfo,
	"usergroups.users.list":        (*Server).usergroupsUsersList,
	"files.getUploadURLExternal":   (*Server).filesGetUploadURLExternal,
	"files.completeUploadExternal": (*Server).filesCompleteUploadExternal,
}

// serveAPI answers a Web API method: the token is checked first (the app
// token for apps.connections.open, the bot token for everything else), then
// any answer forced by RateLimit or FailNext is used, then the method runs.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	req, err := readRequest(w, r)
	req.method = r.PathValue("method")
	if !s.hold(r, req.method) {
		s.mu.Lock()
		s.recordLocked(req.call(0))
		s.mu.Unlock()
		return
	}
	var reply apiReply
	s.mu.Lock()
	if req.method == "apps.connections.open" && s.connectDelay > 0 {
		// A real network's API call and TLS handshake, before the URL.
		delay := s.connectDelay
		s.mu.Unlock()
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
		}
		s.mu.Lock()
	}
	handler, known := apiMethods[req.method]
	wantToken := s.BotToken
	if req.method == "apps.connections.open" {
		wantToken = s.AppToken
	}
	switch {
	case !known:
		reply = fail("unknown_method")
	case req.token == "" || req.token != wantToken:
		reply = fail("invalid_auth")
	case err != nil:
		reply = fail(err.Error())
	default:
		var refused bool
		if reply, refused = s.missingScopeLocked(req.method); refused {
			break
		}
		var forced bool
		if reply, forced = s.takeForcedLocked(req.method); !forced {
			reply = handler(s, req)
		}
	}
	s.recordLocked(req.call(reply.status))
	s.mu.Unlock()
	reply.write(w)
}

func (r *apiRequest) call(status int) Call {
	return Call{Method: r.method, Form: r.form, Body: r.body, Status: status, At: r.at, Token: r.token}
}

// readRequest reads the body and parameters of a request. A body that cannot
// be parsed is reported as a Slack error word ("invalid_json",
// "invalid_form_data"), with the request still usable for recording.
func readRequest(w http.ResponseWriter, r *http.Request) (*apiRequest, error) {
	req := &apiRequest{form: url.Values{}, at: time.Now()}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	req.body = body
	if err != nil {
		return req, errors.New("request_too_large")
	}
	for k, vs := range r.URL.Query() {
		req.form[k] = append(req.form[k], vs...)
	}
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case len(body) == 0:
	case mediaType == "application/json":
		if err := decodeJSONForm(body, req.form); err != nil {
			return req, errors.New("invalid_json")
		}
	case mediaType == "multipart/form-data":
		mf, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(maxBody)
		if err != nil {
			return req, errors.New("invalid_form_data")
		}
		defer func() { _ = mf.RemoveAll() }()
		for k, vs := range mf.Value {
			req.form[k] = append(req.form[k], vs...)
		}
	default:
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return req, errors.New("invalid_form_data")
		}
		for k, vs := range values {
			req.form[k] = append(req.form[k], vs...)
		}
	}
	if auth, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
		req.token = strings.TrimSpace(auth)
	} else {
		req.token = req.form.Get("token")
	}
	return req, nil
}

// decodeJSONForm adds the top-level fields of a JSON object to form: strings
// as they are, other values as JSON text.
func decodeJSONForm(body []byte, form url.Values) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return err
	}
	for k, raw := range fields {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			form.Set(k, str)
		} else {
			form.Set(k, string(raw))
		}
	}
	return nil
}

func (s *Server) authTest(*apiRequest) apiReply {
	return ok(map[string]any{
		"url":     "https://switchboard-test.slack.com/",
		"team":    "Switchboard Test",
		"user":    "switchboard",
		"team_id": s.TeamID,
		"user_id": s.BotUserID,
		"bot_id":  s.BotID,
	})
}

// messageContent checks the text and blocks of a new message and returns
// them, or Slack's error word.
func messageContent(form url.Values, required bool) (text string, blocks json.RawMessage, errCode string) {
	text = form.Get("text")
	if b := form.Get("blocks"); b != "" {
		var set []json.RawMessage
		if err := json.Unmarshal([]byte(b), &set); err != nil || len(set) > maxBlocks {
			return "", nil, "invalid_blocks"
		}
		blocks = json.RawMessage(b)
	}
	switch {
	case len(text) > maxTextLength:
		return "", nil, "msg_too_long"
	case required && text == "" && blocks == nil && form.Get("attachments") == "":
		return "", nil, "no_text"
	}
	return text, blocks, ""
}

// chatPostMessage posts a message; a user ID as channel posts to the direct
// message channel between the bot and that user, as Slack does.
func (s *Server) chatPostMessage(r *apiRequest) apiReply {
	channel := r.form.Get("channel")
	if isUserID(channel) {
		channel = s.dmChannelLocked(channel)
	}
	switch {
	case channel == "":
		return fail("channel_not_found")
	case s.notIn[channel]:
		return fail("not_in_channel")
	}
	text, blocks, errCode := messageContent(r.form, true)
	if errCode != "" {
		return fail(errCode)
	}
	if reply, paced := s.paceLocked(channel, r.at); paced {
		return reply
	}
	m := &Message{
		Channel:  channel,
		TS:       s.nextTSLocked(),
		ThreadTS: r.form.Get("thread_ts"),
		User:     s.BotUserID,
		Text:     text,
		Blocks:   blocks,
	}
	s.addMessageLocked(m)
	return ok(map[string]any{"channel": channel, "ts": m.TS, "message": s.wireMessage(m)})
}

func (s *Server) chatPostEphemeral(r *apiRequest) apiReply {
	channel, user := r.form.Get("channel"), r.form.Get("user")
	switch {
	case channel == "":
		return fail("channel_not_found")
	case s.notIn[channel]:
		return fail("not_in_channel")
	case user == "":
		return fail("user_not_in_channel")
	}
	text, blocks, errCode := messageContent(r.form, true)
	if errCode != "" {
		return fail(errCode)
	}
	m := &Message{
		Channel:   channel,
		TS:        s.nextTSLocked(),
		ThreadTS:  r.form.Get("thread_ts"),
		User:      user,
		Text:      text,
		Blocks:    blocks,
		Ephemeral: true,
	}
	s.addMessageLocked(m)
	return ok(map[string]any{"message_ts": m.TS})
}

// chatUpdate replaces the text and blocks of a message the bot posted; a field
// left out of the request keeps its value.
func (s *Server) chatUpdate(r *apiRequest) apiReply {
	channel, ts := r.form.Get("channel"), r.form.Get("ts")
	if channel == "" {
		return fail("channel_not_found")
	}
	m, found := s.byTS[msgKey(channel, ts)]
	if !found || m.Deleted || m.Ephemeral {
		return fail("message_not_found")
	}
	text, blocks, errCode := messageContent(r.form, false)
	if errCode != "" {
		return fail(errCode)
	}
	if reply, paced := s.paceLocked(channel, r.at); paced {
		return reply
	}
	if r.form.Has("text") {
		m.Text = text
	}
	if r.form.Has("blocks") {
		m.Blocks = blocks
	}
	m.Updated++
	return ok(map[string]any{"channel": channel, "ts": ts, "text": m.Text, "message": s.wireMessage(m)})
}

func (s *Server) chatDelete(r *apiRequest) apiReply {
	channel, ts := r.form.Get("channel"), r.form.Get("ts")
	m, found := s.byTS[msgKey(channel, ts)]
	if !found || m.Deleted || m.Ephemeral {
		return fail("message_not_found")
	}
	m.Deleted = true
	return ok(map[string]any{"channel": channel, "ts": ts})
}

func (s *Server) chatGetPermalink(r *apiRequest) apiReply {
	channel, ts := r.form.Get("channel"), r.form.Get("message_ts")
	if _, found := s.byTS[msgKey(channel, ts)]; !found {
		return fail("message_not_found")
	}
	link := fmt.Sprintf("https://switchboard-test.slack.com/archives/%s/p%s", channel, strings.ReplaceAll(ts, ".", ""))
	return ok(map[string]any{"channel": channel, "permalink": link})
}

func (s *Server) conversationsInfo(r *apiRequest) apiReply {
	id := r.form.Get("channel")
	if id == "" {
		return fail("channel_not_found")
	}
	return ok(map[string]any{"channel": s.channelLocked(id)})
}

func (s *Server) conversationsJoin(r *apiRequest) apiReply {
	id := r.form.Get("channel")
	if id == "" {
		return fail("channel_not_found")
	}
	delete(s.notIn, id)
	return ok(map[string]any{"channel": s.channelLocked(id)})
}

// channelLocked describes a channel the way conversations.info does.
func (s *Server) channelLocked(id string) slack.Channel {
	name := s.channelNameLocked(id)
	var ch slack.Channel
	ch.ID = id
	ch.Name = name
	ch.NameNormalized = name
	ch.IsChannel = strings.HasPrefix(id, "C")
	ch.IsPrivate = strings.HasPrefix(id, "G")
	ch.IsIM = strings.HasPrefix(id, "D")
	ch.IsMember = !s.notIn[id]
	return ch
}

func (s *Server) channelNameLocked(id string) string {
	if name, ok := s.channelNames[id]; ok {
		return name
	}
	return strings.ToLower(id)
}

func (s *Server) usersInfo(r *apiRequest) apiReply {
	u, found := s.users[r.form.Get("user")]
	if !found {
		return fail("user_not_found")
	}
	return ok(map[string]any{"user": u})
}

func (s *Server) usergroupsUsersList(r *apiRequest) apiReply {
	members, found := s.groups[r.form.Get("usergroup")]
	if !found {
		return fail("no_such_subteam")
	}
	return ok(map[string]any{"users": members})
}

// wireMessage is a message as the chat methods return it.
func (s *Server) wireMessage(m *Message) map[string]any {
	out := map[string]any{
		"type":   "message",
		"user":   m.User,
		"bot_id": s.BotID,
		"text":   m.Text,
		"ts":     m.TS,
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	return out
}

// readUpload returns the file content of an upload: the first file part of a
// multipart body, or the body itself.
func readUpload(r *http.Request, body []byte) ([]byte, error) {
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		return body, nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("read upload: no file part: %w", err)
		}
		if part.FileName() != "" {
			return io.ReadAll(part)
		}
	}
}

// parseLength reads a positive integer parameter.
func parseLength(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	return n, err == nil && n > 0
}
