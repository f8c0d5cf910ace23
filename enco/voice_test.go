package enco_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
)

func TestPlaceCallCallbackAndCDR(t *testing.T) {
	tests := []struct {
		dest         string
		wantAnswered bool
		wantDuration int
		wantReason   string
	}{
		{"+32468373901", true, 21, "normal clearing"},
		{"+32468373950", false, 0, "busy"},
		{"+32468373919", false, 0, "no answer"},
		{"+32468373918", false, 0, "no such number"},
	}
	for _, tt := range tests {
		t.Run(tt.dest, func(t *testing.T) {
			sb, c := newSandbox(t)
			rcv := newReceiver(t)
			ctx := testContext(t)
			id, err := c.PlaceCall(ctx, enco.CallRequest{
				Origin: "+3228160257", Destination: tt.dest, Presentation: "restricted", Callback: rcv.URL + "/cdr",
			})
			if err != nil {
				t.Fatal(err)
			}
			var sent map[string]string
			if err := json.Unmarshal(sb.APIRequests()[0].Body, &sent); err != nil {
				t.Fatal(err)
			}
			if sent["origin"] != "+3228160257" || sent["destination"] != tt.dest || sent["presentation"] != "RESTRICTED" {
				t.Errorf("request body: got %v, want E.164 numbers and RESTRICTED", sent)
			}
			cdr, err := enco.DecodeCDR(rcv.wait(t, 1)[0].body)
			if err != nil {
				t.Fatal(err)
			}
			if cdr.SessionID != id || cdr.Origin != "3228160257" || cdr.Destination != tt.dest[1:] || cdr.Presentation != "restricted" {
				t.Errorf("CDR: got %+v, want session %s from 3228160257 to %s", cdr, id, tt.dest[1:])
			}
			if cdr.Answered() != tt.wantAnswered || cdr.CallDuration != tt.wantDuration || cdr.ReleaseReason() != tt.wantReason {
				t.Errorf("got answered %v, %ds, %q, want %v, %ds, %q",
					cdr.Answered(), cdr.CallDuration, cdr.ReleaseReason(), tt.wantAnswered, tt.wantDuration, tt.wantReason)
			}
			if cdr.RequestTime.IsZero() || cdr.CallOneRelease.Before(cdr.CallOneSetup) {
				t.Errorf("CDR times: got request %v setup %v release %v", cdr.RequestTime, cdr.CallOneSetup, cdr.CallOneRelease)
			}
			listed, err := c.CDRs(ctx, enco.CDRQuery{From: cdr.RequestTime})
			if err != nil {
				t.Fatal(err)
			}
			if len(listed) != 1 || listed[0] != cdr {
				t.Errorf("GET /cdr from the call's time: got %+v, want the callback's CDR", listed)
			}
		})
	}
}

func TestCDRsPaging(t *testing.T) {
	base := time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		query     enco.CDRQuery
		wantCount int
		wantPages []string // page parameters sent, "" for none
	}{
		{"all pages", enco.CDRQuery{From: base, Limit: 10}, 25, []string{"", "1", "2"}},
		{"stops at MaxItems", enco.CDRQuery{From: base, Limit: 10, MaxItems: 12}, 12, []string{"", "1"}},
		{"one page by default", enco.CDRQuery{From: base}, 25, []string{""}},
		{"till", enco.CDRQuery{From: base, Till: base.Add(4 * time.Minute), Limit: 2}, 5, []string{"", "1", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, c := newSandbox(t)
			for i := range 25 {
				sb.AddCDR(sandbox.CDR{
					SessionID: fmt.Sprintf("7%07d", i), Origin: "3228160257", Destination: "32468373901",
					RequestTime: base.Add(time.Duration(i) * time.Minute), CallDuration: i,
				})
			}
			got, err := c.CDRs(testContext(t), tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantCount {
				t.Fatalf("got %d CDRs, want %d", len(got), tt.wantCount)
			}
			for i, cdr := range got {
				if want := fmt.Sprintf("7%07d", i); cdr.SessionID != want {
					t.Fatalf("CDR %d: got session %s, want %s", i, cdr.SessionID, want)
				}
			}
			var pages []string
			for _, r := range sb.APIRequests() {
				pages = append(pages, r.Query.Get("page"))
				if got, want := r.Query.Get("from"), "2030-01-02T08:00:00.000Z"; got != want {
					t.Errorf("from: got %q, want %q", got, want)
				}
			}
			if fmt.Sprint(pages) != fmt.Sprint(tt.wantPages) {
				t.Errorf("pages requested: got %q, want %q", pages, tt.wantPages)
			}
		})
	}
}

// TestCDRsOnePage: Page with MaxItems equal to Limit reads that one page,
// as /call cdr page= asks.
func TestCDRsOnePage(t *testing.T) {
	base := time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC)
	sb, c := newSandbox(t)
	for i := range 25 {
		sb.AddCDR(sandbox.CDR{SessionID: fmt.Sprintf("7%07d", i), Origin: "3228160257", Destination: "32468373901",
			RequestTime: base.Add(time.Duration(i) * time.Minute)})
	}
	got, err := c.CDRs(testContext(t), enco.CDRQuery{From: base, Limit: 10, Page: 1, MaxItems: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[0].SessionID != "70000010" || got[9].SessionID != "70000019" {
		t.Errorf("got %d CDRs from %v, want sessions 70000010 to 70000019", len(got), got)
	}
	reqs := sb.APIRequests()
	if len(reqs) != 1 || reqs[0].Query.Get("page") != "1" || reqs[0].Query.Get("limit") != "10" {
		t.Errorf("requests %+v, want one for page=1 limit=10", reqs)
	}
	if _, err := c.CDRs(testContext(t), enco.CDRQuery{Page: -1}); !errors.Is(err, enco.ErrInvalidRequest) {
		t.Errorf("negative page: got %v, want ErrInvalidRequest", err)
	}
}

func TestReleaseReason(t *testing.T) {
	tests := []struct {
		info     string
		duration int
		want     string
	}{
		{"Leg1-404-NotFound received", 0, "no such number"},
		{"Leg2-486-Busy Here", 0, "busy"},
		{"Leg2-480-No Answer", 0, "no answer"},
		{"Leg2-487-Request Terminated", 0, "no answer"},
		{"Leg2-603-Decline", 0, "rejected"},
		{"Leg1-503-Service Unavailable", 0, "unavailable"},
		{"Normal Clearing", 42, "normal clearing"},
		{"", 42, "normal clearing"},
		{"Leg9-999-Something new", 0, "Leg9-999-Something new"},
	}
	for _, tt := range tests {
		t.Run(tt.info, func(t *testing.T) {
			c := enco.CDR{CallReleaseInfo: tt.info, CallDuration: tt.duration}
			if got := c.ReleaseReason(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
