package commands

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
)

// telNumbers records reservations and releases.
type telNumbers struct {
	mu       sync.Mutex
	reserved []enco.ReserveRequest
	released []string
	err      error
	filter   enco.NumberFilter
	list     []enco.PhoneNumber
}

func (n *telNumbers) AvailableNumbers(_ context.Context, f enco.NumberFilter) ([]enco.PhoneNumber, error) {
	n.filter = f
	return n.list, n.err
}

func (n *telNumbers) HeldNumbers(context.Context) ([]enco.PhoneNumber, error) { return n.list, n.err }

func (n *telNumbers) ReserveNumber(_ context.Context, r enco.ReserveRequest) (enco.PhoneNumber, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reserved = append(n.reserved, r)
	return enco.PhoneNumber{Number: r.Number, Type: "FIXED", PriceTier: "REGULAR"}, n.err
}

func (n *telNumbers) ReleaseNumber(_ context.Context, number string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.released = append(n.released, number)
	return n.err
}

func TestNumberFilter(t *testing.T) {
	tests := []struct {
		text    string
		want    enco.NumberFilter
		wantErr string
	}{
		{"", enco.NumberFilter{}, ""},
		{"zone=02 type=Fixed tier=premium", enco.NumberFilter{Zone: "02", Type: "FIXED", PriceTier: "PREMIUM"}, ""},
		{"zone=9", enco.NumberFilter{Zone: "09"}, ""},
		{"zone=050", enco.NumberFilter{Zone: "050"}, ""},
		{"type=mobile", enco.NumberFilter{Type: "MOBILE"}, ""},
		{"zone=0", enco.NumberFilter{}, "`zone=0` is not a telephone zone"},
		{"zone=0123", enco.NumberFilter{}, "not a telephone zone"},
		{"zone=068", enco.NumberFilter{Zone: "068"}, ""},
		{"zone=99", enco.NumberFilter{}, "`zone=99`: Belgium has no telephone zone 099. A zone is the area code of fixed numbers, like `zone=02` (Brussels)"},
		{"zone=1", enco.NumberFilter{}, "no telephone zone 01."},
		{"zone=023", enco.NumberFilter{}, "no telephone zone 023."},
		{"zone=047", enco.NumberFilter{}, "no telephone zone 047."},
		{"type=voip", enco.NumberFilter{}, "`fixed` or `mobile`"},
		{"tier=gold", enco.NumberFilter{}, "`regular` or `premium`"},
		{"zone=02 type=mobile", enco.NumberFilter{}, "no zone"},
		{"02", enco.NumberFilter{}, "takes only `zone=`"},
		{"area=02", enco.NumberFilter{}, "unknown option `area`"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			toks, _ := tokenize(tt.text)
			got, err := numberFilter(toks)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Msg, tt.wantErr) {
					t.Fatalf("numberFilter(%q) error = %v, want one containing %q", tt.text, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("numberFilter(%q) = %+v, %v; want %+v", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestNumberZone(t *testing.T) {
	tests := map[string]string{
		"3222060742":  "02",
		"3292010001":  "09",
		"3250123456":  "050",
		"3271123456":  "071",
		"32460000101": "", // mobile
		"31201234567": "", // not Belgian
	}
	for digits, want := range tests {
		if got := numberZone(digits); got != want {
			t.Errorf("numberZone(%s) = %q, want %q", digits, got, want)
		}
	}
}

func TestNumberConfirmations(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
		wantErr    string
	}{
		{"reserve a fixed number", "reserve 02 206 07 42", []string{"Reserve +32 2 206 07 42?", "+32 2 206 07 42 — fixed, zone 02", "billed by the month", "address in zone 02, as Belgian law requires"}, ""},
		{"reserve with its zone", "reserve 09 201 00 01 zone=09", []string{"address in zone 09"}, ""},
		{"reserve a mobile", "reserve 0460 00 01 01", []string{"— mobile", "address in the number's zone"}, ""},
		{"release", "release 02 816 02 57", []string{"Release +32 2 816 02 57?", "freezes the number for 15 days", "until "}, ""},
		{"zone of another number", "reserve 02 206 07 42 zone=03", nil, "`zone=03` does not match: +32 2 206 07 42 is in zone 02"},
		{"zone that does not exist", "reserve 02 206 07 42 zone=99", nil, "`zone=99`: Belgium has no telephone zone 099"},
		{"zone of a mobile", "reserve 0460 00 01 01 zone=02", nil, "has no zone"},
		{"release takes no zone", "release 02 816 02 57 zone=02", nil, "takes no options"},
		{"two numbers", "reserve 02 206 07 42 02 206 07 44", nil, "one number at a time"},
		{"foreign number", "reserve +31 20 123 4567", nil, "not a Belgian fixed or mobile number"},
		{"a pool number outside libphonenumber's tables", "reserve 3299999999", []string{"Reserve +32 9 999 99 99?", "+32 9 999 99 99 — fixed, zone 09"}, ""},
		{"type of another kind", "reserve 02 206 07 42 type=mobile", nil, "`type=mobile` does not match"},
		{"bad tier", "reserve 02 206 07 42 tier=gold", nil, "`tier=gold`"},
		{"bad sms", "reserve 02 206 07 42 sms=maybe", nil, "`sms=maybe`"},
		{"tier shown", "reserve 02 222 22 22 tier=premium", []string{"zone 02, premium tier"}, ""},
		{"premium as EnCo lists it", "reserve 02 222 22 22", []string{"Reserve premium number +32 2 222 22 22?", "zone 02, premium tier", "It is a *premium* number"}, ""},
		{"regular as EnCo lists it", "reserve 02 206 07 42", []string{"zone 02, regular tier"}, ""},
		{"not listed", "reserve 02 206 07 44", []string{"not in EnCo's list of available numbers"}, ""},
	}
	listed := []enco.PhoneNumber{
		{Number: "3222222222", Type: "FIXED", Zone: "02", PriceTier: "PREMIUM"},
		{Number: "3222060742", Type: "FIXED", Zone: "02", PriceTier: "REGULAR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTelFixture("number.reserve", "number.release")
			nums := &telNumbers{list: listed}
			f.cfg.EnCo.Numbers = nums
			reply := f.command(t, "/number", tt.text)
			text := reply.Text + string(mustJSON(t, reply.Blocks))
			if strings.HasPrefix(reply.Text, ":mag: Looking up") {
				// A reservation's confirmation follows its acknowledgement.
				m := f.slack.responses[len(f.slack.responses)-1]
				text = m.Text + string(mustJSON(t, m.Blocks))
			}
			if tt.wantErr != "" {
				if !strings.Contains(reply.Text, tt.wantErr) || len(f.store.confs) != 0 {
					t.Errorf("reply = %q, want a refusal containing %q and no confirmation", reply.Text, tt.wantErr)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("confirmation = %s, want it to contain %q", text, w)
				}
			}
			if len(nums.reserved)+len(nums.released) != 0 {
				t.Errorf("the API was called before the click")
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunNumber(t *testing.T) {
	op := func(kind string) switchboard.Operation {
		return switchboard.Operation{ID: "op1", Kind: kind, UserID: "U0ME", ChannelID: "C0CHAN", Targets: []switchboard.Target{switchboard.Number("3222060742")}, Expected: 1, Params: switchboard.Params{Title: kind}}
	}
	tests := []struct {
		name      string
		kind      string
		err       error
		wantOK    bool
		wantWords string
	}{
		{"reserved", "number.reserve", nil, true, "Reserved +32 2 206 07 42 (fixed, zone 02, regular tier)"},
		{"reserve refused", "number.reserve", &enco.Error{Op: "numbers reserve", StatusCode: 409, Message: "phone number 3222060742 is already held by your account"}, false, "was not reserved: EnCo refused it: phone number 3222060742 is already held"},
		{"released", "number.release", nil, true, "Released +32 2 206 07 42. It is frozen until"},
		{"release refused", "number.release", &enco.Error{Op: "numbers release", StatusCode: 404, Message: "phone number not held by your account"}, false, "was not released: EnCo refused it: phone number not held"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTelFixture()
			nums := &telNumbers{err: tt.err}
			f.cfg.EnCo.Numbers = nums
			f.router().numberCmd().run(context.Background(), op(tt.kind), "")
			results := f.store.results["op1"]
			if len(results) != 1 || results[0].OK != tt.wantOK || !strings.Contains(results[0].Detail, tt.wantWords) {
				t.Fatalf("results = %+v, want one with ok=%v saying %q", results, tt.wantOK, tt.wantWords)
			}
			if tt.kind == "number.reserve" && (len(nums.reserved) != 1 || nums.reserved[0].Number != "3222060742") {
				t.Errorf("reservations = %+v, want 3222060742", nums.reserved)
			}
			if tt.kind == "number.release" && (len(nums.released) != 1 || nums.released[0] != "3222060742") {
				t.Errorf("releases = %v, want 3222060742", nums.released)
			}
		})
	}
}

func TestNumberLists(t *testing.T) {
	f := newTelFixture("number.read")
	nums := &telNumbers{list: []enco.PhoneNumber{
		{Number: "3222060742", Type: "FIXED", PriceTier: "REGULAR"},
		{Number: "32460000101", Type: "MOBILE", PriceTier: "PREMIUM", SMSSupported: true},
	}}
	f.cfg.EnCo.Numbers = nums
	f.command(t, "/number", "available tier=premium")
	got := f.lastResponse(t)
	for _, w := range []string{"*2 numbers available (premium tier)*", "• `+32 2 206 07 42` — fixed, zone 02, regular tier", "• `+32 460 00 01 01` — mobile, premium tier, SMS"} {
		if !strings.Contains(got, w) {
			t.Errorf("answer = %q, want %q", got, w)
		}
	}
	if nums.filter.PriceTier != "PREMIUM" {
		t.Errorf("filter = %+v, want the premium tier asked for", nums.filter)
	}
	nums.list = nil
	f.command(t, "/number", "list")
	if got := f.lastResponse(t); !strings.Contains(got, "holds no numbers") {
		t.Errorf("empty list = %q", got)
	}
}

// EnCo's words about a number (type, zone, tier) reach Slack escaped: the
// list answers the requester, and a reservation's reply is posted in the
// channel's thread.
func TestNumberTraitsAreEscaped(t *testing.T) {
	const evil = "<!channel> <http://evil.example|click>"
	f := newTelFixture("number.read")
	f.cfg.EnCo.Numbers = &telNumbers{list: []enco.PhoneNumber{{Number: "3222060742", Type: evil, PriceTier: evil, Zone: evil}}}
	f.command(t, "/number", "available")
	got := f.lastResponse(t)
	if strings.Contains(got, "<!channel>") || strings.Contains(got, "<http") || !strings.Contains(got, "&lt;!channel&gt;") {
		t.Errorf("answer = %q, want EnCo's words escaped", got)
	}
	if got := numberTraits(enco.PhoneNumber{Number: "3222060742", Type: "FIXED", Zone: evil}); strings.Contains(got, "<") {
		t.Errorf("numberTraits = %q, want EnCo's zone escaped", got)
	}
}

// TestZonesAreTheBelgianAreaCodes: the zones /number takes are exactly the
// area codes of Belgian fixed numbers, as the numbering plan lists them.
func TestZonesAreTheBelgianAreaCodes(t *testing.T) {
	want := strings.Fields("02 03 04 09 010 011 012 013 014 015 016 019 050 051 052 053 054 055 056 057 058 059 " +
		"060 061 063 064 065 067 068 069 071 080 081 082 083 084 085 086 087 089")
	var got []string
	for i := 1; i < 100; i++ {
		if z, err := parseZone(strconv.Itoa(i)); err == nil {
			got = append(got, z)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("zones = %v, want %v", got, want)
	}
}
