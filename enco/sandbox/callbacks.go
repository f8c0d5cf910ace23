package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Callback is one callback the sandbox sent, gave up on, or dropped.
type Callback struct {
	// Kind is "fmu", "m2m" or "voice".
	Kind string
	URL  string
	// Header is what was sent: Content-Type, and for M2M the configured
	// headers and x-callback-token.
	Header http.Header
	Body   []byte
	// Attempts counts the POSTs made (0 when dropped or without a URL).
	Attempts int
	// StatusCode is the receiver's last answer, 0 if it never answered.
	StatusCode int
	// Err is the last failure to reach the receiver, "" if it answered.
	Err string
	// Dropped is set when SetDropCallbacks kept the callback from being
	// sent.
	Dropped bool
}

// Delivered reports whether the receiver accepted the callback with a 2xx.
func (c Callback) Delivered() bool {
	return c.StatusCode >= 200 && c.StatusCode <= 299
}

// outgoing is a callback to send.
type outgoing struct {
	kind   string
	url    string
	header http.Header
	body   []byte
}

func newOutgoing(kind, url string, header http.Header, v any) outgoing {
	body, _ := json.Marshal(v)
	h := header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "EnCo-Sandbox-Callback/1.0")
	return outgoing{kind: kind, url: url, header: h, body: body}
}

// answer replies to a request that causes callbacks, sending them before
// the reply when SetCallbackBeforeResponse is on and after it otherwise.
func (s *Sandbox) answer(w http.ResponseWriter, status int, reply any, out []outgoing) {
	s.mu.Lock()
	before, dup, drop, delay, closed := s.beforeResponse, s.duplicate, s.drop, s.callbackDelay, s.closed
	if !before && !drop && !closed && len(out) > 0 {
		s.wg.Add(1)
		s.sending++
	}
	s.mu.Unlock()

	copies := 1
	if dup {
		copies = 2
	}
	var sends []outgoing
	for _, o := range out {
		for range copies {
			sends = append(sends, o)
		}
	}
	switch {
	case drop || closed:
		for _, o := range sends {
			rec := Callback{Kind: o.kind, URL: o.url, Header: o.header.Clone(), Body: o.body, Dropped: drop}
			if !drop {
				rec.Err = errClosed.Error()
			}
			s.addCallback(rec)
		}
		writeJSON(w, status, reply)
	case before:
		for _, o := range sends {
			s.deliver(o)
		}
		writeJSON(w, status, reply)
	default:
		writeJSON(w, status, reply)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if len(sends) == 0 {
			return
		}
		go func() {
			defer s.wg.Done()
			defer s.sent()
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-s.ctx.Done():
					t.Stop()
				}
			}
			for _, o := range sends {
				s.deliver(o)
			}
		}()
	}
}

// deliver posts one callback, retrying on a connection error or a 5xx, and
// records the outcome.
func (s *Sandbox) deliver(o outgoing) {
	rec := Callback{Kind: o.kind, URL: o.url, Header: o.header.Clone(), Body: o.body}
	defer func() { s.addCallback(rec) }()
	if o.url == "" {
		rec.Err = "no callback URL configured"
		return
	}
	s.mu.Lock()
	attempts, wait := s.callbackAttempts, s.callbackBackoff
	s.mu.Unlock()
	for attempt := 1; attempt <= attempts; attempt++ {
		if s.ctx.Err() != nil {
			rec.Err = errClosed.Error()
			return
		}
		rec.Attempts = attempt
		rec.StatusCode, rec.Err = s.post(o)
		if rec.Err == "" && rec.StatusCode < 500 {
			return
		}
		if attempt == attempts {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
		wait *= 2
	}
}

// post makes one delivery attempt.
func (s *Sandbox) post(o outgoing) (status int, errText string) {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(o.body))
	if err != nil {
		return 0, fmt.Sprintf("build request: %v", err)
	}
	req.Header = o.header.Clone()
	resp, err := s.cbClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, ""
}

// sent counts one answered request's callbacks as finished.
func (s *Sandbox) sent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sending--
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Sandbox) addCallback(c Callback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbacks = append(s.callbacks, c)
	close(s.changed)
	s.changed = make(chan struct{})
}

// Callbacks returns the callbacks finished so far (delivered, abandoned or
// dropped), in the order they finished.
func (s *Sandbox) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callback(nil), s.callbacks...)
}

// WaitSent waits until every callback of the requests answered so far has
// finished (delivered, abandoned or dropped), including those sent after a
// callback delay. It fails when ctx ends first.
func (s *Sandbox) WaitSent(ctx context.Context) error {
	for {
		s.mu.Lock()
		n, changed := s.sending, s.changed
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for callbacks under way: %d requests' callbacks not finished: %w", n, ctx.Err())
		}
	}
}

// WaitCallbacks waits until at least n callbacks have finished (delivered,
// abandoned or dropped) and returns all finished so far. It fails when ctx
// ends first.
func (s *Sandbox) WaitCallbacks(ctx context.Context, n int) ([]Callback, error) {
	for {
		s.mu.Lock()
		if len(s.callbacks) >= n {
			out := append([]Callback(nil), s.callbacks...)
			s.mu.Unlock()
			return out, nil
		}
		got, changed := len(s.callbacks), s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %d callbacks: %d finished: %w", n, got, ctx.Err())
		}
	}
}
