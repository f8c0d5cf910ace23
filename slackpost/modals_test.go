package slackpost

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/slack-go/slack"
)

// TestDownloadFileKeepsTheTokenOnSlack: files.info names where to read the
// file; the bot token goes with the download only when that is Slack's own
// host, never to another one.
func TestDownloadFileKeepsTheTokenOnSlack(t *testing.T) {
	var sawToken atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			sawToken.Store(true)
		}
		_, _ = w.Write([]byte("0471000001\n"))
	}))
	defer elsewhere.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "file": map[string]any{
			"id": "F0EVIL", "name": "cards.csv", "size": 11, "url_private_download": elsewhere.URL + "/cards.csv",
		}})
	}))
	defer api.Close()
	s := &SlackAPI{Client: slack.New("xoxb-secret", slack.OptionAPIURL(api.URL+"/")), APIURL: api.URL + "/", Token: "xoxb-secret"}
	if _, err := s.DownloadFile(context.Background(), "F0EVIL", 1<<20); err == nil {
		t.Error("a file served from another host was read, want it refused")
	}
	if sawToken.Load() {
		t.Error("the bot token was sent to a host that is not Slack's")
	}
}
