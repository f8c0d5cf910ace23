// Package sandbox is the EnCo sandbox: a faithful fake of the four EnCo
// APIs the bot uses (FMU, M2M, voice call-out, FlexIO number management) and
// of the gateway's OAuth2 token and revoke endpoints, served over real HTTP,
// with the asynchronous callbacks EnCo sends. Tests start one with New; the
// sandbox command and the bot's console mode start one on a real address
// with Start.
//
// The sandbox states the documentation's rules itself (api-docs/): it does
// not import the bot's client package, so that a mistake in the client
// cannot hide in the fake too. The contract tests in package enco run the
// client against it with the documentation's own samples.
//
// # Access
//
// POST /token takes grant_type=client_credentials with client_id and
// client_secret as form or query parameters (or HTTP Basic) and, as EnCo
// keeps one active token per application, hands out the same access token
// until it expires (one hour by default) or is revoked, then a new one. POST
// /revoke takes the form token, client_id and client_secret. Every API path
// wants "Authorization: Bearer <token>" with that token or the permanent
// token, else 401 with the gateway's fault 900901 (RefuseToken and
// RefusePermanentToken make it refuse them); every /m2m path also wants the
// right x-api-key, else 403 with fault 900908. Every API path takes the query
// parameters its documentation names and no other (400 otherwise): SIM cards
// are looked up by msisdn only. The default credentials are DefaultClientID,
// DefaultClientSecret, DefaultAPIKey and DefaultPermanentToken.
//
// # Demo data
//
// Every sandbox starts with the same data:
//
//   - Twelve M2M SIM cards, number i = 1..12: MSISDN 32471 then i on six
//     digits (32471000001), IMSI 206010 then i on nine digits
//     (206010000000001), ICCID 893201 then i on thirteen digits (19 digits,
//     8932010000000000001) for i <= 6 and 8932010 then i on thirteen digits
//     (20 digits) above. Their states, in order: Active, Active,
//     Deactivated, Ready, Active, Deactivated, Ready, Active, Terminated,
//     Active, Ready, Deactivated.
//   - Ten FMU numbers 32470000001..32470000010 with profiles PRIVATE,
//     PROFESSIONAL, ON_DUTY, PRIVATE, PROFESSIONAL, PROFESSIONAL, ON_DUTY,
//     PRIVATE, PROFESSIONAL, PRIVATE. Any other number is unknown to FMU.
//   - Twenty available FlexIO numbers: zone 02 3222060742, 3222060744,
//     3222060745, 3222060746, 3222060747 and premium 3222222222; zone 03
//     3232010001..3232010004 and premium 3233333333; zone 09
//     3292010001..3292010003 and premium 3299999999; mobile
//     32460000101..32460000104 and premium 32466666666 (mobiles support SMS).
//     The account already holds 3228160257 (fixed, zone 02).
//   - Three CDRs from origin 3228160257, one, two and three hours before the
//     start: session 61146645 (origin not found), 61168475 (busy) and
//     61170001 (answered, 95 s).
//
// # Behaviour
//
// M2M requests change SIM states as M2M Cockpit does (activation
// Ready->Active, deactivation Active->Deactivated, reactivation
// Deactivated->Active, termination any->Terminated) and post one callback
// per device to the URL set with /configure/callback, with the configured
// headers and the request's x-callback-token, naming the device by ICCID. An
// unknown device or a transition that does not apply yields resultStatus
// "Failed" with a message. An FMU request for one number is answered in the
// reply, callback_url or not, as the documentation's one-number samples
// show; a request for 2 to 50 numbers is asynchronous: one callback per
// request carries an array of results (SetFMUAnswerInReply answers those in
// the reply instead). A call's outcome depends on the last digit of its destination:
// 0 busy ("Leg2-486-Busy Here"), 9 no answer ("Leg2-480-No Answer"), 8 the
// origin is not reached ("Leg1-404-NotFound received"), any other answered
// for 20 s plus the last two digits in seconds; its CDR is listed by GET
// /cdr at once and posted to the call's callback URL. Reserving a number
// needs addressInZoneConfirmed=true; releasing one freezes it for 15 days, by
// the sandbox's clock (see SetNow and Advance).
//
// On demand the sandbox answers as EnCo does when things go wrong: FailNext
// makes the next calls fail with a status (403 for a refused subscription,
// 429 with Retry-After for throttling, 5xx), RetireVoice makes the Voice
// Call-out API answer 404 or 410 as a retired API would, and ReserveInstead
// makes a reservation take another number than the one its filter names.
//
// Callbacks are sent with the sandbox's own HTTP client and retried on a
// connection error or a 5xx answer (three attempts by default, see
// WithCallbackRetries); other answers are final. Each delivery, successful,
// abandoned or dropped, is recorded as a Callback.
package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default credentials of a sandbox.
const (
	DefaultClientID       = "sandbox-client"
	DefaultClientSecret   = "sandbox-secret"
	DefaultAPIKey         = "sandbox-m2m-key"
	DefaultPermanentToken = "sandbox-permanent-token"
)

// vcaPrefix is the path of the Voice Call-out API.
const vcaPrefix = "/vca/1.0.0/"

// maxRequestBody caps what the sandbox reads of a request.
const maxRequestBody = 1 << 20

// Sandbox is a running EnCo fake. Its exported fields are set when it starts
// and must not be changed; behaviour is adjusted with its methods, which are
// safe to call while requests are served.
type Sandbox struct {
	// URL is the base URL of the APIs, and URL+"/token" the token URL.
	URL string
	// ClientID and ClientSecret are the OAuth2 client credentials.
	ClientID, ClientSecret string
	// APIKey is the M2M Cockpit key expected in x-api-key.
	APIKey string
	// PermanentToken is accepted as a bearer token and never expires.
	PermanentToken string

	srv       *http.Server // when made by Start
	serveDone chan struct{}
	transport *http.Transport // of Client()
	cbClient  *http.Client
	ctx       context.Context // canceled by Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup // callback deliveries
	closeOnce sync.Once

	mu      sync.Mutex
	closed  bool
	changed chan struct{} // closed and replaced when a callback is recorded or sending changes
	sending int           // answered requests whose callbacks are still to finish

	clock  func() time.Time
	offset time.Duration

	tokenTTL      time.Duration
	token         string
	tokenExpiry   time.Time
	tokenSeq      int
	tokenRequests int
	revokes       int
	// tokenRefused and permanentRefused make the APIs refuse those
	// tokens (see RefuseToken and RefusePermanentToken).
	tokenRefused, permanentRefused bool

	responseDelay    time.Duration
	callbackDelay    time.Duration
	failCount        int
	failStatus       int
	retryAfter       time.Duration
	beforeResponse   bool
	duplicate        bool
	drop             bool
	callbackAttempts int
	callbackBackoff  time.Duration

	sims           []*SIM
	fmu            map[string]string
	fmuCallbackURL string
	fmuInReply     bool
	m2mCallbackURL string
	m2mHeaders     map[string]string
	numbers        map[string]*number
	cdrs           []CDR
	seq            int

	requests  []Request
	callbacks []Callback

	// voiceGone is the status every Voice Call-out request answers with
	// (404 or 410) once the API is retired; 0 while it serves.
	voiceGone int
	// reserveInstead maps a reservation's filter to the number the
	// sandbox reserves for it instead (see ReserveInstead).
	reserveInstead map[string]string
}

// Option adjusts a sandbox before it starts.
type Option func(*Sandbox)

// WithClock sets the sandbox's clock (default time.Now). It drives token
// expiry, number freezes and CDR times.
func WithClock(now func() time.Time) Option {
	return func(s *Sandbox) { s.clock = now }
}

// WithTokenTTL sets how long an access token lives (default one hour).
func WithTokenTTL(d time.Duration) Option {
	return func(s *Sandbox) { s.tokenTTL = d }
}

// WithCallbackDelay sets how long after answering a request its callbacks
// are sent (default 0).
func WithCallbackDelay(d time.Duration) Option {
	return func(s *Sandbox) { s.callbackDelay = d }
}

// WithCallbackRetries sets how many times a callback is attempted in all and
// the wait before the first retry, doubled each time (default 3 and 50ms).
func WithCallbackRetries(attempts int, backoff time.Duration) Option {
	return func(s *Sandbox) { s.callbackAttempts, s.callbackBackoff = max(1, attempts), backoff }
}

// WithCredentials replaces the default credentials.
func WithCredentials(clientID, clientSecret, apiKey, permanentToken string) Option {
	return func(s *Sandbox) {
		s.ClientID, s.ClientSecret, s.APIKey, s.PermanentToken = clientID, clientSecret, apiKey, permanentToken
	}
}

func newSandbox(opts []Option) *Sandbox {
	ctx, cancel := context.WithCancel(context.Background())
	cbTransport := http.DefaultTransport.(*http.Transport).Clone()
	s := &Sandbox{
		ClientID:         DefaultClientID,
		ClientSecret:     DefaultClientSecret,
		APIKey:           DefaultAPIKey,
		PermanentToken:   DefaultPermanentToken,
		transport:        http.DefaultTransport.(*http.Transport).Clone(),
		ctx:              ctx,
		cancel:           cancel,
		changed:          make(chan struct{}),
		clock:            time.Now,
		tokenTTL:         time.Hour,
		retryAfter:       time.Second,
		callbackAttempts: 3,
		callbackBackoff:  50 * time.Millisecond,
		cbClient: &http.Client{
			Transport:     cbTransport,
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	for _, o := range opts {
		o(s)
	}
	s.seed()
	return s
}

// TB is what New needs of a test (a *testing.T is one): the sandbox is
// part of the bot's binary, which does not link package testing.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// New starts a sandbox on a port of its own on 127.0.0.1 for a test. The
// test's cleanup closes it and waits for callbacks under way.
func New(t TB, opts ...Option) *Sandbox {
	t.Helper()
	s, err := Start("127.0.0.1:0", opts...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a sandbox listening on addr (such as "127.0.0.1:8090", or
// port 0 for any free port); URL reports the address bound. Close stops it.
func Start(addr string, opts ...Option) (*Sandbox, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("enco sandbox: listen: %w", err)
	}
	s := newSandbox(opts)
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	s.serveDone = make(chan struct{})
	go func() {
		defer close(s.serveDone)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server, abandons callbacks not yet sent and waits for
// those under way. It may be called more than once.
func (s *Sandbox) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		if s.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.srv.Shutdown(ctx); err != nil {
				s.srv.Close()
			}
			cancel()
			<-s.serveDone
		}
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.wg.Wait()
		s.transport.CloseIdleConnections()
		s.cbClient.CloseIdleConnections()
	})
}

// HTTPClient returns a client for the sandbox's URL, without credentials;
// its connections are closed with the sandbox.
func (s *Sandbox) HTTPClient() *http.Client {
	return &http.Client{Transport: s.transport, Timeout: 10 * time.Second}
}

// now is the sandbox's clock; s.mu must be held.
func (s *Sandbox) now() time.Time {
	return s.clock().Add(s.offset)
}

// SetNow replaces the sandbox's clock.
func (s *Sandbox) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock, s.offset = now, 0
}

// Advance moves the sandbox's clock forward by d.
func (s *Sandbox) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// Now reads the sandbox's clock.
func (s *Sandbox) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// SetResponseDelay delays every API answer (not the token endpoint's) by d.
// The request is still carried out after the delay, as a slow backend would,
// even if the caller gave up.
func (s *Sandbox) SetResponseDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responseDelay = d
}

// SetCallbackDelay sets how long after answering a request its callbacks
// are sent.
func (s *Sandbox) SetCallbackDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbackDelay = d
}

// FailNext makes the next n API calls (not token requests) answer status
// with a gateway fault envelope, without doing anything. A 429 carries a
// Retry-After header (see SetRetryAfter).
func (s *Sandbox) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCount, s.failStatus = n, status
}

// SetRetryAfter sets the Retry-After of the 429 answers from FailNext,
// rounded up to whole seconds (default 1s).
func (s *Sandbox) SetRetryAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = d
}

// SetCallbackBeforeResponse makes the sandbox deliver a request's callbacks
// before it answers that request.
func (s *Sandbox) SetCallbackBeforeResponse(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeResponse = on
}

// SetDuplicateCallbacks makes the sandbox send every callback twice.
func (s *Sandbox) SetDuplicateCallbacks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.duplicate = on
}

// SetDropCallbacks makes the sandbox send no callbacks; each one it would
// have sent is recorded with Dropped set.
func (s *Sandbox) SetDropCallbacks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop = on
}

// Request is one request the sandbox received. Client secrets are replaced
// by "REDACTED".
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Header holds Authorization, X-Api-Key, X-Callback-Token,
	// Content-Type and Accept when present.
	Header http.Header
	Body   []byte
}

var recordedHeaders = []string{"Authorization", "X-Api-Key", "X-Callback-Token", "Content-Type", "Accept"}

// Requests returns the requests received so far, oldest first.
func (s *Sandbox) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// APIRequests returns the requests received so far other than token
// requests, oldest first.
func (s *Sandbox) APIRequests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Path != "/token" && r.Path != "/revoke" {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the requests received so far.
func (s *Sandbox) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *Sandbox) record(r *http.Request, body []byte) {
	q := cloneValues(r.URL.Query())
	if r.URL.Path == "/token" || r.URL.Path == "/revoke" {
		if q.Has("client_secret") {
			q.Set("client_secret", "REDACTED")
		}
		if form, err := url.ParseQuery(string(body)); err == nil && form.Has("client_secret") {
			form.Set("client_secret", "REDACTED")
			body = []byte(form.Encode())
		}
	}
	h := make(http.Header)
	for _, k := range recordedHeaders {
		if v := r.Header.Values(k); len(v) > 0 {
			h[k] = append([]string(nil), v...)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: q, Header: h, Body: append([]byte(nil), body...),
	})
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// handler routes the token endpoint and the four APIs.
func (s *Sandbox) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.handleToken)
	mux.HandleFunc("POST /revoke", s.handleRevoke)

	// Each API path takes the query parameters its documentation names,
	// and no other: a client that sends more relies on something EnCo
	// never promised.
	mux.Handle("GET /fmu/1.0.0/status", s.api(false, []string{"msisdn", "callback_url"}, s.handleFMUGet))
	mux.Handle("PUT /fmu/1.0.0/status", s.api(false, nil, s.handleFMUPut))
	mux.Handle("POST /fmu/1.0.0/register_callback", s.api(false, nil, s.handleFMURegister))

	mux.Handle("GET /m2m/1.0.0/simcards", s.api(true, []string{"msisdn"}, s.handleSIMCards))
	mux.Handle("POST /m2m/1.0.0/configure/callback", s.api(true, nil, s.handleM2MConfigure))
	mux.Handle("POST /m2m/1.0.0/requests/{action}", s.api(true, nil, s.handleM2MRequest))

	mux.Handle("POST "+vcaPrefix+"call", s.api(false, nil, s.handleCall))
	mux.Handle("GET "+vcaPrefix+"cdr", s.api(false, []string{"from", "till", "page", "limit"}, s.handleCDR))

	mux.Handle("GET /cpaas-mgmt/1.0.0/phonenumbers/available", s.api(false, []string{"zone", "type", "priceTier"}, s.handleAvailable))
	mux.Handle("GET /cpaas-mgmt/1.0.0/phonenumbers", s.api(false, nil, s.handleHeld))
	mux.Handle("POST /cpaas-mgmt/1.0.0/phonenumbers", s.api(false, []string{"addressInZoneConfirmed"}, s.handleReserve))
	mux.Handle("DELETE /cpaas-mgmt/1.0.0/phonenumbers/{number}", s.api(false, nil, s.handleRelease))

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeFault(w, http.StatusNotFound, 404, "No matching resource found for given API Request",
			"The requested resource "+r.URL.Path+" is not available.")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": "request body too large"})
			return
		}
		s.record(r, body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		mux.ServeHTTP(w, r)
	})
}

// api wraps an API handler with the gateway's behaviour: the response
// delay, injected failures, the bearer token check and, for M2M, the API
// key check; then it refuses a query parameter outside params, the ones
// the documentation names for that path.
func (s *Sandbox) api(m2m bool, params []string, h func(http.ResponseWriter, *http.Request, []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		delay := s.responseDelay
		s.mu.Unlock()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				writeFault(w, http.StatusServiceUnavailable, 101503, "Runtime Error", "The sandbox is shutting down.")
				return
			}
		}
		if gone := s.voiceGoneStatus(r.URL.Path); gone != 0 {
			code, msg := gone, "No matching resource found for given API Request"
			if gone == http.StatusGone {
				msg = "Gone"
			}
			writeFault(w, gone, code, msg, "The requested resource "+r.URL.Path+" is not available.")
			return
		}
		if status, retryAfter, ok := s.takeFailure(); ok {
			if status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
			}
			code, msg := gatewayFault(status)
			writeFault(w, status, code, msg, "Failure injected by the sandbox.")
			return
		}
		if !s.authorized(r) {
			writeFault(w, http.StatusUnauthorized, 900901, "Invalid Credentials",
				"Access failure for API: "+apiContext(r.URL.Path)+", version: 1.0.0 status: (900901) - Invalid Credentials. Make sure you have provided the correct security credentials")
			return
		}
		if m2m && r.Header.Get("x-api-key") != s.APIKey {
			writeFault(w, http.StatusForbidden, 900908, "Resource forbidden", "A valid x-api-key header is required for the M2M API.")
			return
		}
		for k := range r.URL.Query() {
			if !slices.Contains(params, k) {
				writeJSON(w, http.StatusBadRequest, map[string]string{"message": fmt.Sprintf("unknown query parameter %q", k)})
				return
			}
		}
		body, _ := io.ReadAll(r.Body)
		h(w, r, body)
	})
}

// RetireVoice makes the Voice Call-out API answer every request with
// status, 404 (what the gateway answers for an API it no longer has) or 410
// (Gone), as EnCo would once it retires the API ("TelcoRetired" on its
// documentation page); 0 serves it again.
func (s *Sandbox) RetireVoice(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.voiceGone = status
}

func (s *Sandbox) voiceGoneStatus(path string) int {
	if !strings.HasPrefix(path, vcaPrefix) {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.voiceGone
}

// ReserveInstead makes a reservation whose filter is asked reserve given
// instead, when given is available, as EnCo may: the documented body names
// the wanted number in a filter, and EnCo answers with the number it
// reserved.
func (s *Sandbox) ReserveInstead(asked, given string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reserveInstead == nil {
		s.reserveInstead = map[string]string{}
	}
	s.reserveInstead[asked] = given
}

func (s *Sandbox) takeFailure() (status int, retryAfter time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failCount <= 0 {
		return 0, 0, false
	}
	s.failCount--
	return s.failStatus, s.retryAfter, true
}

func gatewayFault(status int) (code int, message string) {
	switch {
	case status == http.StatusUnauthorized:
		return 900901, "Invalid Credentials"
	case status == http.StatusForbidden:
		return 900908, "Resource forbidden"
	case status == http.StatusTooManyRequests:
		return 900800, "Message throttled out"
	case status >= 500:
		return 101503, "Error connecting to the back end"
	}
	return status, http.StatusText(status)
}

// apiContext is the API's context path, as the gateway names it in faults.
func apiContext(path string) string {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	if len(parts) < 2 {
		return path
	}
	return "/" + parts[0] + "/" + parts[1]
}

// writeJSON answers status with v as JSON; a nil v is an empty body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	if v == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeFault(w http.ResponseWriter, status, code int, message, description string) {
	writeJSON(w, status, map[string]any{"fault": map[string]any{
		"code": code, "message": message, "description": description,
	}})
}

// decodeBody decodes a JSON request body into v, answering 400 with
// message field errField on failure.
func decodeBody(w http.ResponseWriter, body []byte, v any, errField string) bool {
	if err := json.Unmarshal(body, v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{errField: "malformed JSON body: " + err.Error()})
		return false
	}
	return true
}

// absoluteURL reports whether raw is an absolute http(s) URL.
func absoluteURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// nextSeq returns a fresh sequence number; s.mu must be held.
func (s *Sandbox) nextSeq() int {
	s.seq++
	return s.seq
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var errClosed = errors.New("sandbox closed")
