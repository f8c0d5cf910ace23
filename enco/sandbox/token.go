package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// handleToken is the gateway's OAuth2 token endpoint: client credentials
// only, one active token per application, handed back until it expires.
func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "malformed form"})
		return
	}
	if gt := r.Form.Get("grant_type"); gt != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error": "unsupported_grant_type", "error_description": fmt.Sprintf("grant type %q is not supported", gt),
		})
		return
	}
	if !s.clientAuthorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "invalid_client", "error_description": "A valid OAuth client could not be found for the client id and secret given",
		})
		return
	}
	s.mu.Lock()
	now := s.now()
	// A token with under a second left is replaced rather than handed out
	// with expires_in 0, which clients read as "never expires".
	if s.token == "" || s.tokenExpiry.Sub(now) < time.Second {
		s.tokenSeq++
		s.token = fmt.Sprintf("sbx-%d-%s", s.tokenSeq, randomHex(12))
		s.tokenExpiry = now.Add(s.tokenTTL)
	}
	reply := map[string]any{
		"access_token": s.token,
		"token_type":   "Bearer",
		"expires_in":   int(s.tokenExpiry.Sub(now) / time.Second),
		"scope":        "openid",
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, reply)
}

// handleRevoke revokes the active token, as EnCo's /revoke does.
func (s *Sandbox) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !s.clientAuthorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	s.mu.Lock()
	s.revokes++
	if tok := r.Form.Get("token"); tok != "" && tok == s.token {
		s.token = ""
		s.tokenRefused = false
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// clientAuthorized checks the client credentials given as form or query
// parameters or with HTTP Basic.
func (s *Sandbox) clientAuthorized(r *http.Request) bool {
	id, secret := r.Form.Get("client_id"), r.Form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	return id == s.ClientID && secret == s.ClientSecret
}

// authorized checks the bearer token of an API request.
func (s *Sandbox) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == s.PermanentToken {
		return !s.permanentRefused
	}
	return tok == s.token && !s.tokenRefused && s.now().Before(s.tokenExpiry)
}

// ExpireToken ends the active token's life now: API calls with it get 401
// and the next token request gets a new token.
func (s *Sandbox) ExpireToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenExpiry = s.now()
}

// RefuseToken makes the APIs refuse the active access token with 401 while
// the token endpoint keeps handing it back, as EnCo does with a token the
// gateway no longer accepts: only revoking it brings a new one.
func (s *Sandbox) RefuseToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenRefused = true
}

// RefusePermanentToken makes the APIs refuse the permanent token, as after
// it was deleted on the EnCo dashboard.
func (s *Sandbox) RefusePermanentToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.permanentRefused = true
}

// RevokeRequests counts the requests made to the revoke endpoint.
func (s *Sandbox) RevokeRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokes
}

// AccessToken returns the active access token, "" if none was issued or it
// was revoked.
func (s *Sandbox) AccessToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// TokenRequests counts the requests made to the token endpoint.
func (s *Sandbox) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
