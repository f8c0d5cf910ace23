package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// do sends a raw request to the sandbox and returns the status, headers and
// body of the answer.
func do(t *testing.T, method, u string, header http.Header, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// client is the bot's EnCo client wired to sb with its client credentials,
// as the bot is configured.
func client(sb *sandbox.Sandbox) *enco.Client {
	hc := sb.HTTPClient()
	ts := enco.NewTokenSource(context.Background(), sb.URL+"/token", sb.ClientID, sb.ClientSecret, hc)
	return &enco.Client{BaseURL: sb.URL, HTTPClient: enco.NewHTTPClient(ts, hc.Transport), APIKey: sb.APIKey}
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

// token gets an access token from the sandbox.
func token(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {sb.ClientID}, "client_secret": {sb.ClientSecret}}
	status, _, body := do(t, "POST", sb.URL+"/token", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form.Encode())
	if status != 200 {
		t.Fatalf("token: got %d %s", status, body)
	}
	var reply struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(body, &reply)
	return reply.AccessToken
}

func TestTokenEndpoint(t *testing.T) {
	form := func(id, secret, grant string) string {
		return url.Values{"grant_type": {grant}, "scope": {"openid"}, "client_id": {id}, "client_secret": {secret}}.Encode()
	}
	formHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	tests := []struct {
		name       string
		path       string
		header     http.Header
		body       string
		wantStatus int
		wantError  string
	}{
		{"form parameters", "/token", formHeader, form(sandbox.DefaultClientID, sandbox.DefaultClientSecret, "client_credentials"), 200, ""},
		{"query parameters as in the docs", "/token?" + form(sandbox.DefaultClientID, sandbox.DefaultClientSecret, "client_credentials"), formHeader, "", 200, ""},
		{"basic auth", "/token", http.Header{
			"Content-Type":  {"application/x-www-form-urlencoded"},
			"Authorization": {"Basic c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ="},
		}, "grant_type=client_credentials", 200, ""},
		{"wrong secret", "/token", formHeader, form(sandbox.DefaultClientID, "nope", "client_credentials"), 401, "invalid_client"},
		{"wrong grant", "/token", formHeader, form(sandbox.DefaultClientID, sandbox.DefaultClientSecret, "password"), 400, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := sandbox.New(t)
			status, _, body := do(t, "POST", sb.URL+tt.path, tt.header, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", status, body, tt.wantStatus)
			}
			var reply map[string]any
			if err := json.Unmarshal(body, &reply); err != nil {
				t.Fatal(err)
			}
			if tt.wantError != "" {
				if reply["error"] != tt.wantError {
					t.Errorf("error: got %v, want %s", reply["error"], tt.wantError)
				}
				return
			}
			if reply["access_token"] != sb.AccessToken() || reply["token_type"] != "Bearer" || reply["expires_in"] != float64(3600) || reply["scope"] != "openid" {
				t.Errorf("got %v, want the active token, Bearer, 3600, openid", reply)
			}
		})
	}
}

func TestTokenLifeCycle(t *testing.T) {
	sb := sandbox.New(t, sandbox.WithTokenTTL(time.Minute))
	first := token(t, sb)
	if again := token(t, sb); again != first {
		t.Errorf("second request before expiry: got %q, want the same token %q", again, first)
	}
	sb.Advance(time.Minute)
	second := token(t, sb)
	if second == first {
		t.Errorf("after expiry: got the old token, want a new one")
	}
	if status, _, _ := do(t, "GET", sb.URL+"/cpaas-mgmt/1.0.0/phonenumbers", bearer(first), ""); status != 401 {
		t.Errorf("expired token: got %d, want 401", status)
	}
	sb.ExpireToken()
	if status, _, _ := do(t, "GET", sb.URL+"/cpaas-mgmt/1.0.0/phonenumbers", bearer(second), ""); status != 401 {
		t.Errorf("token after ExpireToken: got %d, want 401", status)
	}
	if third := token(t, sb); third == second || third == "" {
		t.Errorf("after ExpireToken: got %q, want a new token", third)
	}
	if got := sb.TokenRequests(); got != 4 {
		t.Errorf("token requests: got %d, want 4", got)
	}
}

func TestRevoke(t *testing.T) {
	sb := sandbox.New(t)
	tok := token(t, sb)
	form := url.Values{"token": {tok}, "client_id": {sb.ClientID}, "client_secret": {sb.ClientSecret}}
	if status, _, _ := do(t, "POST", sb.URL+"/revoke", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form.Encode()); status != 200 {
		t.Fatalf("revoke: got %d, want 200", status)
	}
	if status, _, _ := do(t, "GET", sb.URL+"/vca/1.0.0/cdr", bearer(tok), ""); status != 401 {
		t.Errorf("revoked token: got %d, want 401", status)
	}
	if next := token(t, sb); next == tok {
		t.Errorf("after revoke: got the revoked token, want a new one")
	}
}

func TestEveryAPIPathNeedsAToken(t *testing.T) {
	paths := []struct{ method, path string }{
		{"GET", "/fmu/1.0.0/status?msisdn=32470000001"},
		{"PUT", "/fmu/1.0.0/status"},
		{"POST", "/fmu/1.0.0/register_callback"},
		{"GET", "/m2m/1.0.0/simcards?msisdn=32471000001"},
		{"POST", "/m2m/1.0.0/configure/callback"},
		{"POST", "/m2m/1.0.0/requests/activation"},
		{"POST", "/vca/1.0.0/call"},
		{"GET", "/vca/1.0.0/cdr"},
		{"GET", "/cpaas-mgmt/1.0.0/phonenumbers/available"},
		{"GET", "/cpaas-mgmt/1.0.0/phonenumbers"},
		{"POST", "/cpaas-mgmt/1.0.0/phonenumbers?addressInZoneConfirmed=true"},
		{"DELETE", "/cpaas-mgmt/1.0.0/phonenumbers/3228160257"},
	}
	sb := sandbox.New(t)
	for _, p := range paths {
		for _, auth := range []struct {
			name   string
			header http.Header
		}{
			{"no token", http.Header{}},
			{"unknown token", bearer("forged")},
			{"not bearer", http.Header{"Authorization": {"Basic " + sb.PermanentToken}}},
		} {
			t.Run(p.method+" "+p.path+" "+auth.name, func(t *testing.T) {
				auth.header.Set("x-api-key", sb.APIKey)
				status, _, body := do(t, p.method, sb.URL+p.path, auth.header, "{}")
				if status != 401 {
					t.Fatalf("got %d, want 401", status)
				}
				var fault struct {
					Fault struct {
						Code    int    `json:"code"`
						Message string `json:"message"`
					} `json:"fault"`
				}
				if err := json.Unmarshal(body, &fault); err != nil || fault.Fault.Code != 900901 || fault.Fault.Message != "Invalid Credentials" {
					t.Errorf("got %s, want fault 900901 Invalid Credentials", body)
				}
			})
		}
	}
	if got := sb.HeldNumbers(); len(got) != 1 {
		t.Errorf("held numbers after refused calls: got %d, want 1 (nothing done)", len(got))
	}
}

func TestM2MPathsNeedTheAPIKey(t *testing.T) {
	sb := sandbox.New(t)
	for _, key := range []string{"", "wrong"} {
		t.Run("key "+key, func(t *testing.T) {
			h := bearer(sb.PermanentToken)
			if key != "" {
				h.Set("x-api-key", key)
			}
			status, _, body := do(t, "GET", sb.URL+"/m2m/1.0.0/simcards?msisdn=32471000001", h, "")
			if status != 403 || !strings.Contains(string(body), "900908") {
				t.Errorf("got %d %s, want 403 with fault 900908", status, body)
			}
		})
	}
}

func TestUnknownPath(t *testing.T) {
	sb := sandbox.New(t)
	status, _, body := do(t, "GET", sb.URL+"/sms/1.0.0/send", bearer(sb.PermanentToken), "")
	if status != 404 || !strings.Contains(string(body), "No matching resource") {
		t.Errorf("got %d %s, want 404 fault", status, body)
	}
}

func TestRequestsAreRecordedWithoutSecrets(t *testing.T) {
	sb := sandbox.New(t)
	c := client(sb)
	if _, err := c.RequestM2M(testContext(t), enco.Reactivation, []enco.Device{{Identifier: "32471000003", IdentifierType: enco.MSISDN}}, "cb-token"); err != nil {
		t.Fatal(err)
	}
	reqs := sb.Requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want the token request and the API call", len(reqs))
	}
	tokenReq, apiReq := reqs[0], reqs[1]
	if tokenReq.Path != "/token" || strings.Contains(string(tokenReq.Body), sb.ClientSecret) || !strings.Contains(string(tokenReq.Body), "REDACTED") {
		t.Errorf("token request: got %s %s, want the secret redacted", tokenReq.Path, tokenReq.Body)
	}
	if apiReq.Method != "POST" || apiReq.Path != "/m2m/1.0.0/requests/reactivation" ||
		apiReq.Header.Get("X-Callback-Token") != "cb-token" || apiReq.Header.Get("X-Api-Key") != sb.APIKey ||
		string(apiReq.Body) != `[{"identifier":"32471000003","identifierType":"MSISDN"}]` {
		t.Errorf("API request: got %+v", apiReq)
	}
	if got := sb.APIRequests(); len(got) != 1 {
		t.Errorf("APIRequests: got %d, want 1", len(got))
	}
}

func TestFailNext(t *testing.T) {
	sb := sandbox.New(t)
	sb.FailNext(2, http.StatusTooManyRequests)
	sb.SetRetryAfter(1500 * time.Millisecond)
	u := sb.URL + "/cpaas-mgmt/1.0.0/phonenumbers"
	for i := range 2 {
		status, h, body := do(t, "GET", u, bearer(sb.PermanentToken), "")
		if status != 429 || h.Get("Retry-After") != "2" || !strings.Contains(string(body), "900800") {
			t.Errorf("call %d: got %d Retry-After %q %s, want 429, 2, fault 900800", i, status, h.Get("Retry-After"), body)
		}
	}
	if status, _, _ := do(t, "GET", u, bearer(sb.PermanentToken), ""); status != 200 {
		t.Errorf("third call: got %d, want 200", status)
	}
}

func TestResponseDelay(t *testing.T) {
	sb := sandbox.New(t)
	sb.SetResponseDelay(200 * time.Millisecond)
	start := time.Now()
	if status, _, _ := do(t, "GET", sb.URL+"/vca/1.0.0/cdr", bearer(sb.PermanentToken), ""); status != 200 {
		t.Fatalf("got %d, want 200", status)
	}
	if elapsed := time.Since(start); elapsed < 200*time.Millisecond {
		t.Errorf("answered after %v, want at least 200ms", elapsed)
	}
	start = time.Now()
	token(t, sb)
	if elapsed := time.Since(start); elapsed > 150*time.Millisecond {
		t.Errorf("token answered after %v, want no delay", elapsed)
	}
}

func TestCloseStopsDelayedAnswers(t *testing.T) {
	sb, err := sandbox.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sb.SetResponseDelay(time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := &enco.Client{BaseURL: sb.URL, HTTPClient: enco.NewHTTPClient(enco.StaticTokenSource(sb.PermanentToken), nil), MaxRetries: -1}
		c.HeldNumbers(context.Background())
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(sb.APIRequests()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the sandbox")
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() {
		sb.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while an answer was delayed")
	}
	<-done
}

func TestStart(t *testing.T) {
	sb, err := sandbox.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if !strings.HasPrefix(sb.URL, "http://127.0.0.1:") {
		t.Errorf("URL: got %q, want the bound address", sb.URL)
	}
	if _, err := client(sb).FMUStatus(testContext(t), "32470000001"); err != nil {
		t.Errorf("call through a started sandbox: %v", err)
	}
	sb.Close()
	sb.Close() // a second Close is harmless
	if _, err := sandbox.Start("256.0.0.1:1"); err == nil {
		t.Errorf("Start on a bad address: got no error")
	}
}

func TestSeedData(t *testing.T) {
	sb := sandbox.New(t)
	sims := sb.SIMs()
	if len(sims) != 12 {
		t.Fatalf("SIMs: got %d, want 12", len(sims))
	}
	states := map[string]int{}
	for _, s := range sims {
		states[s.State]++
		if !strings.HasPrefix(s.MSISDN, "3247") || len(s.MSISDN) != 11 || !strings.HasPrefix(s.ICCID, "8932") ||
			(len(s.ICCID) != 19 && len(s.ICCID) != 20) || !strings.HasPrefix(s.IMSI, "20601") || len(s.IMSI) != 15 {
			t.Errorf("SIM identifiers: got %+v", s)
		}
	}
	if states["Active"] == 0 || states["Deactivated"] == 0 || states["Ready"] == 0 {
		t.Errorf("states: got %v, want Active, Deactivated and Ready cards", states)
	}
	for msisdn, want := range map[string]string{"32470000001": sandbox.ProfilePrivate, "32470000002": sandbox.ProfileProfessional, "32470000003": sandbox.ProfileOnDuty} {
		if got, ok := sb.FMU(msisdn); !ok || got != want {
			t.Errorf("FMU %s: got %s, want %s", msisdn, got, want)
		}
	}
	if got := len(sb.FMUNumbers()); got != 10 {
		t.Errorf("FMU numbers: got %d, want 10", got)
	}
	avail := sb.AvailableNumbers()
	zones := map[string]int{}
	for _, n := range avail {
		zones[n.Zone+"/"+n.Type+"/"+n.PriceTier]++
	}
	if len(avail) != 20 || zones["02/FIXED/REGULAR"] == 0 || zones["03/FIXED/PREMIUM"] == 0 || zones["09/FIXED/REGULAR"] == 0 || zones["/MOBILE/REGULAR"] == 0 {
		t.Errorf("available numbers: got %d %v, want 20 over zones 02, 03, 09, fixed and mobile, both tiers", len(avail), zones)
	}
	if held := sb.HeldNumbers(); len(held) != 1 || held[0].Number != "3228160257" {
		t.Errorf("held numbers: got %v, want 3228160257", held)
	}
	if cdrs := sb.CDRs(); len(cdrs) != 3 {
		t.Errorf("CDRs: got %d, want 3", len(cdrs))
	}
	// Two sandboxes start with the same data.
	other := sandbox.New(t)
	if a, b := sb.SIMs(), other.SIMs(); a[5].ICCID != b[5].ICCID || a[5].State != b[5].State {
		t.Errorf("seed differs between sandboxes: %+v and %+v", a[5], b[5])
	}
}

func TestReserveNeedsAddressConfirmation(t *testing.T) {
	sb := sandbox.New(t)
	body := `{"supportsSMS":false,"type":"FIXED","filter":"3222060744","zone":"02","pricingTier":"REGULAR"}`
	for _, q := range []string{"", "?addressInZoneConfirmed=false"} {
		status, _, reply := do(t, "POST", sb.URL+"/cpaas-mgmt/1.0.0/phonenumbers"+q, bearer(sb.PermanentToken), body)
		if status != 400 || !strings.Contains(string(reply), "addressInZoneConfirmed") {
			t.Errorf("%q: got %d %s, want 400 naming addressInZoneConfirmed", q, status, reply)
		}
	}
	if len(sb.HeldNumbers()) != 1 {
		t.Errorf("a number was reserved without the confirmation")
	}
	status, _, reply := do(t, "POST", sb.URL+"/cpaas-mgmt/1.0.0/phonenumbers?addressInZoneConfirmed=true", bearer(sb.PermanentToken), `{"filter":"2060747"}`)
	if status != 201 || !strings.Contains(string(reply), `"phonenumber":"3222060747"`) {
		t.Errorf("reserve by part of the number: got %d %s, want 201 for 3222060747", status, reply)
	}
}

func TestCDRPageMeta(t *testing.T) {
	sb := sandbox.New(t)
	tests := []struct {
		query string
		want  string
	}{
		{"?limit=2", `"meta":{"currentPage":0,"lastPage":1,"totalElements":3}`},
		{"?limit=2&page=1", `"meta":{"currentPage":1,"lastPage":1,"totalElements":3}`},
		{"?from=2999-01-01T00:00:00.000Z", `{"items":[],"meta":{"currentPage":0,"lastPage":0,"totalElements":0}}`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, _, body := do(t, "GET", sb.URL+"/vca/1.0.0/cdr"+tt.query, bearer(sb.PermanentToken), "")
			if status != 200 || !strings.Contains(string(body), tt.want) {
				t.Errorf("got %d %s, want %s", status, body, tt.want)
			}
		})
	}
	if status, _, _ := do(t, "GET", sb.URL+"/vca/1.0.0/cdr?from=yesterday", bearer(sb.PermanentToken), ""); status != 400 {
		t.Errorf("bad from: got %d, want 400", status)
	}
}

func TestFMUAsyncRefusals(t *testing.T) {
	sb := sandbox.New(t)
	many := strings.TrimSuffix(strings.Repeat("32470000001,", 51), ",")
	tests := []struct {
		name, method, path, body string
	}{
		{"several numbers without callback", "GET", "/fmu/1.0.0/status?msisdn=32470000001,32470000002", ""},
		{"51 numbers", "GET", "/fmu/1.0.0/status?callback_url=http://cb.example/&msisdn=" + many, ""},
		{"no msisdn", "GET", "/fmu/1.0.0/status", ""},
		{"several numbers to change without callback", "PUT", "/fmu/1.0.0/status", `{"msisdn":["32470000001","32470000002"],"status":"ON_DUTY"}`},
		{"bad status", "PUT", "/fmu/1.0.0/status", `{"msisdn":["32470000001"],"status":"private"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := do(t, tt.method, sb.URL+tt.path, bearer(sb.PermanentToken), tt.body)
			if status != 400 || !strings.Contains(string(body), `"error"`) {
				t.Errorf("got %d %s, want 400 with an error", status, body)
			}
		})
	}
	if p, _ := sb.FMU("32470000001"); p != sandbox.ProfilePrivate {
		t.Errorf("profile changed by a refused request: %s", p)
	}
}

// counter is a callback receiver answering with the statuses it is given in
// turn (200 once they run out), counting what it receives.
type counter struct {
	srv      *httptest.Server
	statuses []int
	n        atomic.Int32
}

func newCounter(t *testing.T, statuses ...int) *counter {
	t.Helper()
	c := &counter{statuses: statuses}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(c.n.Add(1)) - 1
		if i < len(c.statuses) {
			w.WriteHeader(c.statuses[i])
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// TestOnlyDocumentedQueryParameters: a lookup by anything but what the
// documentation names is refused, SIM cards by msisdn only included.
func TestOnlyDocumentedQueryParameters(t *testing.T) {
	sb := sandbox.New(t)
	tests := []struct {
		name, path string
		want       int
	}{
		{"sim by msisdn", "/m2m/1.0.0/simcards?msisdn=32471000001", 200},
		{"sim by iccid", "/m2m/1.0.0/simcards?iccid=8932010000000000001", 400},
		{"sim by imsi", "/m2m/1.0.0/simcards?imsi=206010000000001", 400},
		{"sim by msisdn and iccid", "/m2m/1.0.0/simcards?msisdn=32471000001&iccid=8932010000000000001", 400},
		{"fmu with an extra parameter", "/fmu/1.0.0/status?msisdn=32470000001&format=long", 400},
		{"available numbers by tier", "/cpaas-mgmt/1.0.0/phonenumbers/available?priceTier=PREMIUM", 200},
		{"available numbers by pricingTier", "/cpaas-mgmt/1.0.0/phonenumbers/available?pricingTier=PREMIUM", 400},
		{"cdr paged", "/vca/1.0.0/cdr?page=0&limit=10", 200},
	}
	h := bearer(sb.PermanentToken)
	h.Set("x-api-key", sb.APIKey)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, _, body := do(t, "GET", sb.URL+tt.path, h, ""); status != tt.want {
				t.Errorf("got %d %s, want %d", status, body, tt.want)
			}
		})
	}
}

// TestOneFMUNumberIsAnsweredSynchronously: one number is answered in the
// reply, as the documentation's one-number samples show, even with a
// callback_url; no callback follows.
func TestOneFMUNumberIsAnsweredSynchronously(t *testing.T) {
	sb := sandbox.New(t)
	rcv := newCounter(t)
	tests := []struct{ method, path, body, want string }{
		{"GET", "/fmu/1.0.0/status?msisdn=32470000003&callback_url=" + url.QueryEscape(rcv.srv.URL), "", `{"isError":false,"msisdn":"32470000003","status":"ON_DUTY"}`},
		{"PUT", "/fmu/1.0.0/status", `{"msisdn":["32470000003"],"status":"PRIVATE","callback_url":"` + rcv.srv.URL + `"}`, `{"msisdn":"32470000003","success":true}`},
	}
	for _, tt := range tests {
		status, _, body := do(t, tt.method, sb.URL+tt.path, bearer(sb.PermanentToken), tt.body)
		if status != 200 || string(body) != tt.want {
			t.Errorf("%s: got %d %s, want 200 %s", tt.method, status, body, tt.want)
		}
	}
	sb.Close() // waits for any callback under way
	if n := rcv.n.Load(); n != 0 || len(sb.Callbacks()) != 0 {
		t.Errorf("callbacks: %d received, %d recorded; want none", n, len(sb.Callbacks()))
	}
}

// TestRetireVoice: a retired Voice Call-out API answers every request with
// the status set, places no call, and leaves the other APIs alone.
func TestRetireVoice(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusGone} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			sb := sandbox.New(t)
			cdrs := len(sb.CDRs())
			sb.RetireVoice(status)
			got, _, body := do(t, "POST", sb.URL+"/vca/1.0.0/call", bearer(sb.PermanentToken), `{"origin":"+3228160257","destination":"+32468373901"}`)
			if got != status || !strings.Contains(string(body), `"fault"`) {
				t.Errorf("call: got %d %s, want %d with a gateway fault", got, body, status)
			}
			if got, _, _ := do(t, "GET", sb.URL+"/vca/1.0.0/cdr", bearer(sb.PermanentToken), ""); got != status {
				t.Errorf("cdr: got %d, want %d", got, status)
			}
			if n := len(sb.CDRs()); n != cdrs {
				t.Errorf("CDRs: got %d, want %d (no call placed)", n, cdrs)
			}
			if got, _, _ := do(t, "GET", sb.URL+"/cpaas-mgmt/1.0.0/phonenumbers", bearer(sb.PermanentToken), ""); got != 200 {
				t.Errorf("numbers API: got %d, want 200", got)
			}
			sb.RetireVoice(0)
			if got, _, _ := do(t, "GET", sb.URL+"/vca/1.0.0/cdr", bearer(sb.PermanentToken), ""); got != 200 {
				t.Errorf("cdr once served again: got %d, want 200", got)
			}
		})
	}
}

// TestReserveInstead: a reservation filtered on one number reserves the
// other and answers with it; the asked number stays available.
func TestReserveInstead(t *testing.T) {
	sb := sandbox.New(t)
	sb.ReserveInstead("3222060744", "3222060745")
	status, _, body := do(t, "POST", sb.URL+"/cpaas-mgmt/1.0.0/phonenumbers?addressInZoneConfirmed=true", bearer(sb.PermanentToken),
		`{"supportsSMS":false,"type":"FIXED","filter":"3222060744","zone":"02","pricingTier":"REGULAR"}`)
	if status != http.StatusCreated || !strings.Contains(string(body), `"phonenumber":"3222060745"`) {
		t.Fatalf("reserve: got %d %s, want 201 naming 3222060745", status, body)
	}
	held := map[string]bool{}
	for _, n := range sb.HeldNumbers() {
		held[n.Number] = true
	}
	if !held["3222060745"] || held["3222060744"] {
		t.Errorf("held numbers %v: want 3222060745 and not 3222060744", held)
	}
}
