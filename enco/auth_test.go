package enco_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
)

func TestExpiredTokenIsRefreshedOnceAndRequestReplayed(t *testing.T) {
	sb, c := newSandbox(t)
	ctx := testContext(t)
	if _, err := c.FMUStatus(ctx, "32470000001"); err != nil {
		t.Fatalf("first call: %v", err)
	}
	old := sb.AccessToken()
	sb.ExpireToken()
	sb.ResetRequests()

	if err := c.SetFMUStatus(ctx, "32470000001", enco.ProfileOnDuty); err != nil {
		t.Fatalf("call with expired token: %v", err)
	}
	if got := sb.TokenRequests(); got != 2 {
		t.Errorf("token requests: got %d, want 2 (initial and one refresh)", got)
	}
	reqs := sb.APIRequests()
	if len(reqs) != 2 {
		t.Fatalf("API requests: got %d, want 2 (refused and replayed)", len(reqs))
	}
	if got, want := reqs[0].Header.Get("Authorization"), "Bearer "+old; got != want {
		t.Errorf("first attempt Authorization: got %q, want %q", got, want)
	}
	if got, want := reqs[1].Header.Get("Authorization"), "Bearer "+sb.AccessToken(); got != want || sb.AccessToken() == old {
		t.Errorf("replay Authorization: got %q, want the new token %q (old %q)", got, want, old)
	}
	if string(reqs[0].Body) != string(reqs[1].Body) || len(reqs[1].Body) == 0 {
		t.Errorf("replayed body: got %q, want %q", reqs[1].Body, reqs[0].Body)
	}
	if p, _ := sb.FMU("32470000001"); p != string(enco.ProfileOnDuty) {
		t.Errorf("profile after replayed change: got %s, want %s", p, enco.ProfileOnDuty)
	}
}

func TestSecond401IsReturnedAsError(t *testing.T) {
	sb, c := newSandbox(t)
	ctx := testContext(t)
	sb.FailNext(2, http.StatusUnauthorized)

	_, err := c.FMUStatus(ctx, "32470000001")
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want *enco.Error", err)
	}
	if apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != 900901 || apiErr.Op != "fmu status" {
		t.Errorf("got status %d code %d op %q, want 401 900901 %q", apiErr.StatusCode, apiErr.Code, apiErr.Op, "fmu status")
	}
	if !errors.Is(err, enco.ErrCredentialsRefused) {
		t.Errorf("got %v, want it to wrap ErrCredentialsRefused", err)
	}
	if got := len(sb.APIRequests()); got != 2 {
		t.Errorf("API requests: got %d, want 2 (no retry loop on 401)", got)
	}
	if got := sb.TokenRequests(); got != 2 {
		t.Errorf("token requests: got %d, want 2 (initial and one refresh)", got)
	}
	if got := sb.RevokeRequests(); got != 1 {
		t.Errorf("revoke requests: got %d, want 1", got)
	}
}

// TestRefusedTokenIsRevokedBeforeRenewal: EnCo hands the active token back
// until it is revoked, so renewing a refused token means revoking it first
// (form token, client_id, client_secret), then asking for a new one.
func TestRefusedTokenIsRevokedBeforeRenewal(t *testing.T) {
	sb, c := newSandbox(t)
	ctx := testContext(t)
	if _, err := c.FMUStatus(ctx, "32470000001"); err != nil {
		t.Fatalf("first call: %v", err)
	}
	old := sb.AccessToken()
	sb.RefuseToken()
	sb.ResetRequests()

	if _, err := c.FMUStatus(ctx, "32470000001"); err != nil {
		t.Fatalf("call with a refused token: %v", err)
	}
	var paths []string
	for _, r := range sb.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	want := []string{"GET /fmu/1.0.0/status", "POST /revoke", "POST /token", "GET /fmu/1.0.0/status"}
	if !slices.Equal(paths, want) {
		t.Fatalf("requests: got %q, want %q", paths, want)
	}
	revoke := sb.Requests()[1]
	form, err := url.ParseQuery(string(revoke.Body))
	if err != nil {
		t.Fatalf("revoke body %q: %v", revoke.Body, err)
	}
	if form.Get("token") != old || form.Get("client_id") != sb.ClientID || form.Get("client_secret") != "REDACTED" {
		t.Errorf("revoke form: got %v, want token=%s client_id=%s and the client secret", form, old, sb.ClientID)
	}
	if ct := revoke.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("revoke Content-Type: got %q", ct)
	}
	for _, r := range sb.Requests() {
		if r.Query.Has("client_id") || r.Query.Has("client_secret") || r.Query.Has("token") {
			t.Errorf("%s %s carries credentials in its URL: %v", r.Method, r.Path, r.Query)
		}
	}
	if sb.AccessToken() == old {
		t.Errorf("the sandbox still holds the refused token")
	}
}

// TestConcurrent401sShareOneRenewal: a burst of calls refused with the same
// token costs one revoke and one token request, not one each.
func TestConcurrent401sShareOneRenewal(t *testing.T) {
	sb, c := newSandbox(t)
	ctx := testContext(t)
	if _, err := c.FMUStatus(ctx, "32470000001"); err != nil {
		t.Fatalf("first call: %v", err)
	}
	sb.RefuseToken()
	sb.SetResponseDelay(20 * time.Millisecond) // keep the calls in flight together
	readConcurrently(t, ctx, c, 20)
	if got := sb.RevokeRequests(); got != 1 {
		t.Errorf("revoke requests: got %d, want 1", got)
	}
	if got := sb.TokenRequests(); got != 2 {
		t.Errorf("token requests: got %d, want 2 (initial and one renewal)", got)
	}
}

// TestRefusedPermanentTokenFailsOnce: a permanent token cannot be renewed;
// the call fails at once with ErrCredentialsRefused, even a read that would
// be retried after a network error.
func TestRefusedPermanentTokenFailsOnce(t *testing.T) {
	sb := sandbox.New(t)
	sb.RefusePermanentToken()
	c := &enco.Client{BaseURL: sb.URL, HTTPClient: enco.NewHTTPClient(enco.StaticTokenSource(sb.PermanentToken), nil)}
	_, err := c.FMUStatus(testContext(t), "32470000001")
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Op != "fmu status" {
		t.Fatalf("got %v, want a 401 *enco.Error for fmu status", err)
	}
	if !errors.Is(err, enco.ErrCredentialsRefused) {
		t.Errorf("got %v, want it to wrap ErrCredentialsRefused", err)
	}
	if strings.Contains(err.Error(), sb.PermanentToken) {
		t.Errorf("error %q shows the token", err)
	}
	if got := len(sb.Requests()); got != 1 {
		t.Errorf("requests: got %d, want 1 (no retry, no token or revoke request)", got)
	}
}

func TestBadClientCredentials(t *testing.T) {
	sb := sandbox.New(t)
	ts := enco.NewTokenSource(context.Background(), sb.URL+"/token", sb.ClientID, "wrong-secret", nil)
	c := &enco.Client{BaseURL: sb.URL, HTTPClient: enco.NewHTTPClient(ts, nil), MaxRetries: -1}

	_, err := c.FMUStatus(testContext(t), "32470000001")
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want *enco.Error", err)
	}
	if apiErr.Op != "enco token" || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Message != "invalid_client" {
		t.Errorf("got op %q status %d message %q, want %q 401 %q", apiErr.Op, apiErr.StatusCode, apiErr.Message, "enco token", "invalid_client")
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error %q shows the client secret", err)
	}
	if got := len(sb.APIRequests()); got != 0 {
		t.Errorf("API requests: got %d, want 0", got)
	}
}

func TestStaticToken(t *testing.T) {
	tests := []struct {
		name       string
		token      string
		wantStatus int // 0: success
	}{
		{name: "permanent token", token: sandbox.DefaultPermanentToken},
		{name: "unknown token", token: "not-a-token", wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := sandbox.New(t)
			c := &enco.Client{BaseURL: sb.URL, HTTPClient: enco.NewHTTPClient(enco.StaticTokenSource(tt.token), nil)}
			_, err := c.HeldNumbers(testContext(t))
			var apiErr *enco.Error
			switch {
			case tt.wantStatus == 0 && err != nil:
				t.Fatalf("got %v, want success", err)
			case tt.wantStatus != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus):
				t.Fatalf("got %v, want *enco.Error with status %d", err, tt.wantStatus)
			}
			if got := sb.TokenRequests(); got != 0 {
				t.Errorf("token requests: got %d, want 0", got)
			}
			if got := len(sb.APIRequests()); got != 1 {
				t.Errorf("API requests: got %d, want 1 (a static token cannot be renewed)", got)
			}
		})
	}
}

// TestTokenEndpointNotHammeredNearExpiry moves both clocks to five seconds
// before the token's expiry, inside the client's early-renewal window. EnCo
// hands back the same token then; the source must keep it rather than ask
// again on every call.
func TestTokenEndpointNotHammeredNearExpiry(t *testing.T) {
	sb := sandbox.New(t, sandbox.WithTokenTTL(time.Hour))
	ctx := testContext(t)
	hc := &http.Client{Timeout: 5 * time.Second}
	ts := enco.NewTokenSource(context.Background(), sb.URL+"/token", sb.ClientID, sb.ClientSecret, hc)
	var mu sync.Mutex
	offset := time.Duration(0)
	enco.SetTokenClock(ts, func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	})
	advance := func(d time.Duration) {
		mu.Lock()
		offset += d
		mu.Unlock()
		sb.Advance(d)
	}
	c := &enco.Client{BaseURL: sb.URL, HTTPClient: enco.NewHTTPClient(ts, nil)}

	if _, err := c.HeldNumbers(ctx); err != nil {
		t.Fatal(err)
	}
	first := sb.AccessToken()
	advance(time.Hour - 5*time.Second)
	for i := range 30 {
		if _, err := c.HeldNumbers(ctx); err != nil {
			t.Fatalf("call %d near expiry: %v", i, err)
		}
	}
	if got := sb.TokenRequests(); got != 2 {
		t.Errorf("token requests after 30 calls near expiry: got %d, want 2 (initial and one renewal)", got)
	}
	if got := sb.AccessToken(); got != first {
		t.Errorf("sandbox token changed before expiry")
	}

	advance(6 * time.Second)
	if _, err := c.HeldNumbers(ctx); err != nil {
		t.Fatalf("call after expiry: %v", err)
	}
	if got := sb.TokenRequests(); got != 3 {
		t.Errorf("token requests after expiry: got %d, want 3", got)
	}
	if sb.AccessToken() == first {
		t.Errorf("token after expiry: got the old token, want a new one")
	}
	for _, r := range sb.APIRequests() {
		if r.Header.Get("Authorization") == "" {
			t.Errorf("%s %s sent without a token", r.Method, r.Path)
		}
	}
}

func TestConcurrentCallsShareOneToken(t *testing.T) {
	sb, c := newSandbox(t)
	ctx := testContext(t)
	readConcurrently(t, ctx, c, 20)
	if got := sb.TokenRequests(); got != 1 {
		t.Errorf("token requests: got %d, want 1", got)
	}
}

// readConcurrently makes n FMU reads at once and fails the test for each
// that fails.
func readConcurrently(t *testing.T, ctx context.Context, c *enco.Client, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			if _, err := c.FMUStatus(ctx, "32470000002"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
