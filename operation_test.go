package switchboard

import (
	"encoding/json"
	"maps"
	"reflect"
	"testing"
	"time"
)

// storedOperation is an operation as versions before typed parameters wrote
// it to Redis, with every parameter key they used.
const storedOperation = `{"id":"0123456789abcdef0123456789abcdef","kind":"fmu.set","user_id":"U0ME","channel_id":"C0CHAN","thread_ts":"1.2",` +
	`"targets":["msisdn:32470000002","iccid:89320123456789012345","32470000003"],` +
	`"params":{"action":"deactivation","cli":"3228160257","origin":"3228160258","permission":"fmu.self","presentation":"restricted",` +
	`"profile":"ON_DUTY","session":"61200001","sms":"yes","step":"Fx1","step_dm":"1","step_function":"sim_change","tier":"PREMIUM",` +
	`"title":"Set 2 profiles","tracking":"T-1","type":"FIXED","who:32470000002":"U0BOB","who:32470000003":"U0ANN","zone":"02"},` +
	`"expected":3,"status":"running","created_at":"2026-11-27T10:00:00Z","expires_at":"2026-11-28T10:00:00Z"}`

func TestOperationStoredFormat(t *testing.T) {
	var op Operation
	if err := json.Unmarshal([]byte(storedOperation), &op); err != nil {
		t.Fatal(err)
	}
	want := Params{Title: "Set 2 profiles", Action: "deactivation", Tracking: "T-1", Profile: "ON_DUTY",
		Who:    map[string]string{"32470000002": "U0BOB", "32470000003": "U0ANN"},
		Origin: "3228160258", Session: "61200001", CLI: "3228160257", Presentation: "restricted",
		Zone: "02", Type: "FIXED", Tier: "PREMIUM", SMS: "yes",
		Step: "Fx1", StepFunction: "sim_change", StepDM: true, Permission: "fmu.self"}
	if !reflect.DeepEqual(op.Params, want) {
		t.Errorf("params: got %+v, want %+v", op.Params, want)
	}
	if len(op.Targets) != 3 || op.Targets[0] != Number("32470000002") || op.Targets[1] != (Target{ICCID, "89320123456789012345"}) || op.Targets[2].String() != "32470000003" {
		t.Errorf("targets: got %+v", op.Targets)
	}
	if op.Expected != 3 || op.Status != StatusRunning || !op.ExpiresAt.Equal(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("got expected %d, status %q, expires %v", op.Expected, op.Status, op.ExpiresAt)
	}
	b, err := json.Marshal(op)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != storedOperation {
		t.Errorf("re-encoded:\n got %s\nwant %s", b, storedOperation)
	}
}

func TestParamsKeepUnknownKeys(t *testing.T) {
	in := `{"future":"x","title":"T"}`
	var p Params
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	p.Tracking = "T-2"
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"future": "x", "title": "T", "tracking": "T-2"}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestOperationWithoutParams(t *testing.T) {
	b, err := json.Marshal(Operation{ID: "a", Kind: KindCallSelf, Params: Params{Who: map[string]string{"1": ""}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"a","kind":"call.self","user_id":"","channel_id":"","expected":0,"status":"","created_at":"0001-01-01T00:00:00Z","expires_at":"0001-01-01T00:00:00Z"}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

// FuzzParamsJSON reads arbitrary params objects, as a newer replica or a
// damaged key might have written them: whatever reads is written back in a
// form that reads as the same parameters, inside an operation too.
func FuzzParamsJSON(f *testing.F) {
	for _, s := range []string{`{"who:":"U0X","title":"t","future":"y","step_dm":"0","who:1":""}`, `{"who:who:1":"U","step_dm":""}`, `null`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var p Params
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			return
		}
		b, err := json.Marshal(Operation{Params: p})
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		var op Operation
		if err := json.Unmarshal(b, &op); err != nil {
			t.Fatalf("%q: written as %s, which does not read: %v", s, b, err)
		}
		again, err := json.Marshal(op)
		if err != nil || string(again) != string(b) {
			t.Fatalf("%q: written as %s, then as %s (%v)", s, b, again, err)
		}
	})
}
