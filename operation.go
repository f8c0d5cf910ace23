package switchboard

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Operation statuses.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusExpired   = "expired"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Operation is one user request (e.g. "deactivate these 3 SIMs"), from its
// confirmation to its last callback.
//
// It is kept in Redis as JSON for up to a day, and replicas of two versions
// read and write it side by side during an upgrade, so its JSON shape (the
// field names, their order, and the "params" object with its keys) does not
// change.
type Operation struct {
	ID        string    `json:"id"`                  // random, unguessable: 32 hex digits (128 bits) from state.NewHex(16)
	Kind      string    `json:"kind"`                // one of the Kind constants, e.g. "sim.deactivate", "fmu.set", "call.self", "number.reserve"
	UserID    string    `json:"user_id"`             // the requester
	ChannelID string    `json:"channel_id"`          // where the request was made
	ThreadTS  string    `json:"thread_ts,omitempty"` // ts of the bot's parent message (thread root); "" until posted
	Targets   []Target  `json:"targets,omitempty"`   // as typed and normalised, e.g. "msisdn:32470123456", "iccid:8932..."
	Params    Params    `json:"params,omitzero"`     // what the command adds to its kind
	Expected  int       `json:"expected"`            // how many results complete it
	Status    string    `json:"status"`              // one of the Status constants
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Params are what a command keeps in an operation besides its kind and
// targets; a command sets only the fields it needs. In JSON they are one
// object of strings, each field under its own key (given with the field)
// and each person of Who under "who:<digits>", an empty field left out.
type Params struct {
	Title    string // "title": what the confirmation asked, e.g. "Deactivate 3 SIM cards"
	Action   string // "action": the EnCo M2M action of a SIM change, e.g. "deactivation"
	Tracking string // "tracking": the tracking number of an M2M request, once EnCo returned it
	// Batch ("batch", digits) is how many cards go in each M2M request of
	// a change sent in batches (see fleet.Sender); 0 for a change sent as
	// one request, whose tracking number is Tracking. With 1, each
	// tracking number stands for one target, and results name it.
	Batch int

	Profile string // "profile": the FMU profile an fmu.set sets, e.g. "ON_DUTY"
	// Who names the person each number belongs to when the command named
	// people: E.164 digits -> Slack user ID ("who:<digits>").
	Who map[string]string

	Origin       string // "origin": the phone of a call that rings first, E.164 digits
	Session      string // "session": EnCo's session id of a call, once it is placed
	CLI          string // "cli": the caller id asked for a call
	Presentation string // "presentation": the caller id presentation asked for a call

	Zone string // "zone": the zone of a number to reserve (given, or the number's own)
	Type string // "type": the number type asked for a reservation, FIXED or MOBILE
	Tier string // "tier": the price tier asked for a reservation, REGULAR or PREMIUM
	SMS  string // "sms": "yes" or "no" when the reservation asked for SMS support

	Step         string // "step": the function_execution_id of the workflow step that started the operation
	StepFunction string // "step_function": that step's callback_id
	StepDM       bool   // "step_dm": the step operation's channel is the direct message with its named person

	// Permission ("permission") is the permission the operation is checked
	// against when it differs from its kind (a workflow's own FMU profile
	// change runs as fmu.set but needs fmu.self, as /fmu on-duty does).
	Permission string

	// other keeps the keys this version does not know, so that an operation
	// written by a newer replica keeps them through this one's updates.
	other map[string]string
}

// whoPrefix prefixes the key of each entry of Params.Who.
const whoPrefix = "who:"

// fields lists the string fields of p with their JSON keys.
func (p *Params) fields() []struct {
	key string
	val *string
} {
	return []struct {
		key string
		val *string
	}{
		{"title", &p.Title}, {"action", &p.Action}, {"tracking", &p.Tracking},
		{"profile", &p.Profile},
		{"origin", &p.Origin}, {"session", &p.Session}, {"cli", &p.CLI}, {"presentation", &p.Presentation},
		{"zone", &p.Zone}, {"type", &p.Type}, {"tier", &p.Tier}, {"sms", &p.SMS},
		{"step", &p.Step}, {"step_function", &p.StepFunction}, {"permission", &p.Permission},
	}
}

// stepDMValue is what "step_dm" holds when StepDM is set.
const stepDMValue = "1"

// IsZero reports whether p sets nothing, so that an operation without
// parameters is written without "params", as it always was.
func (p Params) IsZero() bool { return len(p.asMap()) == 0 }

func (p Params) asMap() map[string]string {
	m := make(map[string]string, len(p.other)+len(p.Who)+4)
	for k, v := range p.other {
		m[k] = v
	}
	for _, f := range p.fields() {
		if *f.val != "" {
			m[f.key] = *f.val
		}
	}
	if p.StepDM {
		m["step_dm"] = stepDMValue
	}
	if p.Batch > 0 {
		m["batch"] = strconv.Itoa(p.Batch)
	}
	for digits, user := range p.Who {
		if user != "" {
			m[whoPrefix+digits] = user
		}
	}
	return m
}

// MarshalJSON writes the parameters as one object of strings.
func (p Params) MarshalJSON() ([]byte, error) {
	return json.Marshal(p.asMap())
}

// UnmarshalJSON reads the object MarshalJSON writes.
func (p *Params) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*p = Params{}
	for _, f := range p.fields() {
		if v, ok := m[f.key]; ok {
			*f.val = v
			delete(m, f.key)
		}
	}
	if v, ok := m["step_dm"]; ok {
		p.StepDM = v != ""
		delete(m, "step_dm")
	}
	if v, ok := m["batch"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("params: batch %q is not a count", v)
		}
		p.Batch = n
		delete(m, "batch")
	}
	for k, v := range m {
		if digits, ok := strings.CutPrefix(k, whoPrefix); ok {
			if p.Who == nil {
				p.Who = map[string]string{}
			}
			p.Who[digits] = v
			continue
		}
		if p.other == nil {
			p.other = map[string]string{}
		}
		p.other[k] = v
	}
	return nil
}
