package commands

import (
	"context"
	"encoding/csv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/phone"
)

// telVoice records calls and serves CDRs.
type telVoice struct {
	mu    sync.Mutex
	calls []enco.CallRequest
	err   error
	cdrs  []enco.CDR
}

func (v *telVoice) PlaceCall(_ context.Context, r enco.CallRequest) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls = append(v.calls, r)
	return "61200001", v.err
}

func (v *telVoice) CDRs(context.Context, enco.CDRQuery) ([]enco.CDR, error) { return v.cdrs, nil }

func mustPolicy(t *testing.T, yaml string) *permissions.Policy {
	t.Helper()
	p, err := permissions.Parse([]byte(yaml), Names())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCallBarring(t *testing.T) {
	const roles = "roles:\n  - name: all\n    members: [\"*\"]\n    permissions: [call.self]\n"
	strict := mustPolicy(t, roles)
	lenient := mustPolicy(t, roles+"call: {allow_premium: true, allow_international: true}\n")
	tests := []struct {
		number        string
		strict, loose string // "" when allowed, else a word of the refusal
	}{
		{"112", "emergency", "emergency"},
		{"101", "emergency", "emergency"},
		{"100", "emergency", "emergency"},
		{"1207", "emergency", "emergency"},
		{"0903 12 345", "premium-rate", ""},
		{"+31 20 123 4567", "outside Belgium", ""},
		{"+44 20 7946 0018", "outside Belgium", ""},
		{"0468 37 39 01", "", ""},
		{"02 206 07 42", "", ""},
		{"0800 12 345", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			n, err := phone.Parse(tt.number)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name   string
				policy *permissions.Policy
				want   string
			}{{"strict", strict, tt.strict}, {"lenient", lenient, tt.loose}, {"no policy", nil, tt.strict}} {
				err := (&callCommand{policy: c.policy}).barred(n)
				switch {
				case c.want == "" && err != nil:
					t.Errorf("%s policy: refused with %q, want it allowed", c.name, err.Msg)
				case c.want != "" && (err == nil || !strings.Contains(err.Msg, c.want)):
					t.Errorf("%s policy: got %v, want a refusal mentioning %q", c.name, err, c.want)
				}
			}
		})
	}
}

func TestParseCall(t *testing.T) {
	tests := []struct {
		text                          string
		dest, from, cli, presentation string
		wantErr                       string
	}{
		{text: "0468 37 39 01", dest: "32468373901"},
		{text: "+32 468 37 39 01 hidden", dest: "32468373901", presentation: "RESTRICTED"},
		{text: "hidden 0468373901 from=02 816 02 57 cli=02 206 07 42", dest: "32468373901", from: "3228160257", cli: "3222060742", presentation: "RESTRICTED"},
		{text: "from=02 816 02 57 0468 37 39 01", dest: "32468373901", from: "3228160257"},
		{text: "112", wantErr: "emergency"},
		{text: "0468373901 from=0470 00 00 01", wantErr: "mobile number"},
		{text: "0468373901 cli=+31 20 123 4567", wantErr: "Belgian fixed"},
		{text: "0468373901 from=none", wantErr: "needs a number"},
		{text: "hidden", wantErr: "needs the number to call"},
		{text: "dial 0468373901", wantErr: "`dial` is not a /call subcommand"},
		{text: "0468373901 0468373902", wantErr: "one number at a time"},
		{text: "<@U0BOB>", wantErr: "not a person"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			toks, _ := tokenize(tt.text)
			got, err := (&callCommand{}).parseCall(toks)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Msg, tt.wantErr) {
					t.Fatalf("parseCall(%q) error = %v, want one containing %q", tt.text, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseCall(%q): %v", tt.text, err)
			}
			if got.dest.Digits != tt.dest || got.from != tt.from || got.cli != tt.cli || got.presentation != tt.presentation {
				t.Errorf("parseCall(%q) = dest %s from %q cli %q presentation %q; want %s, %q, %q, %q",
					tt.text, got.dest.Digits, got.from, got.cli, got.presentation, tt.dest, tt.from, tt.cli, tt.presentation)
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"", now.Add(-24 * time.Hour), ""},
		{"90m", now.Add(-90 * time.Minute), ""},
		{"7d", now.AddDate(0, 0, -7), ""},
		{"2025-03-01", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2025-03-01T08:30", time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC), ""},
		{"2025-03-01T08:30:00+01:00", time.Date(2025, 3, 1, 7, 30, 0, 0, time.UTC), ""},
		{"2025-04-01", time.Time{}, "in the future"},
		{"-2h", time.Time{}, "not a time"},
		{"0d", time.Time{}, "not a time"},
		{"yesterday", time.Time{}, "not a time"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSince(tt.in, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Msg, tt.wantErr) {
					t.Fatalf("parseSince(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("parseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRunCall(t *testing.T) {
	t.Run("placed", func(t *testing.T) {
		f := newTelFixture("call.self")
		v := &telVoice{}
		f.cfg.EnCo.Voice = v
		reply := f.command(t, "/call", "0468 37 39 01 hidden")
		if !strings.Contains(reply.Text, "your phone (+32 2 816 02 57) rings first") {
			t.Errorf("reply = %q", reply.Text)
		}
		if len(v.calls) != 1 {
			t.Fatalf("calls = %d, want 1", len(v.calls))
		}
		c := v.calls[0]
		if c.Origin != "3228160257" || c.Destination != "32468373901" || c.Presentation != enco.PresentationRestricted || !strings.HasPrefix(c.Callback, "https://bot.example/callbacks/call/") {
			t.Errorf("call = %+v", c)
		}
		op := f.store.onlyOp(t)
		if op.Kind != "call.self" || op.Params.Session != "61200001" || f.store.expiries[op.ID].IsZero() {
			t.Errorf("operation = %+v (expiry %v), want call.self with its session and an expiry", op, f.store.expiries[op.ID])
		}
	})
	t.Run("refused by EnCo", func(t *testing.T) {
		f := newTelFixture("call.self")
		f.cfg.EnCo.Voice = &telVoice{err: &enco.Error{Op: "voice call", StatusCode: 400, Message: "origin is not a number of your account"}}
		f.command(t, "/call", "0468 37 39 01")
		op := f.store.onlyOp(t)
		last := f.slack.posts[len(f.slack.posts)-1]
		if op.Status != switchboard.StatusFailed || !strings.Contains(last.Text, "origin is not a number of your account") {
			t.Errorf("status %q, thread %q; want failed with EnCo's reason", op.Status, last.Text)
		}
	})
	t.Run("another phone first asks to confirm", func(t *testing.T) {
		f := newTelFixture("call.any")
		v := &telVoice{}
		f.cfg.EnCo.Voice = v
		reply := f.command(t, "/call", "0468 37 39 01 from=02 206 07 42")
		if !strings.Contains(reply.Text, "Call +32 468 37 39 01 from +32 2 206 07 42?") || len(v.calls) != 0 || len(f.store.confs) != 1 {
			t.Errorf("reply %q, %d calls; want a confirmation and no call", reply.Text, len(v.calls))
		}
	})
	t.Run("masked titles", func(t *testing.T) {
		f := newTelFixture("call.self")
		f.cfg.EnCo.Voice = &telVoice{}
		f.cfg.Settings.MaskNumbers = true
		f.command(t, "/call", "0468 37 39 01")
		if title := f.store.onlyOp(t).Params.Title; strings.Contains(title, "37 39") {
			t.Errorf("title %q shows the full number in the channel", title)
		}
	})
}

func TestCDRReport(t *testing.T) {
	at := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	mine := enco.CDR{SessionID: "1", Origin: "3228160257", Destination: "32468373901", RequestTime: at, CallDuration: 95, CallReleaseInfo: "Normal Clearing"}
	busy := enco.CDR{SessionID: "2", Origin: "+3228160257", Destination: "32468373900", RequestTime: at.Add(time.Hour), CallReleaseInfo: "Leg2-486-Busy Here"}
	other := enco.CDR{SessionID: "3", Origin: "3222060742", Destination: "32468373902", RequestTime: at, CallDuration: 5}

	f := newTelFixture("call.self")
	f.cfg.EnCo.Voice = &telVoice{cdrs: []enco.CDR{mine, busy, other}}
	f.command(t, "/call", "cdr since=30d")
	got := f.lastResponse(t)
	if !strings.Contains(got, "*Your calls since") || !strings.Contains(got, ": 2, 1 answered.") || strings.Contains(got, "+32 468 37 39 02") {
		t.Errorf("answer = %q, want the caller's two calls only", got)
	}
	if i, j := strings.Index(got, "37 39 00"), strings.Index(got, "37 39 01"); i < 0 || j < 0 || i > j {
		t.Errorf("answer = %q, want the newest call first", got)
	}
	if !strings.Contains(got, "1 min 35 s") || !strings.Contains(got, "busy") {
		t.Errorf("answer = %q, want the length and the release reason in words", got)
	}

	many := make([]enco.CDR, maxCDRRows+1)
	for i := range many {
		many[i] = mine
	}
	f = newTelFixture("call.self")
	f.cfg.EnCo.Voice = &telVoice{cdrs: many}
	f.cfg.Settings.MaskNumbers = true
	f.command(t, "/call", "cdr")
	if got := f.lastResponse(t); !strings.Contains(got, "… 1 more not shown (20 of 21 listed). The full list is attached to this channel as `calls-") {
		t.Errorf("answer = %q, want how many were left out and the file", got)
	}
	if len(f.slack.files) != 1 {
		t.Fatalf("files = %d, want 1", len(f.slack.files))
	}
	_, content, _ := strings.Cut(f.slack.files[0], "\n")
	rows, err := csv.NewReader(strings.NewReader(content)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != maxCDRRows+2 || rows[1][3] != "'+32 468 •• •• 01" || rows[1][5] != "true" || rows[1][6] != "95" {
		t.Errorf("CSV = %v, want a header, %d rows, masked numbers", rows[:2], maxCDRRows+1)
	}
}
