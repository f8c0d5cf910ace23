package enco_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
)

// testContext is the test's context with a deadline well inside the test
// timeout.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newSandbox starts a sandbox and a client for it with short timeouts.
func newSandbox(t *testing.T, opts ...sandbox.Option) (*sandbox.Sandbox, *enco.Client) {
	t.Helper()
	sb := sandbox.New(t, opts...)
	hc := sb.HTTPClient()
	ts := enco.NewTokenSource(context.Background(), sb.URL+"/token", sb.ClientID, sb.ClientSecret, hc)
	c := &enco.Client{BaseURL: sb.URL, HTTPClient: enco.NewHTTPClient(ts, hc.Transport), APIKey: sb.APIKey, Timeout: 3 * time.Second}
	return sb, c
}

// post is one callback a receiver got.
type post struct {
	header http.Header
	body   []byte
}

// receiver is a callback endpoint that hands every POST it gets to a
// channel and answers 200.
type receiver struct {
	URL   string
	posts chan post
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{posts: make(chan post, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.posts <- post{header: req.Header.Clone(), body: body}
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// wait returns the next n posts, failing the test if they do not come
// within a few seconds.
func (r *receiver) wait(t *testing.T, n int) []post {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	var got []post
	for len(got) < n {
		select {
		case p := <-r.posts:
			got = append(got, p)
		case <-deadline.C:
			t.Fatalf("got %d callbacks, want %d", len(got), n)
		}
	}
	return got
}

// observer records the attempts a client reports.
type observer struct {
	mu       sync.Mutex
	statuses []int
	ops      []string
}

func (o *observer) observe(api, op string, status int, _ time.Duration, _ error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.statuses = append(o.statuses, status)
	o.ops = append(o.ops, api+"/"+op)
}

func (o *observer) got() ([]int, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.statuses...), append([]string(nil), o.ops...)
}
