package slacktest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/slack-go/slack"
)

// Message is a message in the fake workspace, or one post to a response URL.
type Message struct {
	Channel string
	// TS is the message timestamp; for a response URL post that replaced or
	// deleted the original message, the original's timestamp when known.
	TS string
	// ThreadTS is the parent's timestamp for a thread reply, "" otherwise.
	ThreadTS string
	// User is the author (the bot's user ID), or for an ephemeral message the
	// only user who sees it.
	User   string
	Text   string
	Blocks json.RawMessage
	// Ephemeral marks messages from chat.postEphemeral and response URL posts
	// that were not in_channel.
	Ephemeral bool
	// ReplaceOriginal and DeleteOriginal are the flags of a response URL post.
	ReplaceOriginal, DeleteOriginal bool
	// ResponseType is the response_type of a response URL post.
	ResponseType string
	// Updated counts the chat.update calls that changed the message.
	Updated int
	// Deleted is set by chat.delete or a delete_original response URL post.
	Deleted bool
	// ResponseURLFor is, for a message that came through a response URL, the
	// envelope ID of the slash command or action the URL belongs to.
	ResponseURLFor string
}

// File is a file uploaded through files.getUploadURLExternal, the upload URL
// and files.completeUploadExternal.
type File struct {
	ID      string
	Name    string
	Title   string
	Content []byte
	// Length is the size announced to files.getUploadURLExternal.
	Length         int
	Channel        string
	ThreadTS       string
	InitialComment string

	uploaded, shared bool
}

// responseTarget is what a response URL answers: the channel and user of the
// command or action, and the message an action came from.
type responseTarget struct {
	channel, user, originalTS string
}

func msgKey(channel, ts string) string { return channel + "/" + ts }

// addMessageLocked stores a new message. s.mu must be held.
func (s *Server) addMessageLocked(m *Message) {
	s.messages = append(s.messages, m)
	s.byTS[msgKey(m.Channel, m.TS)] = m
}

// Messages returns the messages of channel ("" for every channel) in the order
// they were posted, thread replies and ephemeral messages included, each with
// its current text and blocks. Deleted messages are left out.
func (s *Server) Messages(channel string) []Message {
	return s.selectMessages(func(m *Message) bool {
		return channel == "" || m.Channel == channel
	})
}

// Thread returns the replies in channel whose thread_ts is ts, in order,
// deleted ones left out. The parent itself is not included.
func (s *Server) Thread(channel, ts string) []Message {
	return s.selectMessages(func(m *Message) bool {
		return m.Channel == channel && m.ThreadTS == ts && m.TS != ts
	})
}

// Message returns the message at (channel, ts), deleted or not.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.byTS[msgKey(channel, ts)]
	if !ok {
		return Message{}, false
	}
	return copyMessage(*m), true
}

func (s *Server) selectMessages(keep func(*Message) bool) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if !m.Deleted && keep(m) {
			out = append(out, copyMessage(*m))
		}
	}
	return out
}

func copyMessage(m Message) Message {
	m.Blocks = bytes.Clone(m.Blocks)
	return m
}

// ResponseURLPosts returns what was posted to the response URL of one slash
// command or action, in order. id is the envelope ID (Ack.EnvelopeID) or the
// response URL itself; "" returns the posts to every response URL.
func (s *Server) ResponseURLPosts(id string) []Message {
	id = strings.TrimPrefix(id, s.URL+"response/")
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.responsePosts {
		if id == "" || m.ResponseURLFor == id {
			out = append(out, copyMessage(m))
		}
	}
	return out
}

// Files returns the files whose upload was completed, in completion order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]File, 0, len(s.shared))
	for _, f := range s.shared {
		c := *f
		c.Content = bytes.Clone(f.Content)
		out = append(out, c)
	}
	return out
}

// registerResponseURLLocked makes a response URL on this fake answer for
// target. URLs elsewhere are left alone. s.mu must be held.
func (s *Server) registerResponseURLLocked(responseURL string, target responseTarget) {
	id, found := strings.CutPrefix(responseURL, s.URL+"response/")
	if found && id != "" && !strings.Contains(id, "/") {
		s.responses[id] = target
	}
}

// serveResponseURL records a post to a response URL and applies it: a new
// message (ephemeral unless response_type is in_channel), or a replacement or
// deletion of the message the action came from.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	req, err := readRequest(w, r)
	req.method = MethodResponseURL
	var reply apiReply
	s.mu.Lock()
	target, known := s.responses[id]
	switch {
	case !known:
		reply = apiReply{status: http.StatusNotFound, text: "expired_url"}
	case err != nil:
		reply = fail(err.Error())
		reply.status = http.StatusBadRequest
	default:
		var forced bool
		if reply, forced = s.takeForcedLocked(MethodResponseURL); !forced {
			reply = s.respondLocked(id, target, req)
		}
	}
	s.recordLocked(req.call(reply.status))
	s.mu.Unlock()
	reply.write(w)
}

func (s *Server) respondLocked(id string, target responseTarget, req *apiRequest) apiReply {
	text, blocks, errCode := messageContent(req.form, false)
	if errCode != "" {
		reply := fail(errCode)
		reply.status = http.StatusBadRequest
		return reply
	}
	m := Message{
		Channel:         target.channel,
		ThreadTS:        req.form.Get("thread_ts"),
		User:            target.user,
		Text:            text,
		Blocks:          blocks,
		ReplaceOriginal: isTrue(req.form.Get("replace_original")),
		DeleteOriginal:  isTrue(req.form.Get("delete_original")),
		ResponseType:    req.form.Get("response_type"),
		ResponseURLFor:  id,
	}
	var original *Message
	if target.originalTS != "" {
		original = s.byTS[msgKey(target.channel, target.originalTS)]
	}
	switch {
	case m.DeleteOriginal:
		m.TS = target.originalTS
		if original != nil {
			original.Deleted = true
		}
	case m.ReplaceOriginal:
		m.TS = target.originalTS
		if original != nil {
			original.Text, original.Blocks = text, blocks
		}
	default:
		m.TS = s.nextTSLocked()
		m.Ephemeral = m.ResponseType != slack.ResponseTypeInChannel
		if !m.Ephemeral {
			m.User = s.BotUserID
		}
		if m.Channel != "" {
			posted := m
			s.addMessageLocked(&posted)
		}
	}
	s.responsePosts = append(s.responsePosts, m)
	return ok(nil)
}

func isTrue(v string) bool { return v == "true" || v == "1" }

func (s *Server) filesGetUploadURLExternal(r *apiRequest) apiReply {
	name := r.form.Get("filename")
	length, valid := parseLength(r.form.Get("length"))
	if name == "" || !valid {
		return fail("invalid_arguments")
	}
	id := s.nextIDLocked("F")
	s.files[id] = &File{ID: id, Name: name, Title: name, Length: length}
	return ok(map[string]any{"upload_url": s.URL + "upload/" + id, "file_id": id})
}

// serveUpload stores the content posted to an upload URL.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	req, err := readRequest(w, r)
	req.method = MethodFileUpload
	var reply apiReply
	s.mu.Lock()
	f, known := s.files[id]
	switch {
	case !known:
		reply = apiReply{status: http.StatusNotFound, text: "file_not_found"}
	case err != nil:
		reply = apiReply{status: http.StatusBadRequest, text: err.Error()}
	default:
		var forced bool
		if reply, forced = s.takeForcedLocked(MethodFileUpload); !forced {
			content, err := readUpload(r, req.body)
			if err != nil {
				reply = apiReply{status: http.StatusBadRequest, text: err.Error()}
				break
			}
			f.Content, f.uploaded = content, true
			reply = apiReply{status: http.StatusOK, text: "OK - " + strconv.Itoa(len(content))}
		}
	}
	s.recordLocked(req.call(reply.status))
	s.mu.Unlock()
	reply.write(w)
}

func (s *Server) filesCompleteUploadExternal(r *apiRequest) apiReply {
	var list []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(r.form.Get("files")), &list); err != nil || len(list) == 0 {
		return fail("invalid_arguments")
	}
	for _, item := range list {
		if f, found := s.files[item.ID]; !found || !f.uploaded {
			return fail("file_not_found")
		}
	}
	channel := r.form.Get("channel_id")
	if channel == "" {
		channel, _, _ = strings.Cut(r.form.Get("channels"), ",")
	}
	if s.notIn[channel] {
		return fail("not_in_channel")
	}
	summaries := make([]map[string]any, 0, len(list))
	for _, item := range list {
		f := s.files[item.ID]
		f.Title = cmp.Or(item.Title, f.Name)
		f.Channel = channel
		f.ThreadTS = r.form.Get("thread_ts")
		f.InitialComment = r.form.Get("initial_comment")
		if !f.shared {
			f.shared = true
			s.shared = append(s.shared, f)
		}
		summaries = append(summaries, map[string]any{"id": f.ID, "title": f.Title})
	}
	return ok(map[string]any{"files": summaries})
}
