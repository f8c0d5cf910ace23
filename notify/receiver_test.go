package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/state"
)

const testSecret = "test-secret"

// receiverRig is a Receiver on a loopback HTTP server, with its store on
// the test Redis.
type receiverRig struct {
	t      *testing.T
	rc     *Receiver
	store  *state.Store
	rdb    *redis.Client
	prefix string
	srv    *httptest.Server
	logs   *bytes.Buffer
}

func newReceiverRig(t *testing.T) *receiverRig {
	t.Helper()
	rdb, prefix := redistest.New(t)
	store := state.New(rdb, prefix)
	logs := &bytes.Buffer{}
	rc := &Receiver{Store: store, Secret: testSecret, Log: slog.New(slog.NewTextHandler(logs, nil))}
	mux := http.NewServeMux()
	rc.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &receiverRig{t: t, rc: rc, store: store, rdb: rdb, prefix: prefix, srv: srv, logs: logs}
}

// operation stores a running operation of kind with targets and binds a
// fresh callback token to it, which it returns.
func (g *receiverRig) operation(kind string, params switchboard.Params, targets ...string) (switchboard.Operation, string) {
	g.t.Helper()
	ctx := context.Background()
	id, err := state.NewID()
	if err != nil {
		g.t.Fatal(err)
	}
	params.Title = kind + " test"
	op := switchboard.Operation{ID: id, Kind: kind, UserID: "U1", ChannelID: "C1", ThreadTS: "1700000000.000100",
		Expected: len(targets), Status: switchboard.StatusRunning, Params: params}
	for _, s := range targets {
		t, err := switchboard.ParseTarget(s)
		if err != nil {
			g.t.Fatal(err)
		}
		op.Targets = append(op.Targets, t)
	}
	if err := g.store.CreateOperation(ctx, op, time.Hour); err != nil {
		g.t.Fatal(err)
	}
	token := "tok-" + id
	if err := g.store.BindToken(ctx, token, id, time.Hour); err != nil {
		g.t.Fatal(err)
	}
	return op, token
}

func (g *receiverRig) setStatus(id, status string) {
	g.t.Helper()
	if _, err := g.store.UpdateOperation(context.Background(), id, func(o *switchboard.Operation) error { o.Status = status; return nil }); err != nil {
		g.t.Fatal(err)
	}
}

func (g *receiverRig) setTracking(id, tracking string) {
	g.t.Helper()
	if _, err := g.store.UpdateOperation(context.Background(), id, func(o *switchboard.Operation) error { o.Params.Tracking = tracking; return nil }); err != nil {
		g.t.Fatal(err)
	}
}

// post sends a callback and returns the status answered.
func (g *receiverRig) post(path string, header map[string]string, body string) int {
	g.t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.srv.URL+path, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := g.srv.Client().Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode
}

// m2mHeader is what EnCo sends with an M2M callback: the shared secret and
// the operation's token.
func m2mHeader(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + testSecret, "X-Callback-Token": token}
}

func (g *receiverRig) m2m(token, tracking, iccid, status, message string) int {
	g.t.Helper()
	body := fmt.Sprintf(`{"trackingNumber":%q,"device":{"identifier":%q,"identifierType":"ICCID"},"resultStatus":%q,"messages":[%q]}`, tracking, iccid, status, message)
	return g.post(PathM2M, m2mHeader(token), body)
}

func (g *receiverRig) results(opID string) []switchboard.Result {
	g.t.Helper()
	rs, err := g.store.Results(context.Background(), opID)
	if err != nil {
		g.t.Fatal(err)
	}
	return rs
}

// queuedTexts returns the text of every message queued for Slack.
func (g *receiverRig) queuedTexts() []string {
	g.t.Helper()
	msgs, err := g.rdb.XRange(context.Background(), g.prefix+"outbox", "-", "+").Result()
	if err != nil {
		g.t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs {
		if s, ok := m.Values["text"].(string); ok && s != "" {
			texts = append(texts, s)
		}
	}
	return texts
}

func (g *receiverRig) status(opID string) string {
	g.t.Helper()
	op, ok, err := g.store.Operation(context.Background(), opID)
	if err != nil || !ok {
		g.t.Fatalf("operation %s: %v, found %v", opID, err, ok)
	}
	return op.Status
}

// A callback sent with one operation's token but naming another operation's
// tracking number, before its own tracking number is known, is parked with
// the sender's operation and never reaches the other one.
func TestParkedCallbackReachesOnlyTheOperationOfItsToken(t *testing.T) {
	g := newReceiverRig(t)
	victim, _ := g.operation("sim.terminate", switchboard.Params{Tracking: "TN-VICTIM", Action: "termination"}, "msisdn:32470000001")
	attacker, attackerToken := g.operation("sim.activate", switchboard.Params{Action: "activation"}, "msisdn:32470000002")

	if got := g.m2m(attackerToken, "TN-VICTIM", "8932000000000000001", "Success", "forged"); got != http.StatusAccepted {
		t.Fatalf("early callback: got %d, want 202 (parked)", got)
	}
	g.setTracking(attacker.ID, "TN-ATTACKER")
	g.rc.TrackingKnown(context.Background(), attacker.ID)
	// The victim's tracking number becoming known again delivers nothing either.
	g.rc.TrackingKnown(context.Background(), victim.ID)

	if rs := g.results(victim.ID); len(rs) != 0 {
		t.Errorf("victim's results: got %+v, want none", rs)
	}
	if rs := g.results(attacker.ID); len(rs) != 0 {
		t.Errorf("sender's results: got %+v, want none (the callback named another tracking number)", rs)
	}
	if texts := g.queuedTexts(); len(texts) != 0 {
		t.Errorf("queued posts: got %q, want none", texts)
	}

	// The sender's own early callback is delivered once its number is known.
	own, ownToken := g.operation("sim.activate", switchboard.Params{Action: "activation"}, "msisdn:32470000003")
	if got := g.m2m(ownToken, "TN-OWN", "8932000000000000003", "Success", ""); got != http.StatusAccepted {
		t.Fatalf("own early callback: got %d, want 202", got)
	}
	g.setTracking(own.ID, "TN-OWN")
	g.rc.TrackingKnown(context.Background(), own.ID)
	if rs := g.results(own.ID); len(rs) != 1 || !rs[0].OK {
		t.Errorf("own operation's results: got %+v, want one success", rs)
	}
}

// An operation holds at most as many early callbacks as it has targets.
func TestParkingIsBoundedPerOperation(t *testing.T) {
	g := newReceiverRig(t)
	_, token := g.operation("sim.deactivate", switchboard.Params{Action: "deactivation"}, "msisdn:32470000001")
	filler := strings.Repeat("x", 60<<10)
	codes := make([]int, 0, 5)
	for i := range 5 {
		codes = append(codes, g.m2m(token, fmt.Sprintf("TN-MADE-UP-%d", i), "8932000000000000001", "Failed", filler))
	}
	if codes[0] != http.StatusAccepted {
		t.Errorf("first early callback: got %d, want 202", codes[0])
	}
	for i, c := range codes[1:] {
		if c != http.StatusServiceUnavailable {
			t.Errorf("early callback %d of a one-card operation: got %d, want 503", i+2, c)
		}
	}
	keys, err := g.rdb.Keys(context.Background(), g.prefix+"park:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Errorf("park keys: got %d, want 1 (one per operation, not per claimed tracking number)", len(keys))
	}
}

// Every kind of callback goes through one authentication step: the token's
// operation must be of the callback's kind and still running.
func TestCallbacksNeedARunningOperationOfTheirKind(t *testing.T) {
	g := newReceiverRig(t)
	_, fmuToken := g.operation("fmu.read", switchboard.Params{}, "msisdn:32470000001")
	_, callToken := g.operation("call.self", switchboard.Params{}, "32470000009")
	cdr := `{"sessionId":"S1","origin":"32470000008","destination":"32470000009","callDuration":5,"callReleaseInfo":"Leg2-200-Normal"}`
	fmu := `[{"msisdn":"32470000001","status":"PRIVATE","isError":false}]`
	tests := []struct {
		name  string
		setup func() (path string, header map[string]string, body string, opID string)
		want  int
	}{
		{"M2M callback with an FMU operation's token", func() (string, map[string]string, string, string) {
			return PathM2M, m2mHeader(fmuToken),
				`{"trackingNumber":"TN","device":{"identifier":"8932000000000000001","identifierType":"ICCID"},"resultStatus":"Success"}`, ""
		}, http.StatusForbidden},
		{"M2M callback with a call's token", func() (string, map[string]string, string, string) {
			return PathM2M, m2mHeader(callToken),
				`{"trackingNumber":"TN","device":{"identifier":"8932000000000000001","identifierType":"ICCID"},"resultStatus":"Success"}`, ""
		}, http.StatusForbidden},
		{"FMU callback with a call's token", func() (string, map[string]string, string, string) {
			return PathFMU + callToken, nil, fmu, ""
		}, http.StatusForbidden},
		{"M2M callback on an expired operation", func() (string, map[string]string, string, string) {
			op, token := g.operation("sim.deactivate", switchboard.Params{Tracking: "TN-E", Action: "deactivation"}, "msisdn:32470000001")
			g.setStatus(op.ID, switchboard.StatusExpired)
			return PathM2M, m2mHeader(token),
				`{"trackingNumber":"TN-E","device":{"identifier":"8932000000000000001","identifierType":"ICCID"},"resultStatus":"Success"}`, op.ID
		}, http.StatusGone},
		{"M2M callback on a failed operation", func() (string, map[string]string, string, string) {
			op, token := g.operation("sim.deactivate", switchboard.Params{Tracking: "TN-F", Action: "deactivation"}, "msisdn:32470000001")
			g.setStatus(op.ID, switchboard.StatusFailed)
			return PathM2M, m2mHeader(token),
				`{"trackingNumber":"TN-F","device":{"identifier":"8932000000000000001","identifierType":"ICCID"},"resultStatus":"Success"}`, op.ID
		}, http.StatusGone},
		{"FMU callback on a failed operation", func() (string, map[string]string, string, string) {
			op, token := g.operation("fmu.read", switchboard.Params{}, "msisdn:32470000001")
			g.setStatus(op.ID, switchboard.StatusFailed)
			return PathFMU + token, nil, fmu, op.ID
		}, http.StatusGone},
		{"CDR on an expired call", func() (string, map[string]string, string, string) {
			op, token := g.operation("call.self", switchboard.Params{}, "32470000009")
			g.setStatus(op.ID, switchboard.StatusExpired)
			return PathCall + token, nil, cdr, op.ID
		}, http.StatusGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, header, body, opID := tt.setup()
			if got := g.post(path, header, body); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
			if opID != "" {
				if rs := g.results(opID); len(rs) != 0 {
					t.Errorf("results: got %+v, want none", rs)
				}
			}
		})
	}
	if texts := g.queuedTexts(); len(texts) != 0 {
		t.Errorf("queued posts: got %q, want none", texts)
	}
}

// An operation takes at most one result per target: once every target has
// answered, a callback naming a new device is answered 409 and writes
// nothing; the operation was marked done by its last result.
func TestExtraDevicesOnACompleteOperationAreRefused(t *testing.T) {
	g := newReceiverRig(t)
	op, token := g.operation("sim.deactivate", switchboard.Params{Tracking: "TN-1", Action: "deactivation"}, "msisdn:32470000001")
	if got := g.m2m(token, "TN-1", "8932000000000000001", "Success", ""); got != http.StatusOK {
		t.Fatalf("the card's callback: got %d, want 200", got)
	}
	if got := g.status(op.ID); got != switchboard.StatusDone {
		t.Errorf("status after the only result: got %q, want done", got)
	}
	posts := len(g.queuedTexts())
	for i := range 3 {
		if got := g.m2m(token, "TN-1", fmt.Sprintf("89320000000000009%02d", i), "Failed", "extra"); got != http.StatusConflict {
			t.Errorf("extra device %d: got %d, want 409", i, got)
		}
	}
	// EnCo repeating the card's own callback is a duplicate, not an error.
	if got := g.m2m(token, "TN-1", "8932000000000000001", "Success", ""); got != http.StatusOK {
		t.Errorf("repeated callback: got %d, want 200", got)
	}
	if rs := g.results(op.ID); len(rs) != 1 {
		t.Errorf("results: got %d, want 1", len(rs))
	}
	if got := len(g.queuedTexts()); got != posts {
		t.Errorf("queued posts: got %d, want %d (none for the extras)", got, posts)
	}
}

// A one-card operation's result names the card both ways: the number the
// request gave and the ICCID EnCo answered with.
func TestResultNamesTheNumberAndTheICCID(t *testing.T) {
	g := newReceiverRig(t)
	for _, status := range []string{"Success", "Failed"} {
		t.Run(status, func(t *testing.T) {
			op, token := g.operation("sim.deactivate", switchboard.Params{Tracking: "TN-" + status, Action: "deactivation"}, "msisdn:32470123456")
			if got := g.m2m(token, "TN-"+status, "8932000000000000042", status, "state does not allow it"); got != http.StatusOK {
				t.Fatalf("callback: got %d, want 200", got)
			}
			rs := g.results(op.ID)
			if len(rs) != 1 {
				t.Fatalf("results: got %d, want 1", len(rs))
			}
			if rs[0].Target != "iccid:8932000000000000042" {
				t.Errorf("result target: got %q, want the card as EnCo named it", rs[0].Target)
			}
			for _, want := range []string{"+32 470 12 34 56", "ICCID 8932000000000000042"} {
				if !strings.Contains(rs[0].Detail, want) {
					t.Errorf("result text %q: want %q in it", rs[0].Detail, want)
				}
			}
		})
	}
}

// Text from EnCo can neither ping a channel nor form a link in any post.
func TestEnCoTextIsEscapedInPosts(t *testing.T) {
	const evil = "<!channel> <http://evil.example|click here> & more"
	const escaped = "&lt;!channel&gt; &lt;http://evil.example|click here&gt; &amp; more"
	g := newReceiverRig(t)

	fmuOp, fmuToken := g.operation("fmu.set", switchboard.Params{Profile: "PRIVATE"}, "msisdn:32470000001", "msisdn:32470000002")
	body := fmt.Sprintf(`[{"msisdn":"32470000001","success":false,"error":%q}]`, evil)
	if got := g.post(PathFMU+fmuToken, nil, body); got != http.StatusOK {
		t.Fatalf("FMU callback: got %d, want 200", got)
	}
	callOp, callToken := g.operation("call.self", switchboard.Params{}, "32470000009")
	cdr := fmt.Sprintf(`{"sessionId":"S<@U1>","origin":"32470000008","destination":"32470000009","callDuration":0,"callReleaseInfo":%q}`, evil)
	if got := g.post(PathCall+callToken, nil, cdr); got != http.StatusOK {
		t.Fatalf("CDR: got %d, want 200", got)
	}
	m2mOp, m2mToken := g.operation("sim.deactivate", switchboard.Params{Tracking: "TN-X", Action: "deactivation"}, "msisdn:32470000001", "msisdn:32470000002")
	body = fmt.Sprintf(`{"trackingNumber":"TN-X","device":{"identifier":"<!here>","identifierType":"ICCID"},"resultStatus":%q,"messages":[%q]}`, "<!everyone>", evil)
	if got := g.post(PathM2M, m2mHeader(m2mToken), body); got != http.StatusOK {
		t.Fatalf("M2M callback: got %d, want 200", got)
	}

	for _, id := range []string{fmuOp.ID, callOp.ID, m2mOp.ID} {
		rs := g.results(id)
		if len(rs) != 1 {
			t.Fatalf("operation %s: got %d results, want 1", id, len(rs))
		}
		if !strings.Contains(rs[0].Detail, escaped) {
			t.Errorf("result text %q: want EnCo's text escaped as %q", rs[0].Detail, escaped)
		}
	}
	texts := g.queuedTexts()
	if len(texts) == 0 {
		t.Fatal("no posts queued")
	}
	for _, text := range texts {
		for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<http://evil", "<@U1>"} {
			if strings.Contains(text, bad) {
				t.Errorf("queued post %q holds %q unescaped", text, bad)
			}
		}
	}
}

// failingRecords is the store with RecordResult failing, as when Redis is
// briefly unreachable.
type failingRecords struct{ ReceiverStore }

func (failingRecords) RecordResult(context.Context, string, switchboard.Result, switchboard.Effects) (switchboard.Progress, error) {
	return switchboard.Progress{}, errors.New("redis: connection refused")
}

// A parked callback was answered 202, so EnCo will not send it again: when
// the store fails while it is delivered, it must stay parked, not be lost.
func TestParkedCallbackSurvivesAStoreFailureWhenDelivered(t *testing.T) {
	g := newReceiverRig(t)
	op, token := g.operation("sim.activate", switchboard.Params{Action: "activation"}, "msisdn:32470000003")
	if got := g.m2m(token, "TN-OWN", "8932000000000000003", "Success", ""); got != http.StatusAccepted {
		t.Fatalf("early callback: got %d, want 202", got)
	}
	g.setTracking(op.ID, "TN-OWN")

	g.rc.Store = failingRecords{g.store}
	g.rc.TrackingKnown(context.Background(), op.ID)
	if rs := g.results(op.ID); len(rs) != 0 {
		t.Fatalf("results while recording fails: got %+v, want none", rs)
	}

	g.rc.Store = g.store
	g.rc.TrackingKnown(context.Background(), op.ID)
	if rs := g.results(op.ID); len(rs) != 1 || !rs[0].OK {
		t.Errorf("results once the store answers: got %+v, want the parked success", rs)
	}
}

// countingRecords counts the results sent to the store.
type countingRecords struct {
	ReceiverStore
	n *int
}

func (c countingRecords) RecordResult(ctx context.Context, opID string, r switchboard.Result, fx switchboard.Effects) (switchboard.Progress, error) {
	*c.n++
	return c.ReceiverStore.RecordResult(ctx, opID, r, fx)
}

// Once the store has said that every target of an operation answered, the
// receiver answers further callbacks for it by itself, the same way: the
// same card again 200, another card 409, nothing recorded.
func TestFinishedOperationAnswersWithoutTheStore(t *testing.T) {
	g := newReceiverRig(t)
	op, token := g.operation("sim.deactivate", switchboard.Params{Tracking: "TN-2", Action: "deactivation"}, "msisdn:32470000002")
	var recorded int
	g.rc.Store = countingRecords{g.store, &recorded}
	if got := g.m2m(token, "TN-2", "8932000000000000002", "Success", ""); got != http.StatusOK {
		t.Fatalf("the card's callback: got %d, want 200", got)
	}
	if got := g.m2m(token, "TN-2", "8932000000000000999", "Failed", "extra"); got != http.StatusConflict {
		t.Fatalf("first extra device: got %d, want 409", got)
	}
	before := recorded
	for i := range 3 {
		if got := g.m2m(token, "TN-2", fmt.Sprintf("89320000000000008%02d", i), "Failed", "extra"); got != http.StatusConflict {
			t.Errorf("extra device %d: got %d, want 409", i, got)
		}
		if got := g.m2m(token, "TN-2", "8932000000000000002", "Success", ""); got != http.StatusOK {
			t.Errorf("repeated callback %d: got %d, want 200", i, got)
		}
	}
	if recorded != before {
		t.Errorf("the store was asked %d more times for a finished operation, want none", recorded-before)
	}
	if rs := g.results(op.ID); len(rs) != 1 {
		t.Errorf("results: got %d, want 1", len(rs))
	}
}
