package redact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestURLsTakesPathsAndQueriesOutOfErrors(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"callback URL in a query", "http://127.0.0.1:1/fmu/1.0.0/status?msisdn=32470000001&callback_url=https%3A%2F%2Fbot.example%2Fcallbacks%2Ffmu%2F" + secret, "http://127.0.0.1:1/…"},
		{"secret in the path", "http://127.0.0.1:1/actions/T1/B2/" + secret, "http://127.0.0.1:1/…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			// A real client error, wrapped as the callers wrap it.
			_, err = (&http.Client{}).Do(req)
			if err == nil {
				t.Fatal("a request to port 1 succeeded")
			}
			if !strings.Contains(err.Error(), secret) {
				t.Fatalf("the unredacted error %q does not hold the secret; the test proves nothing", err)
			}
			got := fmt.Errorf("fmu status: %w", URLs(err))
			if strings.Contains(got.Error(), secret) {
				t.Errorf("redacted error %q still holds the secret", got)
			}
			if !strings.Contains(got.Error(), tt.want) || !strings.HasPrefix(got.Error(), "fmu status: ") {
				t.Errorf("redacted error %q, want the operation and %q kept", got, tt.want)
			}
			if !errors.Is(got, err) {
				t.Error("redacted error lost its chain")
			}
			// Wrapped first, as libraries do: the wrapper's text holds the URL.
			_, again := (&http.Client{}).Do(req)
			late := URLs(fmt.Errorf("failed to post webhook: %w", again))
			if strings.Contains(late.Error(), secret) || !strings.Contains(late.Error(), tt.want) {
				t.Errorf("redacted wrapped error %q, want %q and no secret", late, tt.want)
			}
		})
	}
	if URLs(nil) != nil {
		t.Error("URLs(nil) != nil")
	}
}
