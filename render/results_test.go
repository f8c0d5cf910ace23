package render

import (
	"strings"
	"testing"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
)

func TestExpiryText(t *testing.T) {
	fmuRead := switchboard.Operation{Kind: "fmu.read", Targets: []switchboard.Target{switchboard.Number("32470000001"), switchboard.Number("32470000002"), switchboard.Number("32470000003")},
		Params: switchboard.Params{Who: map[string]string{"32470000003": "U0BOB"}}}
	tests := []struct {
		name    string
		op      switchboard.Operation
		results []switchboard.Result
		mask    bool
		want    string
		notWant []string // names that must not appear
	}{
		{"names the silent numbers and their people", fmuRead, []switchboard.Result{{Target: "msisdn:32470000001"}}, false,
			"No answer from EnCo for 2 of 3 before the request expired: +32 470 00 00 02, <@U0BOB> (+32 470 00 00 03).", nil},
		{"masks them when asked", fmuRead, []switchboard.Result{{Target: "msisdn:32470000001"}, {Target: "msisdn:32470000003"}}, true,
			"for 1 of 3 before the request expired: +32 470 •• •• 02.", nil},
		{"a call", switchboard.Operation{Kind: "call.self", Targets: []switchboard.Target{switchboard.Number("32468373901")}}, nil, false,
			"EnCo sent no call record for this call", nil},
		{"SIM ids", switchboard.Operation{Kind: "sim.deactivate", Targets: []switchboard.Target{{Type: switchboard.ICCID, ID: "8932010000000000001"}}}, nil, false,
			"for 1 of 1 before the request expired: ICCID 8932010000000000001.", nil},
		{"numbers answered by ICCID are not named as silent", switchboard.Operation{Kind: "sim.deactivate", Targets: []switchboard.Target{switchboard.Number("32470000001"), switchboard.Number("32470000002"), switchboard.Number("32470000003")}},
			[]switchboard.Result{{Target: "iccid:8932010000000000001"}}, false,
			"No answer from EnCo for 2 of 3 before the request expired.", []string{"+32 470", "ICCID"}},
		{"all answered, some by ICCID", switchboard.Operation{Kind: "sim.deactivate", Targets: []switchboard.Target{switchboard.Number("32470000001"), switchboard.Number("32470000002")}},
			[]switchboard.Result{{Target: "iccid:8932010000000000001"}, {Target: "msisdn:32470000002"}}, false,
			"expired before EnCo confirmed it was complete (2 of 2 answered)", []string{"+32 470"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpiryText(tt.op, tt.results, tt.mask); !strings.Contains(got, tt.want) {
				t.Errorf("ExpiryText = %q, want it to contain %q", got, tt.want)
			}
			for _, bad := range tt.notWant {
				if got := ExpiryText(tt.op, tt.results, tt.mask); strings.Contains(got, bad) {
					t.Errorf("ExpiryText = %q, want no %q in it", got, bad)
				}
			}
		})
	}
}

func TestFMUResultText(t *testing.T) {
	read := switchboard.Operation{Kind: "fmu.read"}
	set := switchboard.Operation{Kind: "fmu.set", Params: switchboard.Params{Profile: "ON_DUTY"}}
	tests := []struct {
		name   string
		op     switchboard.Operation
		res    enco.FMUResult
		wantOK bool
		want   string
	}{
		{"read", read, enco.FMUResult{Status: enco.ProfileOnDuty, Kind: enco.FMUKindStatus}, true, "+32 470 00 00 01 — *On duty*"},
		{"read error", read, enco.FMUResult{IsError: true, Message: "MSISDN not found", Kind: enco.FMUKindStatus}, false, "could not read the profile: MSISDN not found"},
		{"read without a profile", read, enco.FMUResult{Kind: enco.FMUKindStatus}, false, "no known profile"},
		{"changed", set, enco.FMUResult{Success: true, Kind: enco.FMUKindChange}, true, "set to *On duty*"},
		{"change refused", set, enco.FMUResult{Success: false, Message: "FMU option not active", Kind: enco.FMUKindChange}, false, "not changed: FMU option not active"},
		{"change reported as the new profile", set, enco.FMUResult{Status: enco.ProfileOnDuty, Kind: enco.FMUKindStatus}, true, "set to *On duty*"},
		{"change reported as another profile", set, enco.FMUResult{Status: enco.ProfilePrivate, Kind: enco.FMUKindStatus}, false, "not changed: EnCo gave no reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FMUResult(tt.op, tt.res, switchboard.Number("32470000001"), false)
			if got.OK != tt.wantOK || got.Target != "msisdn:32470000001" || !strings.Contains(got.Detail, tt.want) {
				t.Errorf("FMUResult = %+v, want ok=%v and %q", got, tt.wantOK, tt.want)
			}
		})
	}
}

func TestCallResultText(t *testing.T) {
	op := switchboard.Operation{Kind: "call.self", Targets: []switchboard.Target{switchboard.Number("32468373901")}, Params: switchboard.Params{Origin: "3228160257"}}
	tests := []struct {
		cdr  enco.CDR
		want string
	}{
		{enco.CDR{SessionID: "1", CallDuration: 95, CallReleaseInfo: "Normal Clearing"}, "Call to +32 468 37 39 01 answered — 1 min 35 s, ended with normal clearing. (session 1)"},
		{enco.CDR{SessionID: "2", CallReleaseInfo: "Leg2-486-Busy Here"}, "Call to +32 468 37 39 01 not answered: busy."},
		{enco.CDR{SessionID: "3", CallReleaseInfo: "Leg2-480-No Answer"}, "not answered: no answer."},
		{enco.CDR{SessionID: "4", CallReleaseInfo: "Leg1-404-NotFound received"}, "not made: the first phone, +32 2 816 02 57, was not reached (no such number)"},
	}
	for _, tt := range tests {
		if got := CallResultText(op, tt.cdr, false); !strings.Contains(got, tt.want) {
			t.Errorf("CallResultText(%s) = %q, want %q", tt.cdr.CallReleaseInfo, got, tt.want)
		}
	}
	for secs, want := range map[int]string{0: "0 s", 42: "42 s", 95: "1 min 35 s", 3720: "1 h 2 min"} {
		if got := CallDuration(secs); got != want {
			t.Errorf("CallDuration(%d) = %q, want %q", secs, got, want)
		}
	}
}
