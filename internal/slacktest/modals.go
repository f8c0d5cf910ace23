package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Modals, as Slack's documentation describes them (docs.slack.dev,
// "Modals" and the views.* and files.info reference pages):
//   - views.open takes a trigger_id, valid for 3 seconds and for one view;
//     the view is a modal with a title (at most 24 characters), at most 100
//     blocks, private_metadata of at most 3000 characters, and a submit
//     button when it has input blocks.
//   - views.update replaces an open view by view_id or external_id; a hash
//     that is not the view's current one is refused (hash_conflict).
//   - A submission is an interactive envelope of type view_submission
//     carrying the view with its state values; the app answers in the ack
//     with a response_action (update, errors, push or clear) or nothing
//     (the modal closes).
//   - Files people share through a file_input are read with files.info and
//     a GET of url_private_download with the bot token; without it, Slack
//     answers its sign-in page.

// triggerTTL is how long a trigger_id may open a view.
const triggerTTL = 3 * time.Second

// Modal is a view the fake holds, as opened and updated.
type Modal struct {
	ID     string
	Hash   string
	View   slack.View
	Closed bool
	// Errors are the last errors a submission was answered with, by block.
	Errors map[string]string
	// Updates counts the views.update calls and response_action updates.
	Updates int
}

// UserFile is a file a person shared with the app (a file_input's file).
type UserFile struct {
	ID, Name, Filetype string
	Content            []byte
	Deleted            bool
}

// modalState is the fake's record of triggers, modals and shared files.
type modalState struct {
	triggers map[string]trigger
	modals   map[string]*Modal
	files    map[string]*UserFile
}

type trigger struct {
	at   time.Time
	used bool
}

// modalsLocked returns the modal state, made on first use. s.mu must be held.
func (s *Server) modalsLocked() *modalState {
	if s.modals == nil {
		s.modals = &modalState{triggers: map[string]trigger{}, modals: map[string]*Modal{}, files: map[string]*UserFile{}}
	}
	return s.modals
}

// issueTriggerLocked records a trigger_id handed out with an interaction.
func (s *Server) issueTriggerLocked(id string) {
	s.modalsLocked().triggers[id] = trigger{at: time.Now()}
}

// checkModal applies Slack's limits to a modal view.
func checkModal(v slack.View) string {
	switch {
	case v.Type != slack.VTModal:
		return "invalid_arguments"
	case v.Title == nil || v.Title.Text == "" || utf8.RuneCountInString(v.Title.Text) > 24:
		return "invalid_arguments"
	case v.Submit != nil && utf8.RuneCountInString(v.Submit.Text) > 24, v.Close != nil && utf8.RuneCountInString(v.Close.Text) > 24:
		return "invalid_arguments"
	case len(v.Blocks.BlockSet) > 100, len(v.PrivateMetadata) > 3000, len(v.CallbackID) > 255:
		return "invalid_arguments"
	}
	for _, b := range v.Blocks.BlockSet {
		if b.BlockType() == slack.MBTInput && v.Submit == nil {
			return "invalid_arguments"
		}
	}
	return ""
}

func (s *Server) viewsOpen(r *apiRequest) apiReply {
	trig, raw := r.form.Get("trigger_id"), r.form.Get("view")
	if trig == "" || raw == "" {
		return fail("invalid_arguments")
	}
	ms := s.modalsLocked()
	t, known := ms.triggers[trig]
	switch {
	case !known:
		return fail("invalid_trigger_id")
	case t.used:
		return fail("exchanged_trigger_id")
	case time.Since(t.at) > triggerTTL:
		return fail("expired_trigger_id")
	}
	var view slack.View
	if err := json.Unmarshal([]byte(raw), &view); err != nil {
		return fail("invalid_arguments")
	}
	if code := checkModal(view); code != "" {
		return fail(code)
	}
	t.used = true
	ms.triggers[trig] = t
	view.ID, view.Hash = s.nextIDLocked("V"), randomHex(8)
	view.TeamID, view.AppID, view.BotID = s.TeamID, s.AppID, s.BotID
	view.RootViewID = view.ID
	ms.modals[view.ID] = &Modal{ID: view.ID, Hash: view.Hash, View: view}
	return ok(map[string]any{"view": view})
}

func (s *Server) viewsUpdate(r *apiRequest) apiReply {
	raw := r.form.Get("view")
	if raw == "" {
		return fail("invalid_arguments")
	}
	ms := s.modalsLocked()
	m := ms.modals[r.form.Get("view_id")]
	if m == nil {
		if ext := r.form.Get("external_id"); ext != "" {
			for _, cand := range ms.modals {
				if cand.View.ExternalID == ext {
					m = cand
				}
			}
		}
	}
	if m == nil || m.Closed {
		return fail("not_found")
	}
	if h := r.form.Get("hash"); h != "" && h != m.Hash {
		return fail("hash_conflict")
	}
	var view slack.View
	if err := json.Unmarshal([]byte(raw), &view); err != nil {
		return fail("invalid_arguments")
	}
	if code := checkModal(view); code != "" {
		return fail(code)
	}
	s.replaceModalLocked(m, view)
	return ok(map[string]any{"view": m.View})
}

// replaceModalLocked puts view in place of m's, with a new hash.
func (s *Server) replaceModalLocked(m *Modal, view slack.View) {
	view.ID, view.Hash = m.ID, randomHex(8)
	view.TeamID, view.AppID, view.BotID, view.RootViewID = s.TeamID, s.AppID, s.BotID, m.ID
	m.View, m.Hash, m.Errors = view, view.Hash, nil
	m.Updates++
}

// Modal returns the modal with that id as it is now, and whether the fake
// holds it.
func (s *Server) Modal(id string) (Modal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modalsLocked().modals[id]
	if !ok {
		return Modal{}, false
	}
	return *m, true
}

// Modals returns every modal opened, in no order.
func (s *Server) Modals() []Modal {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Modal
	for _, m := range s.modalsLocked().modals {
		out = append(out, *m)
	}
	return out
}

// ViewSubmission delivers an interactive envelope of type view_submission
// for the open modal viewID, submitted by user with the state values
// given (block_id → action_id → value), and waits for the ack. The ack's
// response_action acts on the modal as Slack's does: update replaces it,
// errors keeps it and records the errors, clear or nothing closes it.
func (s *Server) ViewSubmission(ctx context.Context, user, viewID string, values map[string]map[string]slack.BlockAction) (Ack, error) {
	id := newUUID()
	s.mu.Lock()
	m, ok := s.modalsLocked().modals[viewID]
	if !ok || m.Closed {
		s.mu.Unlock()
		return Ack{}, fmt.Errorf("slacktest: view submission: no open modal %s", viewID)
	}
	view := m.View
	view.State = &slack.ViewState{Values: values}
	cb := slack.InteractionCallback{
		Type:      slack.InteractionTypeViewSubmission,
		Token:     "slacktest-verification-token",
		APIAppID:  s.AppID,
		TriggerID: s.triggerIDLocked(),
		View:      view,
	}
	cb.Team.ID, cb.Team.Domain = s.TeamID, "switchboard-test"
	cb.User.ID, cb.User.TeamID = user, s.TeamID
	if u, known := s.users[user]; known {
		cb.User.Name = u.Name
	}
	s.mu.Unlock()
	payload, err := json.Marshal(&cb)
	if err != nil {
		return Ack{}, fmt.Errorf("slacktest: view submission: %w", err)
	}
	ack, err := s.deliver(ctx, &envelope{id: id, typ: "interactive", payload: payload})
	if err != nil {
		return ack, err
	}
	var resp slack.ViewSubmissionResponse
	if len(ack.Payload) > 0 && string(ack.Payload) != "null" {
		if err := json.Unmarshal(ack.Payload, &resp); err != nil {
			return ack, fmt.Errorf("slacktest: view submission ack %s: %w", ack.Payload, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch resp.ResponseAction {
	case slack.RAUpdate, slack.RAPush:
		if resp.View == nil {
			return ack, fmt.Errorf("slacktest: response_action %s without a view", resp.ResponseAction)
		}
		raw, _ := json.Marshal(resp.View)
		var v slack.View
		if err := json.Unmarshal(raw, &v); err != nil {
			return ack, err
		}
		if code := checkModal(v); code != "" {
			return ack, fmt.Errorf("slacktest: response_action %s with a view Slack refuses (%s)", resp.ResponseAction, code)
		}
		s.replaceModalLocked(m, v)
	case slack.RAErrors:
		m.Errors = resp.Errors
	default:
		m.Closed = true
	}
	s.notifyLocked()
	return ack, nil
}

// AddFile records a file user shared with the app, as a file_input gives
// it, and returns it as a submission carries it.
func (s *Server) AddFile(name, filetype string, content []byte) slack.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &UserFile{ID: s.nextIDLocked("F"), Name: name, Filetype: filetype, Content: content}
	s.modalsLocked().files[f.ID] = f
	return s.wireFileLocked(f)
}

// DeleteFile makes a shared file gone: files.info answers file_not_found
// and its download 404.
func (s *Server) DeleteFile(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.modalsLocked().files[id]; ok {
		f.Deleted = true
	}
}

func (s *Server) wireFileLocked(f *UserFile) slack.File {
	download := fmt.Sprintf("%sfiles-pri/%s-%s/download/%s", s.URL, s.TeamID, f.ID, f.Name)
	return slack.File{
		ID: f.ID, Name: f.Name, Title: f.Name, Filetype: f.Filetype, Size: len(f.Content),
		URLPrivate: fmt.Sprintf("%sfiles-pri/%s-%s/%s", s.URL, s.TeamID, f.ID, f.Name), URLPrivateDownload: download,
		Mimetype: "text/plain",
	}
}

func (s *Server) filesInfo(r *apiRequest) apiReply {
	f, found := s.modalsLocked().files[r.form.Get("file")]
	if !found || f.Deleted {
		return fail("file_not_found")
	}
	return ok(map[string]any{"file": s.wireFileLocked(f), "comments": []any{}, "paging": map[string]int{"count": 100, "total": 0, "page": 1, "pages": 0}})
}

// serveFile answers a GET of a shared file's private URL: its content with
// the bot token, Slack's sign-in page without it.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	token := r.Header.Get("Authorization")
	var file *UserFile
	for _, f := range s.modalsLocked().files {
		if r.PathValue("file") == s.TeamID+"-"+f.ID {
			file = f
		}
	}
	s.recordLocked(Call{Method: MethodFileDownload, At: time.Now(), Status: http.StatusOK, Token: token})
	bot := "Bearer " + s.BotToken
	s.mu.Unlock()
	switch {
	case token != bot:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to your workspace</body></html>"))
	case file == nil || file.Deleted:
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(file.Content)
	}
}
