package enco_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
)

// The contract tests hold the client and the sandbox to the EnCo
// documentation (api-docs/), each on its own: the sandbox shares no code
// with the client, so a mistake cannot hide in both. testdata/docs holds
// the documentation's own samples, copied as they are; placeholders
// ({your_msisdn}, {number}, {string}) are replaced by values of the
// sandbox's demo data.
//
// For every documented operation:
//   - the client, run against the sandbox, sends the documented request:
//     method, path, query and body equal to the documentation's sample;
//   - the sandbox answers in the documented shape: the same members, of
//     the same JSON types, as the documentation's sample answer;
//   - the client, given the documentation's sample answer, reads what it
//     says.
type contract struct {
	name string
	// setup gives the sandbox the sample's values.
	setup func(*sandbox.Sandbox)
	// call is the bot's call; its result is compared with want.
	call func(context.Context, *enco.Client) (any, error)
	// method and path of the documented request.
	method, path string
	// query is the documented query, "" when the request has none.
	query string
	// request is the fixture of the documented body, "" when it has none.
	request string
	// reply is the fixture of the documented answer, "" when the
	// documentation shows none.
	reply string
	// noPayload is set where the documentation says the answer has none.
	noPayload bool
	// want is what the client reads from the documented answer.
	want any
}

var contracts = []contract{
	{
		name:   "fmu status of one number",
		setup:  func(sb *sandbox.Sandbox) { sb.SetFMU("32477121212", sandbox.ProfilePrivate) },
		call:   func(ctx context.Context, c *enco.Client) (any, error) { return c.FMUStatus(ctx, "32477121212") },
		method: "GET", path: "/fmu/1.0.0/status", query: "msisdn=32477121212",
		reply: "fmu_status_reply.json",
		want:  enco.FMUStatus{MSISDN: "32477121212", Status: enco.ProfilePrivate},
	},
	{
		name:  "fmu set status of one number",
		setup: func(sb *sandbox.Sandbox) { sb.SetFMU("32471121212", sandbox.ProfileOnDuty) },
		call: func(ctx context.Context, c *enco.Client) (any, error) {
			return nil, c.SetFMUStatus(ctx, "32471121212", enco.ProfilePrivate)
		},
		method: "PUT", path: "/fmu/1.0.0/status",
		request: "fmu_set_request.json", reply: "fmu_set_reply.json",
	},
	{
		name: "fmu register callback",
		call: func(ctx context.Context, c *enco.Client) (any, error) {
			return nil, c.RegisterFMUCallback(ctx, "http://feedback.com")
		},
		method: "POST", path: "/fmu/1.0.0/register_callback",
		request: "fmu_register_callback_request.json", noPayload: true,
	},
	{
		name: "fmu status of several numbers",
		setup: func(sb *sandbox.Sandbox) {
			sb.SetFMU("32471121212", sandbox.ProfilePrivate)
			sb.SetFMU("32471121213", sandbox.ProfileProfessional)
			sb.SetDropCallbacks(true) // the sample's callback URL is no real one
		},
		call: func(ctx context.Context, c *enco.Client) (any, error) {
			return c.RequestFMUStatuses(ctx, []string{"32471121212", "32471121213"}, "https://callbackoptional.url")
		},
		method: "GET", path: "/fmu/1.0.0/status", query: "@fmu_status_multiple_query.txt",
		want: []enco.FMUResult(nil),
	},
	{
		name:   "m2m read a SIM card",
		call:   func(ctx context.Context, c *enco.Client) (any, error) { return c.SIMCards(ctx, "32471000001") },
		method: "GET", path: "/m2m/1.0.0/simcards", query: "msisdn=32471000001",
		reply: "m2m_simcards_reply.json",
		want:  []enco.SIMCard{docSIMCard()},
	},
	{
		name: "m2m configure callback",
		call: func(ctx context.Context, c *enco.Client) (any, error) {
			return nil, c.ConfigureM2MCallback(ctx, "https://bot.example/callbacks/m2m",
				map[string]string{"Authorization": "Bearer callback-secret", "x-test": "Another custom header"})
		},
		method: "POST", path: "/m2m/1.0.0/configure/callback",
		request: "m2m_configure_callback_request.json", noPayload: true,
	},
	{
		name: "m2m deactivation",
		call: func(ctx context.Context, c *enco.Client) (any, error) {
			return c.RequestM2M(ctx, enco.Deactivation, []enco.Device{{Identifier: "32471000001", IdentifierType: enco.MSISDN}}, "encotest")
		},
		method: "POST", path: "/m2m/1.0.0/requests/deactivation",
		request: "m2m_deactivation_request.json", reply: "m2m_request_reply.json",
		want: "717ccaa0-1234-5678-1234-9444e657ca96",
	},
	{
		name: "voice call",
		call: func(ctx context.Context, c *enco.Client) (any, error) {
			return c.PlaceCall(ctx, enco.CallRequest{Origin: "3228160257", Destination: "32468373901", Presentation: "ALLOWED"})
		},
		method: "POST", path: "/vca/1.0.0/call",
		request: "voice_call_request.json", reply: "voice_call_reply.json",
		want: "123456",
	},
	{
		name: "voice CDRs",
		call: func(ctx context.Context, c *enco.Client) (any, error) {
			cdrs, err := c.CDRs(ctx, enco.CDRQuery{From: time.Date(2021, 9, 25, 15, 30, 0, 0, time.UTC)})
			var ids []string
			for _, cdr := range cdrs {
				ids = append(ids, cdr.SessionID+" "+cdr.CallReleaseInfo)
			}
			return ids, err
		},
		method: "GET", path: "/vca/1.0.0/cdr", query: "from=2021-09-25T15:30:00.000Z",
		reply: "voice_cdr_reply.json",
		want:  []string{"61146645 Leg1-404-NotFound received", "61168475 Leg1-404-NotFound received"},
	},
	{
		name: "numbers available",
		call: func(ctx context.Context, c *enco.Client) (any, error) {
			return c.AvailableNumbers(ctx, enco.NumberFilter{Zone: "02", Type: "FIXED", PriceTier: "REGULAR"})
		},
		method: "GET", path: "/cpaas-mgmt/1.0.0/phonenumbers/available", query: "zone=02&type=FIXED&priceTier=REGULAR",
		reply: "numbers_available_reply.json",
		want: []enco.PhoneNumber{
			{Number: "3222060746", Type: "FIXED", PriceTier: "REGULAR"},
			{Number: "3222060745", Type: "FIXED", PriceTier: "REGULAR"},
			{Number: "3222060742", Type: "FIXED", PriceTier: "REGULAR"},
		},
	},
	{
		name: "numbers reserve",
		call: func(ctx context.Context, c *enco.Client) (any, error) {
			n, err := c.ReserveNumber(ctx, enco.ReserveRequest{Number: "3222060744", Type: "FIXED", Zone: "02", PricingTier: "REGULAR"})
			return n.Number, err
		},
		method: "POST", path: "/cpaas-mgmt/1.0.0/phonenumbers", query: "addressInZoneConfirmed=true",
		request: "numbers_reserve_request.json",
	},
	{
		name:   "numbers release",
		call:   func(ctx context.Context, c *enco.Client) (any, error) { return nil, c.ReleaseNumber(ctx, "3228160257") },
		method: "DELETE", path: "/cpaas-mgmt/1.0.0/phonenumbers/3228160257",
	},
}

// docSIMCard is what the M2M documentation's sample answer says.
func docSIMCard() enco.SIMCard {
	areas := []enco.ServiceArea{{Code: "string", Description: "string"}}
	custom := map[string]string{}
	for i := 1; i <= 7; i++ {
		custom[fmt.Sprintf("Custom Field %d", i)] = "string"
	}
	return enco.SIMCard{
		State:      "Ready",
		Device:     enco.Device{Identifier: "string", IdentifierType: enco.IMSI},
		CostCenter: "string",
		Data: enco.Service{PlanCode: "string", PlanDescription: "string", ServiceType: "SMS", ServiceAreas: areas,
			Features: []enco.Feature{{Code: "string", Enabled: true}}},
		SMS:          enco.Service{PlanCode: "string", ServiceAreas: areas, Features: []enco.Feature{{Code: "string", Enabled: true}}},
		Voice:        enco.Service{PlanCode: "string", ServiceAreas: areas, Features: []enco.Feature{{Code: "string", Enabled: true}}},
		AccessPoints: []enco.AccessPoint{{Code: "string", StaticIP: "string", UserName: "string", CustomName: "string"}},
		CustomFields: custom,
	}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recorder keeps the answers a client got, by path.
type recorder struct {
	base    http.RoundTripper
	mu      sync.Mutex
	answers map[string][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.answers[req.URL.Path] = body
	r.mu.Unlock()
	return res, nil
}

// TestContractWithTheSandbox runs each documented operation from the
// client against the sandbox.
func TestContractWithTheSandbox(t *testing.T) {
	for _, ct := range contracts {
		t.Run(ct.name, func(t *testing.T) {
			sb := sandbox.New(t)
			if ct.setup != nil {
				ct.setup(sb)
			}
			rec := &recorder{base: sb.HTTPClient().Transport, answers: map[string][]byte{}}
			ts := enco.NewTokenSource(context.Background(), sb.URL+"/token", sb.ClientID, sb.ClientSecret, &http.Client{Transport: rec})
			c := &enco.Client{BaseURL: sb.URL, APIKey: sb.APIKey, HTTPClient: enco.NewHTTPClient(ts, rec)}
			if _, err := ct.call(testContext(t), c); err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := sb.APIRequests()
			if len(reqs) != 1 || reqs[0].Method != ct.method || reqs[0].Path != ct.path {
				t.Fatalf("requests = %+v, want one %s %s", reqs, ct.method, ct.path)
			}
			wantQuery(t, reqs[0].Query, ct.query)
			if ct.request != "" {
				sameJSON(t, "request body", reqs[0].Body, fixture(t, ct.request))
			} else if len(reqs[0].Body) != 0 {
				t.Errorf("request body %s, want none", reqs[0].Body)
			}
			answer := rec.answers[ct.path]
			if ct.reply != "" {
				sameShape(t, answer, fixture(t, ct.reply))
			} else if ct.noPayload && len(bytes.TrimSpace(answer)) != 0 {
				t.Errorf("answer %s, want no payload, as documented", answer)
			}
			// The token request is the documented one, with the
			// credentials in the body rather than the URL.
			for _, r := range sb.Requests() {
				if r.Path != "/token" {
					continue
				}
				form, _ := url.ParseQuery(string(r.Body))
				if keys := slices.Sorted(maps.Keys(form)); !slices.Equal(keys, []string{"client_id", "client_secret", "grant_type", "scope"}) || len(r.Query) != 0 {
					t.Errorf("token request: form %v, query %v; want grant_type, scope and the credentials in the body only", keys, r.Query)
				}
				sameShape(t, rec.answers["/token"], fixture(t, "token_reply.json"))
			}
		})
	}
}

// TestContractReadsTheDocumentedAnswers gives the client each
// documentation sample answer and checks what it reads.
func TestContractReadsTheDocumentedAnswers(t *testing.T) {
	for _, ct := range contracts {
		if ct.reply == "" {
			continue
		}
		t.Run(ct.name, func(t *testing.T) {
			body := fixture(t, ct.reply)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != ct.method || r.URL.Path != ct.path {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write(body)
			}))
			t.Cleanup(srv.Close)
			c := &enco.Client{BaseURL: srv.URL, HTTPClient: srv.Client(), APIKey: "key"}
			got, err := ct.call(testContext(t), c)
			if err != nil {
				t.Fatalf("reading %s: %v", ct.reply, err)
			}
			if !reflect.DeepEqual(got, ct.want) {
				t.Errorf("read %s as\n%#v\nwant\n%#v", ct.reply, got, ct.want)
			}
		})
	}
}

// TestContractCallbacks: the sandbox's M2M callback is in the documented
// shape, and the client's decoder reads the documented sample.
func TestContractCallbacks(t *testing.T) {
	sb, c := newSandbox(t)
	rcv := newReceiver(t)
	ctx := testContext(t)
	if err := c.ConfigureM2MCallback(ctx, rcv.URL, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RequestM2M(ctx, enco.Deactivation, []enco.Device{{Identifier: "32471000001", IdentifierType: enco.MSISDN}}, "encotest"); err != nil {
		t.Fatal(err)
	}
	got := rcv.wait(t, 1)[0]
	sameShape(t, got.body, fixture(t, "m2m_callback.json"))
	if got.header.Get("x-callback-token") != "encotest" {
		t.Errorf("callback x-callback-token = %q, want the request's", got.header.Get("x-callback-token"))
	}
	r, err := enco.DecodeM2MResult(fixture(t, "m2m_callback.json"))
	want := enco.M2MResult{TrackingNumber: "717ccaa0-1234-5678-1234-9444e657ca96", Device: enco.Device{Identifier: "0123456789012345678", IdentifierType: enco.ICCID}, ResultStatus: "Success"}
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Errorf("documented callback read as %+v, %v; want %+v", r, err, want)
	}
	if cbs, err := sb.WaitCallbacks(ctx, 1); err != nil || len(cbs) != 1 || !cbs[0].Delivered() {
		t.Errorf("callbacks = %+v, %v; want one delivered", cbs, err)
	}
}

// TestContractRevoke: the client's revoke request carries the documented
// form, and the sandbox revokes as documented: the next token is a new one.
func TestContractRevoke(t *testing.T) {
	sb, c := newSandbox(t)
	ctx := testContext(t)
	if _, err := c.HeldNumbers(ctx); err != nil {
		t.Fatal(err)
	}
	old := sb.AccessToken()
	sb.RefuseToken()
	if _, err := c.HeldNumbers(ctx); err != nil {
		t.Fatal(err)
	}
	doc, err := url.ParseQuery(strings.TrimSpace(string(fixture(t, "revoke_request.txt"))))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sb.Requests() {
		if r.Path != "/revoke" {
			continue
		}
		form, _ := url.ParseQuery(string(r.Body))
		if !slices.Equal(slices.Sorted(maps.Keys(form)), slices.Sorted(maps.Keys(doc))) || form.Get("token") != old {
			t.Errorf("revoke form %v, want the documented members %v with the old token", form, slices.Sorted(maps.Keys(doc)))
		}
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || len(r.Query) != 0 {
			t.Errorf("revoke: Content-Type %q, query %v; want a form body and no query", r.Header.Get("Content-Type"), r.Query)
		}
	}
	if sb.RevokeRequests() != 1 || sb.AccessToken() == old {
		t.Errorf("revokes %d, token changed %v; want one revoke and a new token", sb.RevokeRequests(), sb.AccessToken() != old)
	}
}

// wantQuery compares a query with the documented one ("@file" reads it
// from a fixture); times are compared as instants.
func wantQuery(t *testing.T, got url.Values, doc string) {
	t.Helper()
	if strings.HasPrefix(doc, "@") {
		doc = strings.TrimSpace(string(fixture(t, doc[1:])))
	}
	want, err := url.ParseQuery(doc)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		g := got.Get(k)
		if gt, err1 := time.Parse(time.RFC3339, g); err1 == nil {
			if wt, err2 := time.Parse(time.RFC3339, v[0]); err2 == nil && gt.Equal(wt) {
				continue
			}
		}
		if g != v[0] {
			t.Errorf("query %s = %q, want %q", k, g, v[0])
		}
	}
	for k := range got {
		if !want.Has(k) && !slices.Contains([]string{"limit", "page"}, k) {
			t.Errorf("query parameter %s is not in the documented request %q", k, doc)
		}
	}
}

// sameJSON compares two JSON documents as values.
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s %s: %v", what, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("fixture %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want the documented %s", what, got, want)
	}
}

// sameShape checks that got has the members of the documented sample, of
// the same JSON types, and no others (an empty list matches any list).
func sameShape(t *testing.T, got, doc []byte) {
	t.Helper()
	var g, d any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer %s: %v", got, err)
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if diffs := shapeDiff("", g, d); len(diffs) > 0 {
		sort.Strings(diffs)
		t.Errorf("answer %s differs from the documented shape:\n%s", got, strings.Join(diffs, "\n"))
	}
}

func shapeDiff(at string, got, doc any) []string {
	switch d := doc.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", at, got)}
		}
		var out []string
		for k, dv := range d {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", at, k))
				continue
			}
			out = append(out, shapeDiff(at+"."+k, gv, dv)...)
		}
		for k := range g {
			if _, ok := d[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: not documented", at, k))
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want a list", at, got)}
		}
		if len(d) == 0 {
			return nil
		}
		var out []string
		for i, gv := range g {
			out = append(out, shapeDiff(fmt.Sprintf("%s[%d]", at, i), gv, d[0])...)
		}
		return out
	}
	if reflect.TypeOf(got) != reflect.TypeOf(doc) {
		return []string{fmt.Sprintf("%s: %T, want %T", at, got, doc)}
	}
	return nil
}
