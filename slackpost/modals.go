package slackpost

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	neturl "net/url"
	"strings"

	"github.com/slack-go/slack"
)

// OpenView opens a modal with an interaction's trigger_id (views.open)
// and returns the view's id.
func (s *SlackAPI) OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) (string, error) {
	v, err := s.Client.OpenViewContext(ctx, triggerID, view)
	if err != nil {
		return "", fmt.Errorf("views.open: %w", withDetails(err, v))
	}
	return v.ID, nil
}

// UpdateView replaces an open modal (views.update); hash, when set, makes
// Slack refuse the update if the view changed since.
func (s *SlackAPI) UpdateView(ctx context.Context, viewID, hash string, view slack.ModalViewRequest) error {
	v, err := s.Client.UpdateViewContext(ctx, view, "", hash, viewID)
	if err != nil {
		return fmt.Errorf("views.update: %w", withDetails(err, v))
	}
	return nil
}

// withDetails adds what Slack said about a refused view (response_metadata
// messages, such as which block is wrong) to its error.
func withDetails(err error, v *slack.ViewResponse) error {
	if v == nil || len(v.ResponseMetadata.Messages) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(v.ResponseMetadata.Messages, "; "))
}

// ErrFileGone reports a file Slack no longer has (deleted, or never shared
// with the bot).
var ErrFileGone = errors.New("the file is gone")

// ErrFileTooLarge reports a file over the size asked for.
var ErrFileTooLarge = errors.New("the file is too large")

// SharedFile is a file a person gave the bot, as read.
type SharedFile struct {
	Name    string
	Content []byte
}

// DownloadFile reads a file a person shared (a modal's file_input) with
// the bot token: files.info for its download URL, then the file itself.
// A file over max bytes is refused with ErrFileTooLarge without reading
// more than max+1 bytes; a file that is gone gives ErrFileGone.
func (s *SlackAPI) DownloadFile(ctx context.Context, fileID string, max int64) (SharedFile, error) {
	f, _, _, err := s.Client.GetFileInfoContext(ctx, fileID, 0, 0)
	if err != nil {
		if code := SlackErrorCode(err); code == "file_not_found" || code == "file_deleted" {
			return SharedFile{}, ErrFileGone
		}
		return SharedFile{}, fmt.Errorf("files.info: %w", err)
	}
	if int64(f.Size) > max {
		return SharedFile{}, ErrFileTooLarge
	}
	url := cmp.Or(f.URLPrivateDownload, f.URLPrivate)
	if url == "" {
		return SharedFile{}, ErrFileGone
	}
	if !s.slackHost(url) {
		return SharedFile{}, fmt.Errorf("download file: %q is not on Slack, so the bot token is not sent there", url)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return SharedFile{}, fmt.Errorf("download file: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	client := s.HTTPClient
	if client == nil {
		client = defaultResponseClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return SharedFile{}, fmt.Errorf("download file: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return SharedFile{}, ErrFileGone
	case resp.StatusCode != http.StatusOK:
		return SharedFile{}, fmt.Errorf("download file: HTTP %d", resp.StatusCode)
	}
	// Without the files:read scope Slack answers its sign-in page.
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" {
		return SharedFile{}, errors.New("download file: Slack answered a web page, not the file (is the files:read scope missing?)")
	}
	content, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return SharedFile{}, fmt.Errorf("download file: %w", err)
	}
	if int64(len(content)) > max {
		return SharedFile{}, ErrFileTooLarge
	}
	return SharedFile{Name: f.Name, Content: content}, nil
}

// slackHost reports whether raw is a place the bot token may go: Slack's
// own hosts over HTTPS, or the host of the Web API the bot is set up with.
func (s *SlackAPI) slackHost(raw string) bool {
	u, err := neturl.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if api, err := neturl.Parse(s.APIURL); err == nil && api.Host != "" && u.Host == api.Host && u.Scheme == api.Scheme {
		return true
	}
	host := u.Hostname()
	return u.Scheme == "https" && (host == "slack.com" || strings.HasSuffix(host, ".slack.com") || strings.HasSuffix(host, ".slack-gov.com"))
}
