// Package enco holds typed clients for the Proximus EnCo APIs the bot uses:
// Fixed Mobile Unification profiles (fmu.go), M2M SIM cards (m2m.go), the
// voice call-out (voice.go) and FlexIO number management (numbers.go), plus
// OAuth2 access (auth.go) and decoders for the callbacks EnCo posts back
// (callbacks.go).
//
// Every call goes the same way: one request built with the caller's context
// and a per-attempt timeout, a capped response body, and any non-2xx answer
// turned into an *Error that names the operation. Reads are retried on 429,
// 5xx and network errors with exponential backoff that honours Retry-After;
// writes are never retried, because EnCo may have acted on a request whose
// answer was lost, and a read is not retried when Retry-After asks for more
// than 30 seconds. Refusals are classified for errors.Is: ErrAccessDenied
// (403), ErrThrottled (429), ErrAPIRetired (404 or 410 from the Voice
// Call-out API) and ErrCredentialsRefused. A 401 is answered by the transport from NewHTTPClient,
// which revokes the refused token, fetches a fresh one and replays the
// request once.
package enco

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard/internal/redact"
)

// DefaultBaseURL is the EnCo API gateway.
const DefaultBaseURL = "https://api.enco.io"

const (
	defaultTimeout    = 15 * time.Second
	defaultMaxRetries = 3
	// maxResponseBody caps what is read from any reply.
	maxResponseBody = 1 << 20
	// maxRetryAfter is the longest a Retry-After header makes a read wait;
	// a longer one ends the read with the 429.
	maxRetryAfter = 30 * time.Second
	backoffBase   = 200 * time.Millisecond
	backoffMax    = 5 * time.Second
)

// Client calls the EnCo APIs. Its zero value talks to DefaultBaseURL without
// credentials; set HTTPClient to a client from NewHTTPClient for OAuth2. A
// Client is safe for concurrent use once its fields are set.
type Client struct {
	// BaseURL is the API gateway; "" means DefaultBaseURL.
	BaseURL string
	// HTTPClient carries the OAuth2 transport (see NewHTTPClient); nil
	// means a plain client with Timeout.
	HTTPClient *http.Client
	// APIKey is the M2M Cockpit key, sent as x-api-key on every /m2m call.
	APIKey string
	// Timeout bounds each attempt of a call; 0 means 15s.
	Timeout time.Duration
	// MaxRetries is the number of extra attempts for reads on 429, 5xx or
	// a network error; 0 means 3 and a negative value means none.
	MaxRetries int
	// Observe, if set, is called once per attempt with the API ("fmu",
	// "m2m", "voice", "numbers"), the operation (as in Error.Op), the
	// HTTP status (0 when no reply came), the attempt's duration and its
	// error (nil for a 2xx reply). It must not block.
	Observe func(api, op string, status int, d time.Duration, err error)
}

// request describes one API call.
type request struct {
	api, op string
	method  string
	path    string // below BaseURL, already escaped
	query   url.Values
	header  http.Header
	body    any // JSON-encoded when non-nil
	// out receives the decoded JSON reply; nil ignores the body. An empty
	// 2xx body leaves out untouched.
	out any
}

// response is what a successful attempt returned.
type response struct {
	status int
	body   []byte
}

// do runs r, retrying reads, and returns the 2xx reply. Errors carry r.op
// exactly once: an *Error has it in Op, anything else is wrapped with it.
func (c *Client) do(ctx context.Context, r request) (response, error) {
	var payload []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return response{}, fmt.Errorf("%s: encode request: %w", r.op, err)
		}
		payload = b
	}
	retries := 0
	if r.method == http.MethodGet {
		retries = c.maxRetries()
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.attempt(ctx, r, payload)
		if err == nil {
			if r.out != nil && len(bytes.TrimSpace(resp.body)) > 0 {
				if err := json.Unmarshal(resp.body, r.out); err != nil {
					return resp, fmt.Errorf("%s: decode reply: %w", r.op, err)
				}
			}
			return resp, nil
		}
		if attempt >= retries || !retryable(ctx, err) {
			return resp, err
		}
		wait := backoff(attempt)
		var apiErr *Error
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			if apiErr.RetryAfter > maxRetryAfter {
				// Longer than a person waits for an answer: they are
				// told when to try again instead.
				return resp, err
			}
			wait = apiErr.RetryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return resp, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, err
		case <-t.C:
		}
	}
}

// attempt sends r once, within its own timeout, and reads the whole reply
// before that timeout is released.
func (c *Client) attempt(ctx context.Context, r request, payload []byte) (resp response, err error) {
	start := time.Now()
	defer func() {
		if c.Observe != nil {
			c.Observe(r.api, r.op, resp.status, time.Since(start), err)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()

	u := strings.TrimRight(c.baseURL(), "/") + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return resp, fmt.Errorf("%s: %w", r.op, err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.httpClient().Do(req)
	var apiErr *Error
	if errors.As(err, &apiErr) && errors.Is(apiErr, ErrCredentialsRefused) {
		// A 401 the transport could not cure: final, and reported as the
		// API's answer rather than as a network error (which is retried).
		apiErr.Op, apiErr.API = r.op, r.api
		resp.status = apiErr.StatusCode
		return resp, apiErr
	}
	if err != nil {
		// The URL may carry a callback URL with its token (FMU's
		// callback_url): the error names the host only.
		return resp, fmt.Errorf("%s: %w", r.op, redact.URLs(err))
	}
	defer res.Body.Close()
	resp.status = res.StatusCode
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBody+1))
	if err != nil {
		return resp, fmt.Errorf("%s: read reply: %w", r.op, err)
	}
	if len(data) > maxResponseBody {
		return resp, fmt.Errorf("%s: reply larger than %d bytes", r.op, maxResponseBody)
	}
	resp.body = data
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := newError(r.op, res.StatusCode, res.Header, data, time.Now())
		e.classify(r.api)
		return resp, e
	}
	return resp, nil
}

// retryable reports whether a failed read is worth another attempt: the
// caller's context is still live and the failure was a 429, a 5xx or a
// network error (which includes the attempt's own timeout).
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr)
}

// backoff is the wait before retry number attempt+1: exponential from
// backoffBase, capped at backoffMax, with "equal jitter" so that replicas
// retrying together spread out.
func backoff(attempt int) time.Duration {
	d := backoffMax
	if attempt < 10 {
		d = min(backoffBase<<attempt, backoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) baseURL() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return c.BaseURL
}

func (c *Client) timeout() time.Duration {
	if c.Timeout <= 0 {
		return defaultTimeout
	}
	return c.Timeout
}

func (c *Client) maxRetries() int {
	switch {
	case c.MaxRetries < 0:
		return 0
	case c.MaxRetries == 0:
		return defaultMaxRetries
	}
	return c.MaxRetries
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: c.timeout(), CheckRedirect: sameHostRedirects}
}

// sameHostRedirects follows at most five redirects and never to another
// host, so that credentials added by a transport do not travel elsewhere.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 || req.URL.Host != via[0].URL.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

// ErrInvalidRequest is wrapped by the errors of calls refused before any
// network call because an argument is missing or malformed.
var ErrInvalidRequest = errors.New("invalid request")

// invalid reports a request refused before any network call.
func invalid(op, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", op, ErrInvalidRequest, fmt.Sprintf(format, args...))
}
