package enco_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
)

func TestFaultEnvelopeOnWriteIsNotRetried(t *testing.T) {
	sb, c := newSandbox(t)
	sb.FailNext(1, http.StatusServiceUnavailable)

	err := c.SetFMUStatus(testContext(t), "32470000001", enco.ProfilePrivate)
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want *enco.Error", err)
	}
	want := enco.Error{Op: "fmu set status", API: enco.APIFMU, StatusCode: 503, Code: 101503, Message: "Error connecting to the back end", Description: "Failure injected by the sandbox."}
	if *apiErr != want {
		t.Errorf("got %+v, want %+v", *apiErr, want)
	}
	if !apiErr.Temporary() {
		t.Errorf("Temporary() = false, want true for 503")
	}
	if got := len(sb.APIRequests()); got != 1 {
		t.Errorf("API requests: got %d, want 1 (writes are not retried)", got)
	}
}

func TestReadRetriedOn5xx(t *testing.T) {
	sb, c := newSandbox(t)
	var obs observer
	c.Observe = obs.observe
	sb.FailNext(2, http.StatusBadGateway)

	st, err := c.FMUStatus(testContext(t), "32470000002")
	if err != nil {
		t.Fatalf("got %v, want success after retries", err)
	}
	if st.Status != enco.ProfileProfessional {
		t.Errorf("status: got %s, want %s", st.Status, enco.ProfileProfessional)
	}
	statuses, ops := obs.got()
	if want := []int{502, 502, 200}; !slices.Equal(statuses, want) {
		t.Errorf("observed statuses: got %v, want %v", statuses, want)
	}
	if len(ops) == 0 || ops[0] != "fmu/fmu status" {
		t.Errorf("observed op: got %v, want fmu/fmu status", ops)
	}
}

func TestReadRetriesAreBounded(t *testing.T) {
	sb, c := newSandbox(t)
	c.MaxRetries = 1
	sb.FailNext(5, http.StatusInternalServerError)

	_, err := c.HeldNumbers(testContext(t))
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("got %v, want *enco.Error with status 500", err)
	}
	if got := len(sb.APIRequests()); got != 2 {
		t.Errorf("API requests: got %d, want 2 (one retry)", got)
	}
}

func TestTooManyRequests(t *testing.T) {
	t.Run("read waits for Retry-After then retries", func(t *testing.T) {
		sb, c := newSandbox(t)
		sb.FailNext(1, http.StatusTooManyRequests)
		start := time.Now()
		if _, err := c.AvailableNumbers(testContext(t), enco.NumberFilter{}); err != nil {
			t.Fatalf("got %v, want success after the retry", err)
		}
		if elapsed := time.Since(start); elapsed < time.Second {
			t.Errorf("retried after %v, want at least the 1s of Retry-After", elapsed)
		}
		if got := len(sb.APIRequests()); got != 2 {
			t.Errorf("API requests: got %d, want 2", got)
		}
	})
	t.Run("write is not retried", func(t *testing.T) {
		sb, c := newSandbox(t)
		sb.FailNext(1, http.StatusTooManyRequests)
		err := c.ReleaseNumber(testContext(t), "3228160257")
		var apiErr *enco.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("got %v, want *enco.Error", err)
		}
		if apiErr.StatusCode != 429 || apiErr.Code != 900800 || apiErr.RetryAfter != time.Second {
			t.Errorf("got status %d code %d retry-after %v, want 429 900800 1s", apiErr.StatusCode, apiErr.Code, apiErr.RetryAfter)
		}
		if got := len(sb.APIRequests()); got != 1 {
			t.Errorf("API requests: got %d, want 1", got)
		}
		if held := sb.HeldNumbers(); len(held) != 1 {
			t.Errorf("held numbers: got %d, want 1 (the release was throttled)", len(held))
		}
	})
	t.Run("read gives up when Retry-After passes the deadline", func(t *testing.T) {
		sb, c := newSandbox(t)
		sb.SetRetryAfter(20 * time.Second)
		sb.FailNext(1, http.StatusTooManyRequests)
		ctx, cancel := context.WithTimeout(testContext(t), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.HeldNumbers(ctx)
		var apiErr *enco.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
			t.Fatalf("got %v, want the 429 *enco.Error", err)
		}
		if elapsed := time.Since(start); elapsed > 400*time.Millisecond {
			t.Errorf("returned after %v, want at once", elapsed)
		}
		if got := len(sb.APIRequests()); got != 1 {
			t.Errorf("API requests: got %d, want 1", got)
		}
	})
}

func TestTimeout(t *testing.T) {
	tests := []struct {
		name string
		call func(context.Context, *enco.Client) error
	}{
		{"read", func(ctx context.Context, c *enco.Client) error {
			_, err := c.FMUStatus(ctx, "32470000001")
			return err
		}},
		{"write", func(ctx context.Context, c *enco.Client) error {
			_, err := c.PlaceCall(ctx, enco.CallRequest{Origin: "+3228160257", Destination: "+32468373901"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, c := newSandbox(t)
			sb.SetResponseDelay(2 * time.Second)
			c.Timeout = 150 * time.Millisecond
			c.MaxRetries = -1
			start := time.Now()
			err := tt.call(testContext(t), c)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want a deadline error", err)
			}
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("returned after %v, want about the 150ms timeout", elapsed)
			}
		})
	}
}

func TestTimeoutOfReadIsRetried(t *testing.T) {
	sb, c := newSandbox(t)
	sb.SetResponseDelay(time.Second)
	c.Timeout = 100 * time.Millisecond
	c.MaxRetries = 2
	var obs observer
	c.Observe = obs.observe
	_, err := c.HeldNumbers(testContext(t))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if statuses, _ := obs.got(); !slices.Equal(statuses, []int{0, 0, 0}) {
		t.Errorf("observed statuses: got %v, want three attempts without reply", statuses)
	}
}

func TestValidationBeforeAnyCall(t *testing.T) {
	batch := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "3247000" + string(rune('0'+i%10)) + "0001"
		}
		return out
	}
	dev := enco.Device{Identifier: "32471000001", IdentifierType: enco.MSISDN}
	tests := []struct {
		name string
		call func(context.Context, *enco.Client) error
	}{
		{"fmu status empty msisdn", func(ctx context.Context, c *enco.Client) error {
			_, err := c.FMUStatus(ctx, "")
			return err
		}},
		{"fmu set unknown profile", func(ctx context.Context, c *enco.Client) error {
			return c.SetFMUStatus(ctx, "32470000001", "HOLIDAY")
		}},
		{"fmu batch of 0", func(ctx context.Context, c *enco.Client) error {
			_, err := c.RequestFMUStatuses(ctx, nil, "http://cb.example/fmu")
			return err
		}},
		{"fmu batch of 1", func(ctx context.Context, c *enco.Client) error {
			_, err := c.RequestFMUStatuses(ctx, batch(1), "http://cb.example/fmu")
			return err
		}},
		{"fmu set batch of 1", func(ctx context.Context, c *enco.Client) error {
			_, err := c.RequestSetFMUStatuses(ctx, batch(1), enco.ProfilePrivate, "http://cb.example/fmu")
			return err
		}},
		{"fmu batch of 51", func(ctx context.Context, c *enco.Client) error {
			_, err := c.RequestFMUStatuses(ctx, batch(51), "http://cb.example/fmu")
			return err
		}},
		{"fmu set batch of 51", func(ctx context.Context, c *enco.Client) error {
			_, err := c.RequestSetFMUStatuses(ctx, batch(51), enco.ProfilePrivate, "http://cb.example/fmu")
			return err
		}},
		{"fmu batch with empty number", func(ctx context.Context, c *enco.Client) error {
			_, err := c.RequestFMUStatuses(ctx, []string{"32470000001", ""}, "http://cb.example/fmu")
			return err
		}},
		{"fmu batch with relative callback", func(ctx context.Context, c *enco.Client) error {
			_, err := c.RequestFMUStatuses(ctx, []string{"32470000001", "32470000002"}, "/fmu")
			return err
		}},
		{"fmu register empty url", func(ctx context.Context, c *enco.Client) error {
			return c.RegisterFMUCallback(ctx, "")
		}},
		{"sim empty msisdn", func(ctx context.Context, c *enco.Client) error {
			_, err := c.SIMCards(ctx, "")
			return err
		}},
		{"sim msisdn not digits", func(ctx context.Context, c *enco.Client) error {
			_, err := c.SIMCards(ctx, "8932010000000000001x")
			return err
		}},
		{"m2m unknown action", func(ctx context.Context, c *enco.Client) error {
			_, err := c.RequestM2M(ctx, "suspension", []enco.Device{dev}, "tok")
			return err
		}},
		{"m2m no devices", func(ctx context.Context, c *enco.Client) error {
			_, err := c.RequestM2M(ctx, enco.Activation, nil, "tok")
			return err
		}},
		{"m2m empty callback token", func(ctx context.Context, c *enco.Client) error {
			_, err := c.RequestM2M(ctx, enco.Activation, []enco.Device{dev}, " ")
			return err
		}},
		{"m2m callback header not whitelisted", func(ctx context.Context, c *enco.Client) error {
			return c.ConfigureM2MCallback(ctx, "https://cb.example/m2m", map[string]string{"Cookie": "a=b"})
		}},
		{"call origin not E.164", func(ctx context.Context, c *enco.Client) error {
			_, err := c.PlaceCall(ctx, enco.CallRequest{Origin: "028160257", Destination: "+32468373901"})
			return err
		}},
		{"call short destination", func(ctx context.Context, c *enco.Client) error {
			_, err := c.PlaceCall(ctx, enco.CallRequest{Origin: "+3228160257", Destination: "112"})
			return err
		}},
		{"call bad presentation", func(ctx context.Context, c *enco.Client) error {
			_, err := c.PlaceCall(ctx, enco.CallRequest{Origin: "+3228160257", Destination: "+32468373901", Presentation: "HIDDEN"})
			return err
		}},
		{"cdr till before from", func(ctx context.Context, c *enco.Client) error {
			now := time.Now()
			_, err := c.CDRs(ctx, enco.CDRQuery{From: now, Till: now.Add(-time.Hour)})
			return err
		}},
		{"reserve empty number", func(ctx context.Context, c *enco.Client) error {
			_, err := c.ReserveNumber(ctx, enco.ReserveRequest{})
			return err
		}},
		{"release path trick", func(ctx context.Context, c *enco.Client) error {
			return c.ReleaseNumber(ctx, "../available")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, c := newSandbox(t)
			err := tt.call(testContext(t), c)
			if !errors.Is(err, enco.ErrInvalidRequest) {
				t.Errorf("got %v, want ErrInvalidRequest", err)
			}
			if got := len(sb.Requests()); got != 0 {
				t.Errorf("requests: got %d, want 0", got)
			}
		})
	}
}

func TestM2MNeedsAPIKey(t *testing.T) {
	sb, c := newSandbox(t)
	c.APIKey = ""
	_, err := c.SIMCards(testContext(t), "32471000001")
	if !errors.Is(err, enco.ErrInvalidRequest) {
		t.Errorf("got %v, want ErrInvalidRequest", err)
	}
	if got := len(sb.Requests()); got != 0 {
		t.Errorf("requests: got %d, want 0", got)
	}
}

func TestRepliesOfOtherShapes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		check  func(*testing.T, *enco.Client)
	}{
		{"reserve with empty 2xx returns what was asked", http.StatusNoContent, "", func(t *testing.T, c *enco.Client) {
			got, err := c.ReserveNumber(testContext(t), enco.ReserveRequest{Number: "3222060744", Type: "FIXED", Zone: "02", PricingTier: "REGULAR"})
			want := enco.PhoneNumber{Number: "3222060744", Type: "FIXED", PriceTier: "REGULAR", Zone: "02"}
			if err != nil || got != want {
				t.Errorf("got %+v, %v, want %+v", got, err, want)
			}
		}},
		{"numbers wrapped in items", http.StatusOK, `{"items":[{"phonenumber":3222060746,"type":"fixed","smsSupported":"false","priceTier":"regular"}]}`, func(t *testing.T, c *enco.Client) {
			got, err := c.HeldNumbers(testContext(t))
			want := []enco.PhoneNumber{{Number: "3222060746", Type: "FIXED", PriceTier: "REGULAR"}}
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("got %+v, %v, want %+v", got, err, want)
			}
		}},
		{"fmu set with bare 200", http.StatusOK, "", func(t *testing.T, c *enco.Client) {
			if err := c.SetFMUStatus(testContext(t), "32470000001", enco.ProfilePrivate); err != nil {
				t.Errorf("got %v, want success", err)
			}
		}},
		{"fmu set refused in a list", http.StatusOK, `[{"msisdn":"32470000001","success":"false","message":{"text":"FMU option not active"}}]`, func(t *testing.T, c *enco.Client) {
			err := c.SetFMUStatus(testContext(t), "32470000001", enco.ProfilePrivate)
			var apiErr *enco.Error
			if !errors.As(err, &apiErr) || apiErr.Message != "FMU option not active" || apiErr.StatusCode != 200 {
				t.Errorf("got %v, want *enco.Error 200 %q", err, "FMU option not active")
			}
		}},
		{"fmu status in lower case", http.StatusOK, `{"MSISDN":"32470000003","Status":"on-duty"}`, func(t *testing.T, c *enco.Client) {
			got, err := c.FMUStatus(testContext(t), "32470000003")
			want := enco.FMUStatus{MSISDN: "32470000003", Status: enco.ProfileOnDuty}
			if err != nil || got != want {
				t.Errorf("got %+v, %v, want %+v", got, err, want)
			}
		}},
		{"service error text", http.StatusBadRequest, "<html><body>\n  Bad   request\n</body></html>", func(t *testing.T, c *enco.Client) {
			_, err := c.PlaceCall(testContext(t), enco.CallRequest{Origin: "3228160257", Destination: "32468373901"})
			var apiErr *enco.Error
			if !errors.As(err, &apiErr) || apiErr.Message != "<html><body> Bad request </body></html>" {
				t.Errorf("got %v, want *enco.Error with the raw text", err)
			}
		}},
		{"call without session id", http.StatusOK, `{}`, func(t *testing.T, c *enco.Client) {
			_, err := c.PlaceCall(testContext(t), enco.CallRequest{Origin: "3228160257", Destination: "32468373901"})
			var apiErr *enco.Error
			if !errors.As(err, &apiErr) {
				t.Errorf("got %v, want *enco.Error", err)
			}
		}},
		{"numeric session id", http.StatusOK, `{"sessionId":123456}`, func(t *testing.T, c *enco.Client) {
			id, err := c.PlaceCall(testContext(t), enco.CallRequest{Origin: "3228160257", Destination: "32468373901"})
			if err != nil || id != "123456" {
				t.Errorf("got %q, %v, want 123456", id, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			c := &enco.Client{BaseURL: srv.URL, HTTPClient: enco.NewHTTPClient(enco.StaticTokenSource("t"), nil), MaxRetries: -1}
			tt.check(t, c)
		})
	}
}

func TestRedirectToOtherHostIsNotFollowed(t *testing.T) {
	leaked := make(chan string, 1)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked <- r.Header.Get("Authorization")
	}))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	c := &enco.Client{BaseURL: srv.URL, HTTPClient: enco.NewHTTPClient(enco.StaticTokenSource("secret-token"), nil)}

	_, err := c.HeldNumbers(testContext(t))
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusFound {
		t.Errorf("got %v, want *enco.Error with status 302", err)
	}
	select {
	case auth := <-leaked:
		t.Errorf("the other host got a request with Authorization %q", auth)
	default:
	}
}

// TestRefusalsAreClassified: each refusal that asks for its own words wraps
// its class, names the API that answered, and is not retried. A 404 means a
// retired API only from the Voice Call-out API.
func TestRefusalsAreClassified(t *testing.T) {
	tests := []struct {
		name   string
		status int
		voice  int // RetireVoice's status, when set
		call   func(context.Context, *enco.Client) error
		api    string
		want   error
	}{
		{"403 from M2M", http.StatusForbidden, 0, func(ctx context.Context, c *enco.Client) error {
			_, err := c.SIMCards(ctx, "32471000001")
			return err
		}, enco.APIM2M, enco.ErrAccessDenied},
		{"429 on a write", http.StatusTooManyRequests, 0, func(ctx context.Context, c *enco.Client) error {
			_, err := c.PlaceCall(ctx, enco.CallRequest{Origin: "+3228160257", Destination: "+32468373901"})
			return err
		}, enco.APIVoice, enco.ErrThrottled},
		{"404 from the voice call", 0, http.StatusNotFound, func(ctx context.Context, c *enco.Client) error {
			_, err := c.PlaceCall(ctx, enco.CallRequest{Origin: "+3228160257", Destination: "+32468373901"})
			return err
		}, enco.APIVoice, enco.ErrAPIRetired},
		{"410 from the CDR list", 0, http.StatusGone, func(ctx context.Context, c *enco.Client) error {
			_, err := c.CDRs(ctx, enco.CDRQuery{})
			return err
		}, enco.APIVoice, enco.ErrAPIRetired},
		{"404 from numbers is a refusal only", http.StatusNotFound, 0, func(ctx context.Context, c *enco.Client) error {
			_, err := c.ReserveNumber(ctx, enco.ReserveRequest{Number: "3222060744", Type: "FIXED", Zone: "02", PricingTier: "REGULAR"})
			return err
		}, enco.APINumbers, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, c := newSandbox(t)
			if tt.status != 0 {
				sb.FailNext(1, tt.status)
			}
			sb.RetireVoice(tt.voice)
			err := tt.call(testContext(t), c)
			var apiErr *enco.Error
			if !errors.As(err, &apiErr) || apiErr.API != tt.api {
				t.Fatalf("got %v, want an *enco.Error from API %q", err, tt.api)
			}
			for _, class := range []error{enco.ErrAccessDenied, enco.ErrThrottled, enco.ErrAPIRetired, enco.ErrCredentialsRefused} {
				if got := errors.Is(err, class); got != (class == tt.want) {
					t.Errorf("errors.Is(%v, %q) = %t, want %t", err, class, got, !got)
				}
			}
			if got := len(sb.APIRequests()); got != 1 {
				t.Errorf("API requests: got %d, want 1", got)
			}
		})
	}
}

// TestReadNotRetriedWhenRetryAfterIsLong: a 429 asking for more than half
// a minute ends a read at once, with the wait EnCo asked for, for the
// person to be told when to try again.
func TestReadNotRetriedWhenRetryAfterIsLong(t *testing.T) {
	sb, c := newSandbox(t)
	sb.SetRetryAfter(2 * time.Minute)
	sb.FailNext(1, http.StatusTooManyRequests)
	start := time.Now()
	_, err := c.HeldNumbers(testContext(t))
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) || !errors.Is(err, enco.ErrThrottled) || apiErr.RetryAfter != 2*time.Minute {
		t.Fatalf("got %v, want ErrThrottled with RetryAfter 2m", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("returned after %v, want at once", elapsed)
	}
	if got := len(sb.APIRequests()); got != 1 {
		t.Errorf("API requests: got %d, want 1", got)
	}
}
