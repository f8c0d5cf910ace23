package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
)

// deactivate configures the M2M callback to u and deactivates the active
// card 32471000001, returning the tracking number.
func deactivate(t *testing.T, sb *sandbox.Sandbox, u string) string {
	t.Helper()
	c := client(sb)
	ctx := testContext(t)
	if err := c.ConfigureM2MCallback(ctx, u, map[string]string{"Authorization": "Bearer cb"}); err != nil {
		t.Fatal(err)
	}
	tn, err := c.RequestM2M(ctx, enco.Deactivation, []enco.Device{{Identifier: "32471000001", IdentifierType: enco.MSISDN}}, "tok")
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestCallbackRetries(t *testing.T) {
	tests := []struct {
		name          string
		statuses      []int
		wantAttempts  int
		wantStatus    int
		wantDelivered bool
	}{
		{"accepted at once", nil, 1, 200, true},
		{"5xx then accepted", []int{503, 500}, 3, 200, true},
		{"5xx throughout", []int{500, 502, 503, 504}, 3, 503, false},
		{"4xx is final", []int{400}, 1, 400, false},
		{"429 is final", []int{429}, 1, 429, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := sandbox.New(t, sandbox.WithCallbackRetries(3, time.Millisecond))
			rcv := newCounter(t, tt.statuses...)
			deactivate(t, sb, rcv.srv.URL)
			cbs, err := sb.WaitCallbacks(testContext(t), 1)
			if err != nil {
				t.Fatal(err)
			}
			cb := cbs[0]
			if cb.Attempts != tt.wantAttempts || cb.StatusCode != tt.wantStatus || cb.Delivered() != tt.wantDelivered || cb.Err != "" {
				t.Errorf("got attempts %d status %d delivered %v err %q, want %d %d %v",
					cb.Attempts, cb.StatusCode, cb.Delivered(), cb.Err, tt.wantAttempts, tt.wantStatus, tt.wantDelivered)
			}
			if got := int(rcv.n.Load()); got != tt.wantAttempts {
				t.Errorf("receiver got %d posts, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestCallbackRetriesOnConnectionError(t *testing.T) {
	sb := sandbox.New(t, sandbox.WithCallbackRetries(2, time.Millisecond))
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	deactivate(t, sb, gone.URL)
	cbs, err := sb.WaitCallbacks(testContext(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if cbs[0].Attempts != 2 || cbs[0].StatusCode != 0 || cbs[0].Err == "" || cbs[0].Delivered() {
		t.Errorf("got %+v, want 2 attempts ending in a connection error", cbs[0])
	}
}

func TestM2MCallbackContent(t *testing.T) {
	sb := sandbox.New(t)
	rcv := newCounter(t)
	tn := deactivate(t, sb, rcv.srv.URL)
	cbs, err := sb.WaitCallbacks(testContext(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	cb := cbs[0]
	if cb.Kind != "m2m" || cb.URL != rcv.srv.URL || cb.Header.Get("Authorization") != "Bearer cb" ||
		cb.Header.Get("X-Callback-Token") != "tok" || cb.Header.Get("Content-Type") != "application/json" {
		t.Errorf("callback: got kind %q URL %q header %v", cb.Kind, cb.URL, cb.Header)
	}
	var body struct {
		TrackingNumber string `json:"trackingNumber"`
		Device         struct {
			Identifier     string `json:"identifier"`
			IdentifierType string `json:"identifierType"`
		} `json:"device"`
		ResultStatus string   `json:"resultStatus"`
		Messages     []string `json:"messages"`
	}
	if err := json.Unmarshal(cb.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.TrackingNumber != tn || body.Device.Identifier != "8932010000000000001" || body.Device.IdentifierType != "ICCID" ||
		body.ResultStatus != "Success" || body.Messages == nil || len(body.Messages) != 0 {
		t.Errorf("body: got %s, want the docs' shape naming the ICCID", cb.Body)
	}
}

func TestM2MWithoutConfiguredCallback(t *testing.T) {
	sb := sandbox.New(t)
	if _, err := client(sb).RequestM2M(testContext(t), enco.Termination, []enco.Device{{Identifier: "32471000002", IdentifierType: enco.MSISDN}}, "tok"); err != nil {
		t.Fatal(err)
	}
	cbs, err := sb.WaitCallbacks(testContext(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if cbs[0].Attempts != 0 || cbs[0].Err != "no callback URL configured" {
		t.Errorf("got %+v, want no attempt and the reason", cbs[0])
	}
	if sim, _ := sb.SIM("32471000002"); sim.State != sandbox.StateTerminated {
		t.Errorf("state: got %s, want Terminated", sim.State)
	}
}

func TestDuplicateCallbacks(t *testing.T) {
	sb := sandbox.New(t)
	sb.SetDuplicateCallbacks(true)
	rcv := newCounter(t)
	deactivate(t, sb, rcv.srv.URL)
	cbs, err := sb.WaitCallbacks(testContext(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(cbs) != 2 || string(cbs[0].Body) != string(cbs[1].Body) || !cbs[0].Delivered() || !cbs[1].Delivered() {
		t.Errorf("got %d callbacks %+v, want the same one delivered twice", len(cbs), cbs)
	}
	if got := rcv.n.Load(); got != 2 {
		t.Errorf("receiver got %d posts, want 2", got)
	}
}

func TestDropCallbacks(t *testing.T) {
	sb := sandbox.New(t)
	sb.SetDropCallbacks(true)
	rcv := newCounter(t)
	deactivate(t, sb, rcv.srv.URL)
	cbs, err := sb.WaitCallbacks(testContext(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !cbs[0].Dropped || cbs[0].Attempts != 0 {
		t.Errorf("got %+v, want a dropped callback", cbs[0])
	}
	if got := rcv.n.Load(); got != 0 {
		t.Errorf("receiver got %d posts, want 0", got)
	}
	if sim, _ := sb.SIM("32471000001"); sim.State != sandbox.StateDeactivated {
		t.Errorf("state: got %s, want Deactivated (only the callback is dropped)", sim.State)
	}
}

func TestCallbackOrder(t *testing.T) {
	tests := []struct {
		name           string
		before         bool
		wantAtResponse int32
	}{
		{"callback before response", true, 1},
		{"callback after response", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The long delay holds the normal callback back while the test
			// looks; closing the sandbox abandons it.
			sb := sandbox.New(t, sandbox.WithCallbackDelay(time.Minute))
			sb.SetCallbackBeforeResponse(tt.before)
			rcv := newCounter(t)
			deactivate(t, sb, rcv.srv.URL)
			if got := rcv.n.Load(); got != tt.wantAtResponse {
				t.Errorf("posts received when the request returned: got %d, want %d", got, tt.wantAtResponse)
			}
		})
	}
}

func TestCallbackDelayIsCutShortByClose(t *testing.T) {
	sb, err := sandbox.Start("127.0.0.1:0", sandbox.WithCallbackDelay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rcv := newCounter(t)
	deactivate(t, sb, rcv.srv.URL)
	closed := make(chan struct{})
	go func() {
		sb.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a delayed callback")
	}
	cbs := sb.Callbacks()
	if len(cbs) != 1 || cbs[0].Attempts != 0 || cbs[0].Err == "" || rcv.n.Load() != 0 {
		t.Errorf("got %+v and %d posts, want one abandoned callback", cbs, rcv.n.Load())
	}
}

func TestWaitCallbacksHonoursContext(t *testing.T) {
	sb := sandbox.New(t)
	ctx, cancel := context.WithTimeout(testContext(t), 20*time.Millisecond)
	defer cancel()
	if _, err := sb.WaitCallbacks(ctx, 1); err == nil {
		t.Error("got no error, want the context's")
	}
}

func TestM2MStateMachine(t *testing.T) {
	tests := []struct {
		action    enco.M2MAction
		from      string
		wantState string // the from state again when refused
		wantOK    bool
	}{
		{enco.Activation, sandbox.StateReady, sandbox.StateActive, true},
		{enco.Activation, sandbox.StateActive, sandbox.StateActive, false},
		{enco.Activation, sandbox.StateDeactivated, sandbox.StateDeactivated, false},
		{enco.Deactivation, sandbox.StateActive, sandbox.StateDeactivated, true},
		{enco.Deactivation, sandbox.StateReady, sandbox.StateReady, false},
		{enco.Reactivation, sandbox.StateDeactivated, sandbox.StateActive, true},
		{enco.Reactivation, sandbox.StateActive, sandbox.StateActive, false},
		{enco.Termination, sandbox.StateReady, sandbox.StateTerminated, true},
		{enco.Termination, sandbox.StateActive, sandbox.StateTerminated, true},
		{enco.Termination, sandbox.StateDeactivated, sandbox.StateTerminated, true},
		{enco.Termination, sandbox.StateTerminated, sandbox.StateTerminated, false},
		{enco.Reactivation, sandbox.StateTerminated, sandbox.StateTerminated, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.action)+" from "+tt.from, func(t *testing.T) {
			sb := sandbox.New(t)
			sb.AddSIM(sandbox.SIM{MSISDN: "32479000001", ICCID: "89320199999999999999", IMSI: "206019999999999", State: tt.from})
			c := client(sb)
			ctx := testContext(t)
			if err := c.ConfigureM2MCallback(ctx, newCounter(t).srv.URL, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := c.RequestM2M(ctx, tt.action, []enco.Device{{Identifier: "206019999999999", IdentifierType: enco.IMSI}}, "tok"); err != nil {
				t.Fatal(err)
			}
			cbs, err := sb.WaitCallbacks(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			r, err := enco.DecodeM2MResult(cbs[0].Body)
			if err != nil {
				t.Fatal(err)
			}
			if r.Succeeded() != tt.wantOK || (!tt.wantOK && len(r.Messages) == 0) {
				t.Errorf("result: got %+v, want success %v (with a message when refused)", r, tt.wantOK)
			}
			if sim, _ := sb.SIM("32479000001"); sim.State != tt.wantState {
				t.Errorf("state: got %s, want %s", sim.State, tt.wantState)
			}
		})
	}
}

// TestWaitSentWaitsForDelayedCallbacks checks that WaitSent returns only
// once the callbacks of an answered request have been delivered, and that
// it honours its context while one is still to be sent.
func TestWaitSentWaitsForDelayedCallbacks(t *testing.T) {
	sb := sandbox.New(t, sandbox.WithCallbackDelay(100*time.Millisecond))
	if err := sb.WaitSent(testContext(t)); err != nil {
		t.Fatalf("with nothing asked: %v", err)
	}
	rcv := newCounter(t)
	deactivate(t, sb, rcv.srv.URL)
	short, cancel := context.WithTimeout(testContext(t), time.Millisecond)
	defer cancel()
	if err := sb.WaitSent(short); err == nil && rcv.n.Load() == 0 {
		t.Error("WaitSent returned nil before the delayed callback was sent")
	}
	if err := sb.WaitSent(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if cbs := sb.Callbacks(); len(cbs) != 1 || !cbs[0].Delivered() || rcv.n.Load() != 1 {
		t.Errorf("after WaitSent: callbacks %+v and %d posts, want one delivered", cbs, rcv.n.Load())
	}
}
