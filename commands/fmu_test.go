package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/notify"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// The fakes below stand in for the store, Slack, the permission checker, the
// directory and the EnCo APIs in the /fmu, /call and /number tests. The
// store's is whole, in memory; of the EnCo APIs, methods a test does not need
// are left to the embedded interfaces (and would panic).

// stateStore is every store concern of the router, as state.Store and
// telStore have them.
type stateStore interface {
	AuditTrail
	Confirmations
	Operations
	Results
	Counters
	DirectoryOverrides
	NumberFreezes
}

// useStore makes s the router's whole shared state.
func useStore(cfg *Config, s stateStore) {
	st := &cfg.State
	st.AuditTrail, st.Confirmations, st.Operations, st.Results = s, s, s, s
	st.Counters, st.DirectoryOverrides, st.NumberFreezes = s, s, s
}

type telStore struct {
	mu       sync.Mutex
	ops      map[string]switchboard.Operation
	tokens   map[string]string // token -> operation
	results  map[string][]switchboard.Result
	expiries map[string]time.Time
	dir      map[string]switchboard.Entry
	confs    []state.Confirmation
	frozen   map[string]time.Time
	queued   []switchboard.Outgoing
}

func newTelStore() *telStore {
	return &telStore{ops: map[string]switchboard.Operation{}, tokens: map[string]string{}, results: map[string][]switchboard.Result{},
		expiries: map[string]time.Time{}, dir: map[string]switchboard.Entry{}}
}

func (s *telStore) Audit(context.Context, switchboard.AuditEntry) error { return nil }

// RecentAudit finds nothing: telStore keeps no audit (auditStore does).
func (s *telStore) RecentAudit(context.Context, int, func(switchboard.AuditEntry) bool) ([]switchboard.AuditEntry, error) {
	return nil, nil
}

// FirstSeen sees everything for the first time.
func (s *telStore) FirstSeen(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}

func (s *telStore) PeekConfirmation(_ context.Context, id string) (state.Confirmation, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.confs {
		if c.ID == id {
			return c, true, nil
		}
	}
	return state.Confirmation{}, false, nil
}

func (s *telStore) ConsumeConfirmation(_ context.Context, id string) (state.Confirmation, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.confs {
		if c.ID == id {
			s.confs = append(s.confs[:i], s.confs[i+1:]...)
			return c, true, nil
		}
	}
	return state.Confirmation{}, false, nil
}

func (s *telStore) NoteConfirmation(_ context.Context, id, key, value string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.confs {
		if c.ID == id {
			data := maps.Clone(c.Data)
			if data == nil {
				data = map[string]string{}
			}
			data[key] = value
			s.confs[i].Data = data
			return true, nil
		}
	}
	return false, nil
}

func (s *telStore) Enqueue(_ context.Context, m switchboard.Outgoing) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued = append(s.queued, m)
	return fmt.Sprint(len(s.queued)), nil
}

func (s *telStore) FreezeNumber(_ context.Context, number string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frozen == nil {
		s.frozen = map[string]time.Time{}
	}
	s.frozen[number] = until
	return nil
}

func (s *telStore) NumberFrozenUntil(_ context.Context, number string) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.frozen[number]
	return until, ok && time.Now().Before(until), nil
}
func (s *telStore) Allow(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}

func (s *telStore) AllowN(context.Context, string, int, int, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}

func (s *telStore) SaveConfirmation(_ context.Context, c state.Confirmation, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.confs = append(s.confs, c)
	return nil
}

func (s *telStore) CreateOperation(_ context.Context, op switchboard.Operation, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[op.ID] = op
	return nil
}

func (s *telStore) UpdateOperation(_ context.Context, id string, fn func(*switchboard.Operation) error) (switchboard.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.ops[id]
	if !ok {
		return op, switchboard.ErrNotFound
	}
	if err := fn(&op); err != nil {
		return op, err
	}
	s.ops[id] = op
	return op, nil
}

func (s *telStore) BindToken(_ context.Context, token, opID string, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = opID
	return nil
}

func (s *telStore) RecordResult(_ context.Context, opID string, r switchboard.Result, _ switchboard.Effects) (switchboard.Progress, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results[opID] = append(s.results[opID], r)
	return switchboard.Progress{Expected: s.ops[opID].Expected, First: true, Done: len(s.results[opID])}, nil
}

func (s *telStore) ScheduleExpiry(_ context.Context, opID string, at time.Time, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiries[opID] = at
	return nil
}

func (s *telStore) SetDirectoryEntry(_ context.Context, user string, e switchboard.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dir[user] = e
	return nil
}

func (s *telStore) DeleteDirectoryEntry(_ context.Context, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.dir, user)
	return nil
}

func (s *telStore) onlyOp(t *testing.T) switchboard.Operation {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ops) != 1 {
		t.Fatalf("operations stored: got %d, want 1", len(s.ops))
	}
	for _, op := range s.ops {
		return op
	}
	return switchboard.Operation{}
}

// telSlack records what the bot shows.
type telSlack struct {
	mu        sync.Mutex
	posts     []render.Message
	responses []render.Message
	files     []string
	// order names what was shown, in turn: "response" or "file".
	order []string
	// uploadErr, when set, is what UploadFile returns.
	uploadErr error
}

func (s *telSlack) PostMessage(_ context.Context, _ string, m render.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts = append(s.posts, m)
	return fmt.Sprintf("1700000000.%06d", len(s.posts)), nil
}
func (s *telSlack) UpdateMessage(context.Context, string, string, render.Message) error { return nil }
func (s *telSlack) PostEphemeral(context.Context, string, string, render.Message) error { return nil }
func (s *telSlack) Respond(_ context.Context, _ string, m render.Message, _ bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responses = append(s.responses, m)
	s.order = append(s.order, "response")
	return nil
}
func (s *telSlack) UploadFile(_ context.Context, _, _, filename, _ string, content []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uploadErr != nil {
		return s.uploadErr
	}
	s.files = append(s.files, filename+"\n"+string(content))
	s.order = append(s.order, "file")
	return nil
}

// telChecker grants the permissions it holds to everyone.
type telChecker map[string]bool

func (c telChecker) Check(_ context.Context, _, _, permission string) permissions.Decision {
	if c[permission] {
		return permissions.Decision{Allowed: true, Permission: permission}
	}
	return permissions.Decision{Permission: permission, Message: "You don't have permission " + permission + "."}
}

func (c telChecker) CheckCommand(ctx context.Context, user, channel, _, permission string) permissions.Decision {
	return c.Check(ctx, user, channel, permission)
}

func (c telChecker) CheckOffChannel(ctx context.Context, user, permission string) permissions.Decision {
	return c.Check(ctx, user, "", permission)
}

// telDirectory is a directory of policy-file entries.
type telDirectory map[string]switchboard.Entry

func (d telDirectory) Lookup(_ context.Context, user string) (switchboard.Entry, string, bool, error) {
	e, ok := d[user]
	return e, permissions.SourcePolicy, ok, nil
}

// telFMU records the asynchronous requests and answers reads from a map.
type telFMU struct {
	FMUAPI
	mu       sync.Mutex
	requests [][]string
	urls     []string
	failAt   map[int]error // request index -> error
	profiles map[string]enco.Profile
}

func (f *telFMU) request(msisdns []string, url string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := len(f.requests)
	f.requests = append(f.requests, msisdns)
	f.urls = append(f.urls, url)
	return f.failAt[i]
}

func (f *telFMU) RequestFMUStatuses(_ context.Context, msisdns []string, url string) ([]enco.FMUResult, error) {
	return nil, f.request(msisdns, url)
}

func (f *telFMU) RequestSetFMUStatuses(_ context.Context, msisdns []string, _ enco.Profile, url string) ([]enco.FMUResult, error) {
	return nil, f.request(msisdns, url)
}

func (f *telFMU) FMUStatus(_ context.Context, msisdn string) (enco.FMUStatus, error) {
	p, ok := f.profiles[msisdn]
	if !ok {
		return enco.FMUStatus{MSISDN: msisdn, IsError: true, Error: "MSISDN not found"}, nil
	}
	return enco.FMUStatus{MSISDN: msisdn, Status: p}, nil
}

type telFixture struct {
	cfg   Config
	store *telStore
	slack *telSlack
	fmu   *telFMU
}

func newTelFixture(perms ...string) *telFixture {
	f := &telFixture{store: newTelStore(), slack: &telSlack{}, fmu: &telFMU{profiles: map[string]enco.Profile{"32470000001": enco.ProfilePrivate}}}
	checker := telChecker{}
	for _, p := range perms {
		checker[p] = true
	}
	f.cfg = Config{
		Checker:   checker,
		EnCo:      EnCo{FMU: f.fmu},
		Directory: telDirectory{"U0ME": {Mobile: "32470000001", Fixed: "3228160257"}, "U0BOB": {Mobile: "32470000002"}},
		Slack:     SlackParts{Slack: f.slack},
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		PublicURL: "https://bot.example",
	}
	useStore(&f.cfg, f.store)
	return f
}

// router wires the fixture's configuration as it stands.
func (f *telFixture) router() *Router { return New(f.cfg) }

// command runs a slash command as U0ME in C0CHAN and, when it has work
// after the acknowledgement, that work too.
func (f *telFixture) command(t *testing.T, name, text string) Reply {
	t.Helper()
	reply, after := f.router().Command(context.Background(), slack.SlashCommand{Command: name, Text: text, UserID: "U0ME", ChannelID: "C0CHAN", ResponseURL: "https://hooks.example/1"})
	if after != nil {
		after(context.Background())
	}
	return reply
}

func (f *telFixture) lastResponse(t *testing.T) string {
	t.Helper()
	f.slack.mu.Lock()
	defer f.slack.mu.Unlock()
	if len(f.slack.responses) == 0 {
		t.Fatal("no response to the requester")
	}
	return f.slack.responses[len(f.slack.responses)-1].Text
}

func fmuOp(n int) switchboard.Operation {
	op := switchboard.Operation{ID: "op1", Kind: "fmu.read", UserID: "U0ME", ChannelID: "C0CHAN", Expected: n, CreatedAt: time.Now(), Params: switchboard.Params{Title: "Read"}}
	for i := range n {
		op.Targets = append(op.Targets, switchboard.Number(fmt.Sprintf("32470%06d", i+1)))
	}
	return op
}

func TestFMUTargets(t *testing.T) {
	tests := []struct {
		name         string
		text         string
		wantNumbers  []string
		wantMentions []string
		wantErr      string
	}{
		{"numbers with spaces and commas", "0470 12 34 56, +32 470 65 43 21", []string{"32470123456", "32470654321"}, nil, ""},
		{"numbers and people", "<@U0BOB|bob> 0470123456 <@U0ME>", []string{"32470123456"}, []string{"U0BOB", "U0ME"}, ""},
		{"fixed number", "02 816 02 57", nil, nil, "`+32 2 816 02 57` is a fixed number"},
		{"foreign mobile", "+31 6 12345678", nil, nil, "not a Belgian number"},
		{"service number", "0470123456 1207", nil, nil, "`1207` is a short service number"},
		{"user group", "<!subteam^S0OPS|@ops>", nil, nil, "is a user group"},
		{"an option", "zone=02", nil, nil, "takes no options"},
		{"not a number", "0470 12", nil, nil, `"0470 12"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := tokenize(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			nums, mentions, uerr := fmuTargets(toks)
			if tt.wantErr != "" {
				if uerr == nil || !strings.Contains(uerr.Msg, tt.wantErr) {
					t.Fatalf("fmuTargets(%q) error = %v, want one containing %q", tt.text, uerr, tt.wantErr)
				}
				return
			}
			if uerr != nil {
				t.Fatalf("fmuTargets(%q) error = %v", tt.text, uerr)
			}
			var got []string
			for _, n := range nums {
				got = append(got, n.Digits)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantNumbers) || fmt.Sprint(mentions) != fmt.Sprint(tt.wantMentions) {
				t.Errorf("fmuTargets(%q) = %v, %v; want %v, %v", tt.text, got, mentions, tt.wantNumbers, tt.wantMentions)
			}
		})
	}
}

func TestRunFMUSplitsIntoBatchesSharingOneCallbackURL(t *testing.T) {
	f := newTelFixture()
	f.router().fmuCmd().run(context.Background(), fmuOp(120), "")
	if got := len(f.fmu.requests); got != 3 {
		t.Fatalf("requests = %d, want 3", got)
	}
	for i, want := range []int{40, 40, 40} {
		if got := len(f.fmu.requests[i]); got != want {
			t.Errorf("request %d carries %d numbers, want %d (split evenly)", i, got, want)
		}
	}
	if f.fmu.requests[1][0] != "32470000041" {
		t.Errorf("second request starts with %s, want 32470000041", f.fmu.requests[1][0])
	}
	url := f.fmu.urls[0]
	token, ok := strings.CutPrefix(url, "https://bot.example"+notify.PathFMU)
	if !ok || f.fmu.urls[1] != url || f.fmu.urls[2] != url {
		t.Fatalf("callback URLs = %v, want one shared URL under the public URL", f.fmu.urls)
	}
	op := f.store.onlyOp(t)
	if f.store.tokens[token] != op.ID {
		t.Errorf("the callback token is bound to %q, want the operation %q", f.store.tokens[token], op.ID)
	}
	if at := f.store.expiries[op.ID]; at.IsZero() || !at.Equal(op.ExpiresAt) {
		t.Errorf("expiry scheduled at %v, want the operation's deadline %v", at, op.ExpiresAt)
	}
	if op.Status != switchboard.StatusRunning || op.ThreadTS == "" {
		t.Errorf("operation = %+v, want running with a parent message", op)
	}
}

// TestRunFMUNeverSendsALoneNumberWithACallback: 51 numbers are 26 + 25,
// not 50 + 1, which EnCo would answer synchronously.
func TestRunFMUNeverSendsALoneNumberWithACallback(t *testing.T) {
	f := newTelFixture()
	f.router().fmuCmd().run(context.Background(), fmuOp(51), "")
	var sizes []int
	for _, r := range f.fmu.requests {
		sizes = append(sizes, len(r))
	}
	if fmt.Sprint(sizes) != "[26 25]" {
		t.Errorf("request sizes = %v, want [26 25]", sizes)
	}
}

func TestRunFMUWhenEnCoRefusesABatch(t *testing.T) {
	refusal := &enco.Error{Op: "fmu status request", StatusCode: 400, Message: "at most 50 msisdn per request"}
	t.Run("the first: nothing was asked, the operation failed", func(t *testing.T) {
		f := newTelFixture()
		f.fmu.failAt = map[int]error{0: refusal}
		f.router().fmuCmd().run(context.Background(), fmuOp(60), "")
		op := f.store.onlyOp(t)
		if op.Status != switchboard.StatusFailed || len(f.fmu.requests) != 1 || len(f.store.results[op.ID]) != 0 {
			t.Errorf("status %q after %d requests and %d results; want failed after 1 request, no results", op.Status, len(f.fmu.requests), len(f.store.results[op.ID]))
		}
	})
	t.Run("a later one: its numbers fail, the others go on", func(t *testing.T) {
		f := newTelFixture()
		f.fmu.failAt = map[int]error{1: refusal}
		f.router().fmuCmd().run(context.Background(), fmuOp(120), "")
		op := f.store.onlyOp(t)
		results := f.store.results[op.ID]
		if len(f.fmu.requests) != 3 || len(results) != 40 {
			t.Fatalf("%d requests, %d results; want 3 requests and the 40 refused numbers recorded", len(f.fmu.requests), len(results))
		}
		if results[0].OK || results[0].Target != "msisdn:32470000041" {
			t.Errorf("first recorded result = %+v, want number 41 failed", results[0])
		}
		last := f.slack.posts[len(f.slack.posts)-1]
		if last.ThreadTS != op.ThreadTS || !strings.Contains(last.Text, "numbers 41 to 80 of 120") || !strings.Contains(last.Text, "at most 50 msisdn") {
			t.Errorf("thread post = %q, want the refused range and EnCo's reason", last.Text)
		}
	})
}

func TestFMUCommandFlows(t *testing.T) {
	t.Run("own profile", func(t *testing.T) {
		f := newTelFixture("fmu.self")
		f.command(t, "/fmu", "")
		if got := f.lastResponse(t); !strings.Contains(got, "Your FMU profile (+32 470 00 00 01) is *Private*") {
			t.Errorf("answer = %q", got)
		}
	})
	t.Run("setting others asks first", func(t *testing.T) {
		f := newTelFixture("fmu.set")
		// Naming someone, the prompt follows the directory lookup.
		f.command(t, "/fmu", "on-duty <@U0BOB> 0470 00 00 03")
		if got := f.lastResponse(t); !strings.Contains(got, "Set 2 numbers to On duty?") || len(f.store.confs) != 1 {
			t.Fatalf("reply = %q with %d confirmations, want a confirmation", got, len(f.store.confs))
		}
		if len(f.fmu.requests) != 0 {
			t.Errorf("FMU requests before the click = %d, want 0", len(f.fmu.requests))
		}
		var op switchboard.Operation
		if err := json.Unmarshal([]byte(f.store.confs[0].Data["op"]), &op); err != nil {
			t.Fatal(err)
		}
		if op.Kind != "fmu.set" || op.Params.Profile != "ON_DUTY" || op.Params.Who["32470000002"] != "U0BOB" ||
			fmt.Sprint(op.Targets) != "[msisdn:32470000003 msisdn:32470000002]" {
			t.Errorf("pending operation = %+v", op)
		}
	})
	t.Run("reading several starts a thread", func(t *testing.T) {
		f := newTelFixture("fmu.read")
		reply := f.command(t, "/fmu", "status 0470 00 00 01 0470 00 00 02")
		if !strings.Contains(reply.Text, "2 FMU profiles") || len(f.fmu.requests) != 1 || len(f.slack.posts) != 1 {
			t.Errorf("reply %q, %d requests, %d posts; want one request and the parent message", reply.Text, len(f.fmu.requests), len(f.slack.posts))
		}
	})
	t.Run("someone without a number", func(t *testing.T) {
		f := newTelFixture("fmu.read")
		f.command(t, "/fmu", "status <@U0NOONE>")
		if got := f.lastResponse(t); !strings.Contains(got, "mobile number of <@U0NOONE>") || len(f.fmu.requests) != 0 {
			t.Errorf("reply = %q, want the missing number named and no request", got)
		}
	})
	t.Run("a 2xx refusal shows EnCo's reason", func(t *testing.T) {
		f := newTelFixture()
		got := f.router().clicks.ops.fmuError(&enco.Error{Op: "fmu set status", StatusCode: 200, Message: "FMU option not active"}, "fmu set")
		if got != "EnCo refused it: FMU option not active" {
			t.Errorf("fmuError = %q", got)
		}
	})
}

func TestNumberOptions(t *testing.T) {
	tests := []struct {
		text    string
		wantPos string
		want    map[string]string // key -> digits ("none" for none)
		wantErr string
	}{
		{"0468 37 39 01 from=02 816 02 57", "[0468 37 39 01]", map[string]string{"from": "3228160257"}, ""},
		{"from=+32 2 816 02 57 0468 37 39 01", "[0468 37 39 01]", map[string]string{"from": "3228160257"}, ""},
		{"from= 02 816 02 57 x", "[x]", map[string]string{"from": "3228160257"}, ""},
		{"<@U1> mobile=none fixed=022060742", "[<@U1>]", map[string]string{"mobile": "none", "fixed": "3222060742"}, ""},
		{"from=02 816", "", nil, "`from=`: \"02 816\" is not a valid phone number"},
		{"from=022060742 from=0228160257", "", nil, "given twice"},
		{"to=02 816 02 57", "", nil, "unknown option `to`"},
		{"from=", "", nil, "needs a number, e.g. `from=02 816 02 57`"},
		{"mobile=", "", nil, "needs a number, e.g. `mobile=0470 12 34 56`"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			toks, _ := tokenize(tt.text)
			pos, opts, err := numberOptions("usage", toks, "from", "mobile", "fixed")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Msg, tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var words []string
			for _, p := range pos {
				words = append(words, p.text)
			}
			if got := "[" + strings.Join(words, " ") + "]"; got != tt.wantPos {
				t.Errorf("positional = %s, want %s", got, tt.wantPos)
			}
			got := map[string]string{}
			for k, o := range opts {
				got[k] = o.num.Digits
				if o.none {
					got[k] = "none"
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("options = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDirectoryLink(t *testing.T) {
	f := newTelFixture("directory.admin")
	reply := f.command(t, "/fmu", "link <@U0ME> fixed=02 206 07 42")
	if !strings.Contains(reply.Text, "mobile +32 470 00 00 01 and fixed +32 2 206 07 42") {
		t.Errorf("reply = %q", reply.Text)
	}
	if got, want := f.store.dir["U0ME"], (switchboard.Entry{Mobile: "32470000001", Fixed: "3222060742"}); got != want {
		t.Errorf("stored entry = %+v, want %+v (the mobile kept from the policy file)", got, want)
	}
	f.command(t, "/fmu", "link <@U0ME> mobile=none")
	if got := f.store.dir["U0ME"]; got.Mobile != "" {
		t.Errorf("after mobile=none the entry is %+v, want no mobile", got)
	}
	for _, tt := range []struct{ text, want string }{
		{"link <@U0ME> mobile=02 206 07 42", "not a mobile one"},
		{"link <@U0ME> fixed=0470 00 00 01", "not a fixed line"},
		{"link bob mobile=0470000001", "`bob` is not a person"},
		{"link <@U0ME>", "needs `mobile=` and/or `fixed=`"},
		{"unlink <@U0ME> <@U0BOB>", "one @person at a time"},
	} {
		if reply := f.command(t, "/fmu", tt.text); !strings.Contains(reply.Text, tt.want) {
			t.Errorf("/fmu %s = %q, want %q", tt.text, reply.Text, tt.want)
		}
	}
	f.command(t, "/fmu", "unlink <@U0ME>")
	if _, ok := f.store.dir["U0ME"]; ok {
		t.Errorf("the entry is still stored after unlink")
	}
	denied := newTelFixture()
	if reply := denied.command(t, "/fmu", "unlink <@U0ME>"); !strings.Contains(reply.Text, "directory.admin") {
		t.Errorf("unlink without directory.admin = %q, want a denial", reply.Text)
	}
}

// TestRunFMUStopsWhenTheCredentialsAreRefused: once EnCo refuses the bot's
// credentials, the remaining requests are not sent (they would be refused
// too); their numbers are recorded as failed.
func TestRunFMUStopsWhenTheCredentialsAreRefused(t *testing.T) {
	f := newTelFixture()
	f.fmu.failAt = map[int]error{1: &enco.Error{Op: "fmu status request", StatusCode: 401, Err: enco.ErrCredentialsRefused}}
	f.router().fmuCmd().run(context.Background(), fmuOp(120), "")
	op := f.store.onlyOp(t)
	if len(f.fmu.requests) != 2 || len(f.store.results[op.ID]) != 80 {
		t.Errorf("%d requests, %d results; want 2 requests, the 80 numbers of the refused and unsent ones failed", len(f.fmu.requests), len(f.store.results[op.ID]))
	}
}

// TestFailOperationNeverReopensAnEndedOperation: an API error that comes
// back after every result already arrived (the callbacks beat the reply)
// must not turn a done operation into a failed one, nor post a failure.
func TestFailOperationNeverReopensAnEndedOperation(t *testing.T) {
	f := newTelFixture()
	ctx := context.Background()
	for _, status := range []string{switchboard.StatusDone, switchboard.StatusExpired} {
		op := switchboard.Operation{ID: "op-" + status, Kind: "fmu.set", Status: status, ChannelID: "C1", ThreadTS: "1.2"}
		if err := f.store.CreateOperation(ctx, op, time.Hour); err != nil {
			t.Fatal(err)
		}
		f.router().clicks.ops.failOperation(ctx, op, "EnCo could not be reached")
		if got := f.store.ops[op.ID].Status; got != status {
			t.Errorf("%s operation after a late failure: status %q, want it left %s", status, got, status)
		}
	}
	if len(f.slack.posts) != 0 {
		t.Errorf("posts = %+v, want none for operations that had ended", f.slack.posts)
	}
	running := switchboard.Operation{ID: "op-running", Kind: "fmu.set", Status: switchboard.StatusRunning, ChannelID: "C1", ThreadTS: "1.2"}
	if err := f.store.CreateOperation(ctx, running, time.Hour); err != nil {
		t.Fatal(err)
	}
	f.router().clicks.ops.failOperation(ctx, running, "EnCo could not be reached")
	if got := f.store.ops[running.ID].Status; got != switchboard.StatusFailed {
		t.Errorf("running operation after a failure: status %q, want failed", got)
	}
}

// TestFMUForManyAcknowledgesFirst: reading or setting the profiles of as
// many people as one command takes is acknowledged before anyone is looked
// up in the directory (with trust_profile_phone, a Slack users.info call
// each); the answer the acknowledgement used to carry (the operation
// started, or the confirmation prompt with its buttons) follows through the
// response URL.
func TestFMUForManyAcknowledgesFirst(t *testing.T) {
	for _, tt := range []struct {
		name, sub, perm string
		want            string // in the answer through the response URL
		confirms        int    // confirmations saved
	}{
		{"status", "status", switchboard.PermFMURead, ":mag: Asking EnCo for 100 FMU profiles; the answers will arrive in a thread in this channel.", 0},
		{"set", "on-duty", switchboard.PermFMUSet, "Set 100 numbers to On duty? Confirm or cancel.", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newTelFixture(tt.perm)
			dir := &countingDirectory{telDirectory: telDirectory{}}
			f.cfg.Directory = dir
			var mentions []string
			for i := range f.router().fmuCmd().maxTargets() {
				u := fmt.Sprintf("U0P%03d", i)
				mentions = append(mentions, "<@"+u+">")
				dir.telDirectory[u] = switchboard.Entry{Mobile: fmt.Sprintf("32470%06d", i+1)}
			}
			ctx := context.Background()

			reply, after := f.router().Command(ctx, slack.SlashCommand{Command: "/fmu", Text: tt.sub + " " + strings.Join(mentions, " "),
				UserID: "U0ME", ChannelID: "C0CHAN", ResponseURL: "https://hooks.example/1"})
			if n := dir.lookups.Load(); n != 0 {
				t.Errorf("directory lookups before the acknowledgement = %d, want none", n)
			}
			if reply.Text != ":hourglass_flowing_sand: Looking up 100 people in the directory…" || after == nil {
				t.Fatalf("acknowledgement = %q (work after it: %v), want it to say the people are being looked up", reply.Text, after != nil)
			}
			if len(f.store.confs) != 0 || len(f.fmu.requests) != 0 {
				t.Errorf("before the acknowledgement: %d confirmations and %d FMU requests, want none", len(f.store.confs), len(f.fmu.requests))
			}

			after(ctx)
			if n := dir.lookups.Load(); n != int32(len(mentions)) {
				t.Errorf("directory lookups after the acknowledgement = %d, want %d", n, len(mentions))
			}
			f.slack.mu.Lock()
			responses := append([]render.Message(nil), f.slack.responses...)
			f.slack.mu.Unlock()
			if len(responses) == 0 || responses[0].Text != tt.want {
				t.Fatalf("answers through the response URL = %+v, want first %q", responses, tt.want)
			}
			if len(f.store.confs) != tt.confirms {
				t.Errorf("confirmations = %d, want %d", len(f.store.confs), tt.confirms)
			}
			if tt.confirms > 0 {
				blocks, err := json.Marshal(responses[0].Blocks)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(blocks), `"action_id":"confirm"`) || !strings.Contains(string(blocks), f.store.confs[0].ID) {
					t.Errorf("prompt through the response URL has no confirm button for the saved confirmation: %s", blocks)
				}
			}
		})
	}
}

// sourcedDirectory answers every lookup with one source, to see what
// /fmu link says about the entry it replaces.
type sourcedDirectory struct {
	entries map[string]switchboard.Entry
	source  string
}

func (d sourcedDirectory) Lookup(_ context.Context, user string) (switchboard.Entry, string, bool, error) {
	e, ok := d.entries[user]
	return e, d.source, ok, nil
}

// TestDirectoryLinkSaysWhetherItAddsOrReplaces: linking someone without an
// entry adds one; only an existing entry is said to be replaced.
func TestDirectoryLinkSaysWhetherItAddsOrReplaces(t *testing.T) {
	for _, tt := range []struct {
		name, user, source, want, notWant string
	}{
		{"no entry", "U0CAROL", permissions.SourcePolicy, "adds an entry", "replaces"},
		{"policy entry", "U0ME", permissions.SourcePolicy, "replaces their entry in the policy file", "adds"},
		{"linked entry", "U0ME", permissions.SourceAdmin, "replaces the numbers linked before", "policy file"},
		{"profile phone", "U0ME", permissions.SourceProfile, "adds an entry", "replaces"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newTelFixture("directory.admin")
			f.cfg.Directory = sourcedDirectory{map[string]switchboard.Entry{"U0ME": {Mobile: "32470000001"}}, tt.source}
			reply := f.command(t, "/fmu", "link <@"+tt.user+"> mobile=0470 12 34 99")
			if !strings.Contains(reply.Text, tt.want) || strings.Contains(reply.Text, tt.notWant) {
				t.Errorf("reply = %q, want %q and not %q", reply.Text, tt.want, tt.notWant)
			}
		})
	}
}
