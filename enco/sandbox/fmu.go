package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The FMU profiles, as the FMU API documentation spells them.
const (
	ProfilePrivate      = "PRIVATE"
	ProfileProfessional = "PROFESSIONAL"
	ProfileOnDuty       = "ON_DUTY"
)

// validProfile reports whether p is one of the documented profiles.
func validProfile(p string) bool {
	return p == ProfilePrivate || p == ProfileProfessional || p == ProfileOnDuty
}

// MaxFMUNumbers is the most numbers one FMU request may carry ("max 50").
const MaxFMUNumbers = 50

const fmuNotFound = "MSISDN not found or FMU option not active"

// handleFMUGet reads profiles. One number is answered at once, as the
// documentation's "Get status detail for one number" shows, even when a
// callback_url is given; several are answered through a callback.
func (s *Sandbox) handleFMUGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	msisdns := splitList(q.Get("msisdn"))
	callbackURL := q.Get("callback_url")
	if len(msisdns) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "msisdn is required"})
		return
	}
	if len(msisdns) == 1 {
		writeJSON(w, http.StatusOK, s.fmuRead(msisdns[0]))
		return
	}
	target, ok := s.fmuTarget(w, msisdns, callbackURL)
	if !ok {
		return
	}
	results := make([]map[string]any, 0, len(msisdns))
	for _, n := range msisdns {
		results = append(results, s.fmuRead(n))
	}
	if s.inReply() {
		writeJSON(w, http.StatusOK, results)
		return
	}
	s.answer(w, http.StatusAccepted, map[string]string{"message": "Request accepted"},
		[]outgoing{newOutgoing("fmu", target, nil, results)})
}

func (s *Sandbox) fmuRead(msisdn string) map[string]any {
	s.mu.Lock()
	p, ok := s.fmu[msisdn]
	s.mu.Unlock()
	if !ok {
		return map[string]any{"msisdn": msisdn, "isError": true, "error": fmuNotFound}
	}
	return map[string]any{"msisdn": msisdn, "isError": false, "status": p}
}

// fmuTarget checks an asynchronous request's size and finds its callback
// URL, answering 400 when either is wrong.
func (s *Sandbox) fmuTarget(w http.ResponseWriter, msisdns []string, callbackURL string) (string, bool) {
	if len(msisdns) > MaxFMUNumbers {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "at most 50 msisdn per request"})
		return "", false
	}
	if callbackURL == "" {
		s.mu.Lock()
		callbackURL = s.fmuCallbackURL
		s.mu.Unlock()
	}
	if !absoluteURL(callbackURL) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a valid callback_url is required for asynchronous requests (or register one)"})
		return "", false
	}
	return callbackURL, true
}

// handleFMUPut changes profiles: one number is answered at once (the
// documentation's "Set status for one number"), even when a callback_url is
// given; several are answered through a callback.
func (s *Sandbox) handleFMUPut(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		MSISDN      json.RawMessage `json:"msisdn"`
		Status      string          `json:"status"`
		CallbackURL string          `json:"callback_url"`
	}
	if !decodeBody(w, body, &req, "error") {
		return
	}
	var msisdns []string
	if json.Unmarshal(req.MSISDN, &msisdns) != nil {
		var one string
		if json.Unmarshal(req.MSISDN, &one) == nil {
			msisdns = splitList(one)
		}
	}
	if len(msisdns) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "msisdn is required"})
		return
	}
	p := req.Status
	if !validProfile(p) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "status must be one of PRIVATE, PROFESSIONAL, ON_DUTY"})
		return
	}
	if len(msisdns) == 1 {
		writeJSON(w, http.StatusOK, s.fmuChange(msisdns[0], p))
		return
	}
	target, ok := s.fmuTarget(w, msisdns, req.CallbackURL)
	if !ok {
		return
	}
	results := make([]map[string]any, 0, len(msisdns))
	for _, n := range msisdns {
		results = append(results, s.fmuChange(n, p))
	}
	if s.inReply() {
		writeJSON(w, http.StatusOK, results)
		return
	}
	s.answer(w, http.StatusAccepted, map[string]string{"message": "Request accepted"},
		[]outgoing{newOutgoing("fmu", target, nil, results)})
}

func (s *Sandbox) fmuChange(msisdn, p string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.fmu[msisdn]; !ok {
		return map[string]any{"msisdn": msisdn, "success": false, "error": fmuNotFound}
	}
	s.fmu[msisdn] = p
	return map[string]any{"msisdn": msisdn, "success": true}
}

// handleFMURegister sets the default callback URL; EnCo answers without a
// payload.
func (s *Sandbox) handleFMURegister(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		URL string `json:"url"`
	}
	if !decodeBody(w, body, &req, "error") {
		return
	}
	if !absoluteURL(req.URL) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "url must be an absolute http(s) URL"})
		return
	}
	s.mu.Lock()
	s.fmuCallbackURL = req.URL
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// SetFMUAnswerInReply makes the sandbox answer FMU requests for several
// numbers in its reply, as it answers one number, and send no callback: a
// gateway that behaves so must not lose the results.
func (s *Sandbox) SetFMUAnswerInReply(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fmuInReply = on
}

func (s *Sandbox) inReply() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fmuInReply
}

// SetFMU sets (or adds) the profile of msisdn (ProfilePrivate, ...).
func (s *Sandbox) SetFMU(msisdn, p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fmu[msisdn] = p
}

// FMU returns the profile of msisdn, false if FMU does not know it.
func (s *Sandbox) FMU(msisdn string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.fmu[msisdn]
	return p, ok
}

// FMUNumbers returns the numbers FMU knows, in order.
func (s *Sandbox) FMUNumbers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.fmu)
}

// FMUCallbackURL returns the URL set with register_callback.
func (s *Sandbox) FMUCallbackURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fmuCallbackURL
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
