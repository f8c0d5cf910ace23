// Package slacktest is a fake Slack for end-to-end tests.
//
// A Server is a real HTTP server on loopback. It speaks the parts of the Slack
// Web API the bot uses (form or JSON bodies, bearer or form tokens) and Slack's
// socket-mode websocket protocol, so the bot under test runs its production
// slack-go client against it:
//
//	fake := slacktest.New(t)
//	api := slack.New(fake.BotToken, slack.OptionAPIURL(fake.URL), slack.OptionAppLevelToken(fake.AppToken))
//	client := socketmode.New(api)
//
// Tests push work to the bot the way Slack does (SlashCommand, BlockAction,
// EventCallback, AppHomeOpened, FunctionExecuted deliver an envelope to one connected socket and wait for its
// ack), read back what the bot did (Calls, Messages, Thread, ResponseURLPosts,
// Files, DirectMessages, PublishedViews, FunctionCompletions), wait for it without sleeping (WaitFor), and make Slack misbehave
// (RateLimit, FailNext, PacePerChannel, NotInChannel, Hold, Disconnect,
// DropConnections), or refresh sockets as Slack does (SetRefresh,
// SetMaxConnections, SetStrictDispatch, SetConnectLatency) and count what it
// cost (DispatchFailures, LongestGap, Refreshes, PeakConnections,
// TooManyWebsockets), and answer missing_scope as Slack does for a scope the
// app was not granted (GrantScopes). Every method is safe for concurrent use.
package slacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// Names under which calls that are not Web API methods are recorded; Calls,
// RateLimit and FailNext accept them like method names.
const (
	// MethodResponseURL names a POST to a response URL minted by the fake.
	MethodResponseURL = "response_url"
	// MethodFileUpload names the upload of file content to the URL returned by
	// files.getUploadURLExternal.
	MethodFileUpload = "file_upload"
	// MethodFileDownload names a GET of a shared file's private URL.
	MethodFileDownload = "file_download"
)

// DefaultPingInterval is how often the fake pings each socket unless
// SetPingInterval says otherwise. slack-go reconnects when no ping arrives for
// 30 s by default, so any shorter interval keeps connections alive.
const DefaultPingInterval = time.Second

// Server is a fake Slack workspace with one app installed. The exported fields
// are set by New and must not be changed.
type Server struct {
	// URL is the Web API base URL, ending with "/", for slack.OptionAPIURL.
	URL string
	// BotToken is the only token (xoxb-) the Web API methods accept.
	BotToken string
	// AppToken is the only token (xapp-) apps.connections.open accepts.
	AppToken string
	// BotUserID is the bot's user ID, reported by auth.test and used as the
	// author of the messages it posts.
	BotUserID string
	// BotID is the bot's bot ID (B…).
	BotID string
	// TeamID is the workspace ID.
	TeamID string
	// AppID is the app's ID (A…), sent in payloads as api_app_id.
	AppID string

	srv *httptest.Server
	// wg counts the websocket handlers, which httptest.Server.Close does not
	// wait for because their connections are hijacked.
	wg sync.WaitGroup

	mu     sync.Mutex
	closed bool
	// changed is closed and replaced whenever the recorded state changes.
	changed chan struct{}
	seq     int
	calls   []Call

	// Socket mode.
	conns     []*socketConn
	turn      int // round-robin position among ready sockets
	tickets   map[string]bool
	envelopes map[string]*envelope
	waiters   map[string][]*ackWaiter
	acks      []Ack
	pongs     int
	pingEvery time.Duration
	// Refreshes, the connection limit, and what they cost (see SetRefresh).
	refreshEvery   time.Duration
	refreshWarning time.Duration
	maxConns       int
	tooMany        int
	strict         bool
	dispatchFailed int
	connectDelay   time.Duration
	everUp         bool
	refreshes      int
	peakConns      int
	downSince      time.Time
	longestGap     time.Duration

	// Web API state.
	tsSeq         int
	messages      []*Message
	byTS          map[string]*Message
	responses     map[string]responseTarget
	responsePosts []Message
	files         map[string]*File
	shared        []*File
	users         map[string]slack.User
	groups        map[string][]string
	channelNames  map[string]string
	notIn         map[string]bool
	forced        map[string][]*forcedReply
	pace          time.Duration
	lastPost      map[string]time.Time
	holds         map[string]int    // calls still to hold, by method
	holding       int               // calls held now
	release       chan struct{}     // closed by Release
	dms           map[string]string // DM channel by user
	dmUsers       map[string]string // user by DM channel
	views         []PublishedView
	completions   []FunctionCompletion
	modals        *modalState // views.open and views.update, shared files
	scopes        []string    // granted bot scopes; nil grants every scope (see GrantScopes)
}

// Call is one request the fake answered.
type Call struct {
	// Method is the Web API method ("chat.postMessage"), MethodResponseURL or
	// MethodFileUpload.
	Method string
	// Form holds the parameters: form fields, query parameters, or the
	// top-level fields of a JSON body (strings as they are, other values as
	// JSON text).
	Form url.Values
	// Body is the raw request body.
	Body []byte
	// Status is the HTTP status the fake answered with; 0 when the caller
	// gave up on a held call (see Hold) before it was answered.
	Status int
	// At is when the request arrived.
	At time.Time
	// Token is the token the request carried (bearer header or form field).
	Token string
}

// New starts a fake Slack and stops it when the test ends: sockets are closed,
// the server shut down, and every goroutine it started waited for.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		BotToken:     "xoxb-1-" + randomHex(12),
		AppToken:     "xapp-1-A0SWITCHB-" + randomHex(12),
		BotUserID:    "U0SWBOT00",
		BotID:        "B0SWBOT00",
		TeamID:       "T0SWTEAM0",
		AppID:        "A0SWITCHB",
		changed:      make(chan struct{}),
		tickets:      map[string]bool{},
		envelopes:    map[string]*envelope{},
		waiters:      map[string][]*ackWaiter{},
		pingEvery:    DefaultPingInterval,
		maxConns:     MaxConnections,
		byTS:         map[string]*Message{},
		responses:    map[string]responseTarget{},
		files:        map[string]*File{},
		users:        map[string]slack.User{},
		groups:       map[string][]string{},
		channelNames: map[string]string{},
		notIn:        map[string]bool{},
		forced:       map[string][]*forcedReply{},
		lastPost:     map[string]time.Time{},
		holds:        map[string]int{},
		release:      make(chan struct{}),
		dms:          map[string]string{},
		dmUsers:      map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /socket", s.serveSocket)
	mux.HandleFunc("POST /response/{id}", s.serveResponseURL)
	mux.HandleFunc("POST /upload/{id}", s.serveUpload)
	mux.HandleFunc("GET /files-pri/{file}/{rest...}", s.serveFile)
	mux.HandleFunc("/{method}", s.serveAPI)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/"
	t.Cleanup(s.close)
	return s
}

// close stops the server: it closes every socket, shuts the HTTP server down
// and waits for the websocket handlers.
func (s *Server) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.releaseLocked()
	s.notifyLocked()
	s.mu.Unlock()

	for _, c := range conns {
		c.close()
	}
	s.srv.Close()
	s.wg.Wait()
}

// notifyLocked wakes everything waiting for a change. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor returns once cond reports true, re-evaluating it whenever the fake
// records something (a call, a connection, an ack, a pong), or an error when
// ctx ends first. cond runs without the fake's lock held, so it may call any
// of the Server's methods.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("slacktest: wait: %w", ctx.Err())
		}
	}
}

// Calls returns the recorded calls of method in the order they were answered;
// method "" returns every call.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			c.Form = cloneValues(c.Form)
			c.Body = append([]byte(nil), c.Body...)
			out = append(out, c)
		}
	}
	return out
}

// RateLimit makes the next n calls of method answer HTTP 429 with a
// Retry-After header of retryAfter rounded up to whole seconds (the unit
// Slack uses) and {"ok":false,"error":"ratelimited"}. Forced answers set by
// RateLimit and FailNext are used in the order they were set. method "*"
// stands for every method, after the answers set for the method itself.
func (s *Server) RateLimit(method string, n int, retryAfter time.Duration) {
	s.force(method, &forcedReply{n: n, rateLimit: true, retryAfter: retryAfter})
}

// FailNext makes the next n calls of method answer {"ok":false,"error":slackError},
// for example "not_in_channel", "channel_not_found" or "internal_error". The
// special value "http500" answers HTTP 500 with a text body instead, the way
// Slack's front end fails; FailNext("*", n, "http500") takes all of Slack down
// for n calls.
func (s *Server) FailNext(method string, n int, slackError string) {
	s.force(method, &forcedReply{n: n, slackError: slackError})
}

func (s *Server) force(method string, f *forcedReply) {
	if f.n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced[method] = append(s.forced[method], f)
}

// Hold makes the next n calls of a Web API method wait, unanswered, as a
// Slack that hangs would. A held call is answered as usual (forced answers
// included) once Release is called; a caller that gives up first (its
// context ends, or it closes the connection) is recorded with Status 0 and
// changes nothing, so a message it was posting is never posted. Holding
// tells how many calls wait now.
func (s *Server) Hold(method string, n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds[method] += n
}

// Release answers every held call and stops holding further calls.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

// releaseLocked lets held calls go. s.mu must be held.
func (s *Server) releaseLocked() {
	clear(s.holds)
	close(s.release)
	s.release = make(chan struct{})
}

// Holding returns how many calls are held now.
func (s *Server) Holding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holding
}

// hold makes a call of method wait when Hold asked for it, and reports
// whether the call should still be answered (false: its caller gave up).
func (s *Server) hold(r *http.Request, method string) bool {
	s.mu.Lock()
	if s.holds[method] <= 0 {
		s.mu.Unlock()
		return true
	}
	s.holds[method]--
	s.holding++
	release := s.release
	s.notifyLocked()
	s.mu.Unlock()

	answer := true
	select {
	case <-release:
	case <-r.Context().Done():
		answer = false
	}
	s.mu.Lock()
	s.holding--
	s.notifyLocked()
	s.mu.Unlock()
	return answer
}

// PacePerChannel enforces Slack's message pacing: a chat.postMessage or
// chat.update for a channel within d of the previous accepted one for that
// channel answers HTTP 429 with Retry-After set to the rest of d, rounded up
// to whole seconds. d <= 0 turns pacing off (the default).
func (s *Server) PacePerChannel(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pace = d
}

// NotInChannel makes chat.postMessage and chat.postEphemeral in channel answer
// not_in_channel, and conversations.info report is_member false, until the bot
// is invited (InviteBot) or joins (conversations.join).
func (s *Server) NotInChannel(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notIn[channel] = true
}

// InviteBot adds the bot to channel, as when someone invites it.
func (s *Server) InviteBot(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.notIn, channel)
}

// SetChannel names a channel for conversations.info and for the channel_name
// of slash commands. Channels that were never named are still known: their
// name is their lower-cased ID.
func (s *Server) SetChannel(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channelNames[id] = name
}

// SetUserGroup sets the members usergroups.users.list returns for groupID.
func (s *Server) SetUserGroup(groupID string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[groupID] = append([]string(nil), members...)
}

// SetUser adds or replaces a user for users.info (names, profile phone). An
// empty TeamID is set to the fake's.
func (s *Server) SetUser(u slack.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.TeamID == "" {
		u.TeamID = s.TeamID
	}
	s.users[u.ID] = u
}

// SetPingInterval sets how often each socket is pinged, for the sockets
// already open as well as later ones. d <= 0 stops pinging, which slack-go
// treats as a dead connection once its own ping interval has passed.
func (s *Server) SetPingInterval(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingEvery = d
	s.notifyLocked()
}

// forcedReply is an answer set by RateLimit or FailNext for the next n calls.
type forcedReply struct {
	n          int
	rateLimit  bool
	retryAfter time.Duration
	slackError string
}

// takeForcedLocked returns the forced answer for the next call of method, if
// any, and uses it up; answers set for method come before those set for "*".
// s.mu must be held.
func (s *Server) takeForcedLocked(method string) (apiReply, bool) {
	if len(s.forced[method]) == 0 {
		method = "*"
	}
	queue := s.forced[method]
	if len(queue) == 0 {
		return apiReply{}, false
	}
	f := queue[0]
	f.n--
	if f.n <= 0 {
		queue = queue[1:]
	}
	if len(queue) == 0 {
		delete(s.forced, method)
	} else {
		s.forced[method] = queue
	}
	switch {
	case f.rateLimit:
		return rateLimited(f.retryAfter), true
	case f.slackError == "http500":
		return apiReply{status: http.StatusInternalServerError, text: "internal server error"}, true
	default:
		return fail(f.slackError), true
	}
}

// paceLocked answers 429 when a message in channel comes too soon after the
// previous accepted one, and otherwise records now as the channel's last post.
// s.mu must be held.
func (s *Server) paceLocked(channel string, now time.Time) (apiReply, bool) {
	if s.pace <= 0 {
		return apiReply{}, false
	}
	if last, ok := s.lastPost[channel]; ok {
		if wait := s.pace - now.Sub(last); wait > 0 {
			return rateLimited(wait), true
		}
	}
	s.lastPost[channel] = now
	return apiReply{}, false
}

// rateLimited is Slack's 429 answer.
func rateLimited(retryAfter time.Duration) apiReply {
	r := fail("ratelimited")
	r.status = http.StatusTooManyRequests
	r.retryAfter = strconv.Itoa(int(math.Ceil(max(retryAfter, 0).Seconds())))
	return r
}

// recordLocked appends a call and wakes waiters. s.mu must be held.
func (s *Server) recordLocked(c Call) {
	s.calls = append(s.calls, c)
	s.notifyLocked()
}

// nextIDLocked returns a new ID with the given prefix ("F", "Ev"). s.mu must
// be held.
func (s *Server) nextIDLocked(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%08d", prefix, s.seq)
}

// nextTSLocked returns a new message timestamp, later than every earlier one
// and with the same width, so that string order is time order. s.mu must be
// held.
func (s *Server) nextTSLocked() string {
	s.tsSeq++
	micros := int64(s.tsSeq) * 100
	return fmt.Sprintf("%d.%06d", 1700000000+micros/1e6, micros%1e6)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// newUUID returns a random version 4 UUID, the shape of Slack's envelope IDs.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return strings.Join([]string{h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]}, "-")
}
