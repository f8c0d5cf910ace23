package commands

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack/slackevents"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/permissions"
)

func TestStepFromEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    Step
	}{
		{
			"sim_change with a channel",
			`{"function":{"callback_id":"sim_change"},"function_execution_id":"Fx1","inputs":{"user_id":"U1","action":" deactivate ","sim_ids":"0471 00 00 01","channel_id":"C1"}}`,
			Step{ExecutionID: "Fx1", Function: "sim_change", User: "U1", Action: "deactivate", SIMIDs: "0471 00 00 01", Channel: "C1"},
		},
		{
			"set_fmu_profile started by a click",
			`{"function":{"callback_id":"set_fmu_profile"},"function_execution_id":"Fx2","inputs":{"user_id":"U1","profile":"ON_DUTY","interactivity":{"interactivity_pointer":"1.2","interactor":{"id":"U2","secret":"s"}}}}`,
			Step{ExecutionID: "Fx2", Function: "set_fmu_profile", User: "U1", Profile: "ON_DUTY", Interactor: "U2"},
		},
		{
			"inputs that are not text are left empty",
			`{"function":{"callback_id":"sim_change"},"function_execution_id":"Fx3","inputs":{"user_id":["U1"],"sim_ids":42,"interactivity":"U2"}}`,
			Step{ExecutionID: "Fx3", Function: "sim_change"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev slackevents.FunctionExecutedEvent
			if err := json.Unmarshal([]byte(tt.payload), &ev); err != nil {
				t.Fatal(err)
			}
			if got := StepFromEvent(&ev); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// stepStore is the store a step's checks use: the audit trail and the rate
// limit, both always answering and keeping nothing.
type stepStore struct{}

func (stepStore) Audit(context.Context, switchboard.AuditEntry) error { return nil }
func (stepStore) RecentAudit(context.Context, int, func(switchboard.AuditEntry) bool) ([]switchboard.AuditEntry, error) {
	return nil, nil
}
func (stepStore) Allow(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}
func (stepStore) AllowN(context.Context, string, int, int, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}
func (stepStore) FirstSeen(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}

type stepDirectory struct{}

func (stepDirectory) Lookup(context.Context, string) (switchboard.Entry, string, bool, error) {
	return switchboard.Entry{Mobile: "32470000001"}, "policy", true, nil
}

// emptyDirectory knows nobody's numbers.
type emptyDirectory struct{}

func (emptyDirectory) Lookup(context.Context, string) (switchboard.Entry, string, bool, error) {
	return switchboard.Entry{}, "", false, nil
}

type stepDMs struct{}

func (stepDMs) OpenDM(_ context.Context, user string) (string, error) { return "D" + user, nil }

// FuzzStepInputs feeds arbitrary inputs to a step's checks: they never
// panic, a refusal says why in a bounded, valid text, and an accepted step
// is a well-formed operation.
func FuzzStepInputs(f *testing.F) {
	f.Add("sim_change", "U0AAAAAAA", "", "deactivate", "0471 00 00 01, iccid:89320100000000000012", "C0OPS0000")
	f.Add("set_fmu_profile", "U0AAAAAAA", "on-duty", "", "", "")
	f.Add("sim_change", "U1", "", "terminate", "<@U1>", "#ops")
	f.Add("sim_change", "W0AAAAAAA", "", "Activate", strings.Repeat("0471 00 00 01 ", 50), "")
	policy, err := permissions.Parse([]byte("roles: [{name: a, members: [\"*\"], permissions: [\"*\"]}]\nworkflows: {allow: [set_fmu_profile, sim_change]}\nrequire_approval: []\n"), Names())
	if err != nil {
		f.Fatal(err)
	}
	f.Add("set_fmu_profile", "U"+strings.Repeat("A", 5000), "ON_DUTY", "", "", "")
	f.Add("sim_change", "W"+strings.Repeat("0", 700), "", "deactivate", "0471 00 00 01", "")
	r := New(Config{Policy: policy, Checker: permissions.NewChecker(policy, nil), State: Stores{AuditTrail: stepStore{}, Counters: stepStore{}}, Directory: stepDirectory{}, Slack: SlackParts{DMs: stepDMs{}}, Settings: Settings{MaxTargets: 5}}).steps
	// A policy that grants nothing and a directory that knows nobody: the
	// refusals that name the person.
	strict, err := permissions.Parse([]byte("roles: [{name: a, members: [U0NOBODY0], permissions: [\"*\"]}]\nworkflows: {allow: [set_fmu_profile, sim_change]}\n"), Names())
	if err != nil {
		f.Fatal(err)
	}
	refusing := New(Config{Policy: strict, Checker: permissions.NewChecker(strict, nil), State: Stores{AuditTrail: stepStore{}, Counters: stepStore{}}, Directory: emptyDirectory{}, Slack: SlackParts{DMs: stepDMs{}}, Settings: Settings{MaxTargets: 5}}).steps
	f.Fuzz(func(t *testing.T, fn, user, profile, action, simIDs, channel string) {
		s := Step{ExecutionID: "Fx1", Function: fn, User: user, Profile: profile, Action: action, SIMIDs: simIDs, Channel: channel}
		if _, _, why := refusing.stepOperation(context.Background(), s); len(why) > 600 || why == "" {
			t.Fatalf("refusal of %d bytes where nobody may do anything: %.100q", len(why), why)
		}
		op, _, why := r.stepOperation(context.Background(), s)
		if why != "" {
			if len(why) > 600 || (!utf8.ValidString(why) && utf8.ValidString(fn+user+profile+action+simIDs+channel)) {
				t.Fatalf("refusal of %d bytes or invalid text: %.100q", len(why), why)
			}
			return
		}
		if len(op.Targets) == 0 || len(op.Targets) > r.maxTargets() || op.Expected != len(op.Targets) || op.ChannelID == "" || op.UserID != user {
			t.Fatalf("accepted a malformed operation %+v from %+v", op, s)
		}
		switch op.Kind {
		case "sim.activate", "sim.deactivate", "sim.reactivate", switchboard.PermFMUSet:
		default:
			t.Fatalf("accepted kind %q from %+v", op.Kind, s)
		}
	})
}

// TestStepRefusesAnOverlongUserID: a user_id far longer than any Slack ID
// is refused as not a person, and the refusal does not repeat it.
func TestStepRefusesAnOverlongUserID(t *testing.T) {
	policy, err := permissions.Parse([]byte("roles: [{name: a, members: [\"*\"], permissions: [\"*\"]}]\nworkflows: {allow: [set_fmu_profile, sim_change]}\nrequire_approval: []\n"), Names())
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{Policy: policy, Checker: permissions.NewChecker(policy, nil), State: Stores{AuditTrail: stepStore{}, Counters: stepStore{}}, Directory: stepDirectory{}, Slack: SlackParts{DMs: stepDMs{}}, Settings: Settings{MaxTargets: 5}}).steps
	long := "U" + strings.Repeat("A", 5000)
	for _, s := range []Step{
		{ExecutionID: "Fx1", Function: "set_fmu_profile", User: long, Profile: "ON_DUTY"},
		{ExecutionID: "Fx2", Function: "sim_change", User: long, Action: "activate", SIMIDs: "0471 00 00 01"},
	} {
		_, _, why := r.stepOperation(context.Background(), s)
		if !strings.Contains(why, "user_id input must be a person") {
			t.Errorf("%s: got %.100q, want the user_id refused", s.Function, why)
		}
		if len(why) > 300 || strings.Contains(why, strings.Repeat("A", 40)) {
			t.Errorf("%s: refusal of %d bytes repeats the id: %.100q", s.Function, len(why), why)
		}
	}
}
