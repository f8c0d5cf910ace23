package enco_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/switchboard-bot/switchboard/enco"
)

func TestFMUStatus(t *testing.T) {
	tests := []struct {
		msisdn string
		want   enco.FMUStatus
	}{
		{"32470000001", enco.FMUStatus{MSISDN: "32470000001", Status: enco.ProfilePrivate}},
		{"32470000002", enco.FMUStatus{MSISDN: "32470000002", Status: enco.ProfileProfessional}},
		{"32470000003", enco.FMUStatus{MSISDN: "32470000003", Status: enco.ProfileOnDuty}},
		{"32479999999", enco.FMUStatus{MSISDN: "32479999999", IsError: true, Error: "MSISDN not found or FMU option not active"}},
	}
	_, c := newSandbox(t)
	for _, tt := range tests {
		t.Run(tt.msisdn, func(t *testing.T) {
			got, err := c.FMUStatus(testContext(t), tt.msisdn)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSetFMUStatus(t *testing.T) {
	sb, c := newSandbox(t)
	ctx := testContext(t)
	if err := c.SetFMUStatus(ctx, "32470000001", enco.ProfileProfessional); err != nil {
		t.Fatal(err)
	}
	if p, _ := sb.FMU("32470000001"); p != string(enco.ProfileProfessional) {
		t.Errorf("profile: got %s, want %s", p, enco.ProfileProfessional)
	}
	reqs := sb.APIRequests()
	if got, want := string(reqs[len(reqs)-1].Body), `{"msisdn":["32470000001"],"status":"PROFESSIONAL"}`; got != want {
		t.Errorf("body: got %s, want %s", got, want)
	}

	err := c.SetFMUStatus(ctx, "32479999999", enco.ProfilePrivate)
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("unknown number: got %v, want *enco.Error", err)
	}
	if apiErr.Message != "MSISDN not found or FMU option not active" || apiErr.Temporary() {
		t.Errorf("unknown number: got %+v, want the refusal reason, not temporary", apiErr)
	}
}

func TestRequestFMUStatusesCallback(t *testing.T) {
	sb, c := newSandbox(t)
	rcv := newReceiver(t)
	numbers := []string{"32470000001", "32470000003", "32479999999"}
	if sync, err := c.RequestFMUStatuses(testContext(t), numbers, rcv.URL+"/fmu"); err != nil || sync != nil {
		t.Fatalf("got %v, %v, want the request accepted for a callback", sync, err)
	}
	reqs := sb.APIRequests()
	if q := reqs[0].Query; q.Get("msisdn") != "32470000001,32470000003,32479999999" || q.Get("callback_url") != rcv.URL+"/fmu" {
		t.Errorf("query: got %v, want the numbers joined by commas and the callback URL", q)
	}
	posts := rcv.wait(t, 1)
	results, err := enco.DecodeFMUResults(posts[0].body)
	if err != nil {
		t.Fatalf("decode %s: %v", posts[0].body, err)
	}
	want := []enco.FMUResult{
		{MSISDN: "32470000001", Status: enco.ProfilePrivate, Kind: enco.FMUKindStatus},
		{MSISDN: "32470000003", Status: enco.ProfileOnDuty, Kind: enco.FMUKindStatus},
		{MSISDN: "32479999999", IsError: true, Message: "MSISDN not found or FMU option not active", Kind: enco.FMUKindStatus},
	}
	if !slices.Equal(results, want) {
		t.Errorf("got %+v, want %+v", results, want)
	}
	if results[2].Failed() == false || results[0].Failed() {
		t.Errorf("Failed(): got %v and %v, want false for a read, true for an unknown number", results[0].Failed(), results[2].Failed())
	}
}

func TestRequestSetFMUStatusesCallback(t *testing.T) {
	sb, c := newSandbox(t)
	rcv := newReceiver(t)
	numbers := []string{"32470000001", "32470000002", "32479999999"}
	if sync, err := c.RequestSetFMUStatuses(testContext(t), numbers, enco.ProfileOnDuty, rcv.URL); err != nil || sync != nil {
		t.Fatalf("got %v, %v, want the request accepted for a callback", sync, err)
	}
	results, err := enco.DecodeFMUResults(rcv.wait(t, 1)[0].body)
	if err != nil {
		t.Fatal(err)
	}
	want := []enco.FMUResult{
		{MSISDN: "32470000001", Success: true, Kind: enco.FMUKindChange},
		{MSISDN: "32470000002", Success: true, Kind: enco.FMUKindChange},
		{MSISDN: "32479999999", Message: "MSISDN not found or FMU option not active", Kind: enco.FMUKindChange},
	}
	if !slices.Equal(results, want) {
		t.Errorf("got %+v, want %+v", results, want)
	}
	for _, n := range numbers[:2] {
		if p, _ := sb.FMU(n); p != string(enco.ProfileOnDuty) {
			t.Errorf("profile of %s: got %s, want %s", n, p, enco.ProfileOnDuty)
		}
	}
}

func TestRegisteredFMUCallbackIsUsed(t *testing.T) {
	sb, c := newSandbox(t)
	rcv := newReceiver(t)
	ctx := testContext(t)
	if err := c.RegisterFMUCallback(ctx, rcv.URL+"/registered"); err != nil {
		t.Fatal(err)
	}
	if got := sb.FMUCallbackURL(); got != rcv.URL+"/registered" {
		t.Errorf("registered URL: got %q, want %q", got, rcv.URL+"/registered")
	}
	if _, err := c.RequestFMUStatuses(ctx, []string{"32470000004", "32470000005"}, ""); err != nil {
		t.Fatal(err)
	}
	results, err := enco.DecodeFMUResults(rcv.wait(t, 1)[0].body)
	if err != nil || len(results) != 2 {
		t.Fatalf("got %v, %v, want two results", results, err)
	}
	cbs, err := sb.WaitCallbacks(testContext(t), 1)
	if err != nil || len(cbs) != 1 || cbs[0].URL != rcv.URL+"/registered" {
		t.Errorf("callbacks: got %+v, want one to the registered URL", cbs)
	}
}

func TestParseProfile(t *testing.T) {
	tests := []struct {
		in   string
		want enco.Profile
		ok   bool
	}{
		{"private", enco.ProfilePrivate, true},
		{"Professional", enco.ProfileProfessional, true},
		{"on-duty", enco.ProfileOnDuty, true},
		{" On Duty ", enco.ProfileOnDuty, true},
		{"ON_DUTY", enco.ProfileOnDuty, true},
		{"holiday", "HOLIDAY", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := enco.ParseProfile(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %q, %v, want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestFMUBatchesAreEven(t *testing.T) {
	tests := []struct {
		n    int
		want []int
	}{
		{0, nil},
		{2, []int{2}},
		{50, []int{50}},
		{51, []int{26, 25}},
		{100, []int{50, 50}},
		{101, []int{34, 34, 33}},
		{149, []int{50, 50, 49}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			nums := make([]string, tt.n)
			for i := range nums {
				nums[i] = fmt.Sprintf("324700%05d", i)
			}
			var sizes []int
			var joined []string
			for _, b := range enco.FMUBatches(nums) {
				sizes = append(sizes, len(b))
				joined = append(joined, b...)
			}
			if !slices.Equal(sizes, tt.want) {
				t.Errorf("sizes: got %v, want %v", sizes, tt.want)
			}
			if !slices.Equal(joined, nums) {
				t.Errorf("the batches do not hold every number once, in order")
			}
		})
	}
}

// TestFMUSynchronousAnswerIsReturned: a request EnCo answers in its reply
// rather than through the callback gives its results back.
func TestFMUSynchronousAnswerIsReturned(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPut {
			io.WriteString(w, `[{"msisdn":"32470000001","success":true},{"msisdn":"32470000002","success":false,"error":"FMU option not active"},{"msisdn":"32479999999","success":true}]`)
			return
		}
		io.WriteString(w, `[{"msisdn":"32470000001","isError":false,"status":"PRIVATE"},{"msisdn":"32470000002","isError":false,"status":"ON_DUTY"}]`)
	}))
	t.Cleanup(srv.Close)
	c := &enco.Client{BaseURL: srv.URL, HTTPClient: srv.Client()}
	nums := []string{"32470000001", "32470000002"}
	got, err := c.RequestFMUStatuses(testContext(t), nums, "http://cb.example/fmu/t")
	want := []enco.FMUResult{
		{MSISDN: "32470000001", Status: enco.ProfilePrivate, Kind: enco.FMUKindStatus},
		{MSISDN: "32470000002", Status: enco.ProfileOnDuty, Kind: enco.FMUKindStatus},
	}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("read: got %+v, %v, want %+v", got, err, want)
	}
	got, err = c.RequestSetFMUStatuses(testContext(t), nums, enco.ProfileOnDuty, "http://cb.example/fmu/t")
	want = []enco.FMUResult{
		{MSISDN: "32470000001", Success: true, Kind: enco.FMUKindChange},
		{MSISDN: "32470000002", Message: "FMU option not active", Kind: enco.FMUKindChange},
	}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("change (a number not asked about left out): got %+v, %v, want %+v", got, err, want)
	}
}

// TestFMURequestAcceptedWithAPlainTextReply: the documentation says nothing
// of the body of an accepted asynchronous request; a plain-text "Accepted"
// is an acceptance with no results in it, not an error after EnCo took the
// change.
func TestFMURequestAcceptedWithAPlainTextReply(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Accepted")
	}))
	t.Cleanup(srv.Close)
	c := &enco.Client{BaseURL: srv.URL, HTTPClient: srv.Client()}
	nums := []string{"32470000001", "32470000002"}
	if got, err := c.RequestSetFMUStatuses(testContext(t), nums, enco.ProfileOnDuty, "http://cb.example/fmu/t"); err != nil || len(got) != 0 {
		t.Errorf("change: got %+v, %v; want accepted with no results", got, err)
	}
	if got, err := c.RequestFMUStatuses(testContext(t), nums, "http://cb.example/fmu/t"); err != nil || len(got) != 0 {
		t.Errorf("read: got %+v, %v; want accepted with no results", got, err)
	}
}
