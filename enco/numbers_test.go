package enco_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
)

func TestAvailableNumbers(t *testing.T) {
	tests := []struct {
		name   string
		filter enco.NumberFilter
		want   int
	}{
		{"all", enco.NumberFilter{}, 20},
		{"zone 02", enco.NumberFilter{Zone: "02"}, 6},
		{"mobile", enco.NumberFilter{Type: "MOBILE"}, 5},
		{"premium lower case", enco.NumberFilter{PriceTier: "premium"}, 4},
		{"zone 09 premium", enco.NumberFilter{Zone: "09", PriceTier: "PREMIUM"}, 1},
		{"zone 04", enco.NumberFilter{Zone: "04"}, 0},
	}
	sb, c := newSandbox(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.AvailableNumbers(testContext(t), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Errorf("got %d numbers, want %d", len(got), tt.want)
			}
			for _, n := range got {
				if tt.filter.Type != "" && n.Type != strings.ToUpper(tt.filter.Type) || tt.filter.PriceTier != "" && n.PriceTier != strings.ToUpper(tt.filter.PriceTier) {
					t.Errorf("%+v does not match %+v", n, tt.filter)
				}
			}
		})
	}
	last := sb.APIRequests()[len(tests)-2].Query
	if last.Get("zone") != "09" || last.Get("priceTier") != "PREMIUM" || last.Has("type") {
		t.Errorf("query: got %v, want zone and priceTier only", last)
	}
}

func TestReserveAndReleaseNumber(t *testing.T) {
	sb, c := newSandbox(t)
	ctx := testContext(t)
	const num = "3232010002"

	got, err := c.ReserveNumber(ctx, enco.ReserveRequest{Number: num, Type: "FIXED", Zone: "03", PricingTier: "REGULAR"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (enco.PhoneNumber{Number: num, Type: "FIXED", PriceTier: "REGULAR", Zone: "03"}); got != want {
		t.Errorf("reserved: got %+v, want %+v", got, want)
	}
	r := sb.APIRequests()[0]
	if r.Query.Get("addressInZoneConfirmed") != "true" || string(r.Body) != `{"supportsSMS":false,"type":"FIXED","filter":"3232010002","zone":"03","pricingTier":"REGULAR"}` {
		t.Errorf("reserve request: got query %v body %s", r.Query, r.Body)
	}
	held, err := c.HeldNumbers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(held, func(n enco.PhoneNumber) bool { return n.Number == num }) {
		t.Errorf("held numbers %v do not include %s", held, num)
	}
	if avail, _ := c.AvailableNumbers(ctx, enco.NumberFilter{Zone: "03"}); len(avail) != 4 {
		t.Errorf("available in zone 03 after reserving: got %d, want 4", len(avail))
	}

	if err := c.ReleaseNumber(ctx, num); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(sb.HeldNumbers(), func(n sandbox.Number) bool { return n.Number == num }) {
		t.Errorf("%s still held after release", num)
	}
	until, frozen := sb.FrozenUntil(num)
	if left := until.Sub(sb.Now()); !frozen || left > sandbox.FreezePeriod || left < sandbox.FreezePeriod-time.Minute {
		t.Errorf("frozen: got %v until %v, want frozen for 15 days", frozen, until)
	}
	if avail, _ := c.AvailableNumbers(ctx, enco.NumberFilter{Zone: "03"}); len(avail) != 4 {
		t.Errorf("available in zone 03 while frozen: got %d, want 4", len(avail))
	}
	_, err = c.ReserveNumber(ctx, enco.ReserveRequest{Number: num})
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict || !strings.Contains(apiErr.Message, "frozen") {
		t.Errorf("reserve while frozen: got %v, want *enco.Error 409 saying frozen", err)
	}

	sb.Advance(sandbox.FreezePeriod)
	if _, err := c.ReserveNumber(ctx, enco.ReserveRequest{Number: num}); err != nil {
		t.Errorf("reserve after the freeze: %v", err)
	}
}

func TestReserveAndReleaseRefusals(t *testing.T) {
	tests := []struct {
		name       string
		call       func(*enco.Client) error
		wantStatus int
	}{
		{"reserve unknown number", func(c *enco.Client) error {
			_, err := c.ReserveNumber(testContext(t), enco.ReserveRequest{Number: "3250123456"})
			return err
		}, http.StatusNotFound},
		{"reserve in another zone", func(c *enco.Client) error {
			_, err := c.ReserveNumber(testContext(t), enco.ReserveRequest{Number: "3222060744", Zone: "09"})
			return err
		}, http.StatusNotFound},
		{"reserve a held number", func(c *enco.Client) error {
			_, err := c.ReserveNumber(testContext(t), enco.ReserveRequest{Number: "3228160257"})
			return err
		}, http.StatusConflict},
		{"release a number not held", func(c *enco.Client) error {
			return c.ReleaseNumber(testContext(t), "3222060744")
		}, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newSandbox(t)
			err := tt.call(c)
			var apiErr *enco.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus || apiErr.Message == "" {
				t.Errorf("got %v, want *enco.Error %d with a message", err, tt.wantStatus)
			}
		})
	}
}

// Releasing is a write: a timeout must not make the client release again.
func TestReleaseNotRepeatedAfterTimeout(t *testing.T) {
	sb, c := newSandbox(t)
	sb.SetResponseDelay(300 * time.Millisecond)
	c.Timeout = 50 * time.Millisecond
	if err := c.ReleaseNumber(testContext(t), "3228160257"); err == nil {
		t.Fatal("got success, want a timeout")
	}
	if got := len(sb.APIRequests()); got != 1 {
		t.Errorf("API requests: got %d, want 1", got)
	}
}
