package enco_test

import (
	"errors"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/switchboard-bot/switchboard/enco"
)

func TestSIMCards(t *testing.T) {
	areas := []enco.ServiceArea{{Code: "BE", Description: "Belgium"}, {Code: "EU", Description: "European Union"}}
	want := enco.SIMCard{
		State:      "Deactivated",
		Device:     enco.Device{Identifier: "8932010000000000003", IdentifierType: enco.ICCID},
		CostCenter: "Logistics",
		Data: enco.Service{PlanCode: "M2M-DATA-100MB", PlanDescription: "Data plan M2M-DATA-100MB", ServiceType: "DATA",
			ServiceAreas: areas, Features: []enco.Feature{{Code: "ROAMING", Enabled: false}}, DailyThreshold: 50, MonthlyThreshold: 1000},
		SMS:          enco.Service{PlanCode: "M2M-SMS-50", ServiceAreas: areas},
		Voice:        enco.Service{PlanCode: "M2M-VOICE-BASIC", ServiceAreas: areas},
		AccessPoints: []enco.AccessPoint{{Code: "m2m.proximus.be"}},
		CustomFields: map[string]string{"Custom Field 1": "asset-03", "Custom Field 2": "Brussels HQ"},
	}
	tests := []struct {
		name   string
		msisdn string
		want   []enco.SIMCard
	}{
		{"known", "32471000003", []enco.SIMCard{want}},
		{"unknown", "32471999999", []enco.SIMCard{}},
	}
	sb, c := newSandbox(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.SIMCards(testContext(t), tt.msisdn)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d cards, want %d", len(got), len(tt.want))
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				// Custom fields the sandbox leaves blank are reported empty.
				for k, v := range g.CustomFields {
					if v == "" {
						delete(g.CustomFields, k)
					}
				}
				if !maps.Equal(g.CustomFields, w.CustomFields) {
					t.Errorf("custom fields: got %v, want %v", g.CustomFields, w.CustomFields)
				}
				g.CustomFields, w.CustomFields = nil, nil
				if !reflect.DeepEqual(g, w) {
					t.Errorf("got %+v\nwant %+v", g, w)
				}
			}
		})
	}
	for _, r := range sb.APIRequests() {
		if r.Header.Get("X-Api-Key") != sb.APIKey {
			t.Errorf("%s %s: x-api-key %q, want %q", r.Method, r.Path, r.Header.Get("X-Api-Key"), sb.APIKey)
		}
		if keys := slices.Collect(maps.Keys(r.Query)); !slices.Equal(keys, []string{"msisdn"}) {
			t.Errorf("%s %s: query parameters %q, want msisdn only", r.Method, r.Path, keys)
		}
	}
}

func TestSIMCardsWrongAPIKey(t *testing.T) {
	_, c := newSandbox(t)
	c.APIKey = "stolen"
	_, err := c.SIMCards(testContext(t), "32471000001")
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden || apiErr.Code != 900908 {
		t.Errorf("got %v, want *enco.Error 403 with code 900908", err)
	}
}

func TestRequestM2MCallbacks(t *testing.T) {
	sb, c := newSandbox(t)
	rcv := newReceiver(t)
	ctx := testContext(t)
	headers := map[string]string{"Authorization": "Bearer callback-secret", "x-env": "test"}
	if err := c.ConfigureM2MCallback(ctx, rcv.URL+"/m2m", headers); err != nil {
		t.Fatal(err)
	}
	devices := []enco.Device{
		{Identifier: "32471000001", IdentifierType: enco.MSISDN},        // Active
		{Identifier: "206010000000002", IdentifierType: enco.IMSI},      // Active
		{Identifier: "8932010000000000004", IdentifierType: enco.ICCID}, // Ready: cannot be deactivated
		{Identifier: "32471999999", IdentifierType: enco.MSISDN},        // unknown
	}
	tracking, err := c.RequestM2M(ctx, enco.Deactivation, devices, "request-42")
	if err != nil {
		t.Fatal(err)
	}
	if tracking == "" {
		t.Fatal("empty tracking number")
	}
	want := map[string]enco.M2MResult{
		"8932010000000000001": {TrackingNumber: tracking, Device: enco.Device{Identifier: "8932010000000000001", IdentifierType: enco.ICCID}, ResultStatus: "Success"},
		"8932010000000000002": {TrackingNumber: tracking, Device: enco.Device{Identifier: "8932010000000000002", IdentifierType: enco.ICCID}, ResultStatus: "Success"},
		"8932010000000000004": {TrackingNumber: tracking, Device: enco.Device{Identifier: "8932010000000000004", IdentifierType: enco.ICCID}, ResultStatus: "Failed",
			Messages: []string{"deactivation is not possible for a SIM card in state Ready"}},
		"32471999999": {TrackingNumber: tracking, Device: enco.Device{Identifier: "32471999999", IdentifierType: enco.MSISDN}, ResultStatus: "Failed",
			Messages: []string{"SIM card not found"}},
	}
	for _, p := range rcv.wait(t, len(devices)) {
		if got := p.header.Get("Authorization"); got != "Bearer callback-secret" {
			t.Errorf("callback Authorization: got %q, want the configured one", got)
		}
		if got := p.header.Get("X-Env"); got != "test" {
			t.Errorf("callback x-env: got %q, want %q", got, "test")
		}
		if got := p.header.Get("X-Callback-Token"); got != "request-42" {
			t.Errorf("callback x-callback-token: got %q, want %q", got, "request-42")
		}
		r, err := enco.DecodeM2MResult(p.body)
		if err != nil {
			t.Fatalf("decode %s: %v", p.body, err)
		}
		w, ok := want[r.Device.Identifier]
		if !ok {
			t.Errorf("callback for unexpected device %v", r.Device)
			continue
		}
		delete(want, r.Device.Identifier)
		if r.TrackingNumber != w.TrackingNumber || r.Device != w.Device || r.ResultStatus != w.ResultStatus || !slices.Equal(r.Messages, w.Messages) {
			t.Errorf("got %+v, want %+v", r, w)
		}
		if r.Succeeded() != (w.ResultStatus == "Success") {
			t.Errorf("%v: Succeeded() = %v, want %v", r.Device, r.Succeeded(), !r.Succeeded())
		}
	}
	if len(want) != 0 {
		t.Errorf("no callback for %v", slices.Collect(maps.Keys(want)))
	}
	for id, state := range map[string]string{"32471000001": "Deactivated", "32471000002": "Deactivated", "32471000004": "Ready"} {
		if sim, _ := sb.SIM(id); sim.State != state {
			t.Errorf("state of %s: got %s, want %s", id, sim.State, state)
		}
	}
}

func TestConfigureM2MCallbackHeaders(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		ok      bool
	}{
		{"none", nil, true},
		{"authorization", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, true},
		{"authorization lower case", map[string]string{"authorization": "Bearer x"}, true},
		{"x- headers", map[string]string{"x-tenant": "ops", "X-Trace": "1"}, true},
		{"content-type", map[string]string{"Content-Type": "text/plain"}, false},
		{"cookie beside allowed", map[string]string{"x-ok": "1", "Cookie": "a=b"}, false},
		{"bare x-", map[string]string{"x-": "1"}, false},
		{"line break in value", map[string]string{"x-evil": "a\r\nHost: b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, c := newSandbox(t)
			err := c.ConfigureM2MCallback(testContext(t), "https://bot.example/callbacks/m2m", tt.headers)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				url, got := sb.M2MCallback()
				if url != "https://bot.example/callbacks/m2m" || !maps.Equal(got, tt.headers) {
					t.Errorf("configured: got %q %v, want the URL and %v", url, got, tt.headers)
				}
				return
			}
			if !errors.Is(err, enco.ErrInvalidRequest) {
				t.Errorf("got %v, want ErrInvalidRequest", err)
			}
			if n := len(sb.Requests()); n != 0 {
				t.Errorf("requests: got %d, want 0", n)
			}
		})
	}
}
