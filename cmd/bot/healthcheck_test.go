package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthzURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr, want string
	}{
		{":8080", "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/healthz"},
		{"[::]:8080", "http://127.0.0.1:8080/healthz"},
		{"127.0.0.1:8081", "http://127.0.0.1:8081/healthz"},
		{"10.1.2.3:8080", "http://10.1.2.3:8080/healthz"},
		{"[::1]:8080", "http://[::1]:8080/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, err := healthzURL(tt.addr)
			if err != nil || got != tt.want {
				t.Errorf("healthzURL(%q) = %q, %v; want %q", tt.addr, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "8080", "localhost"} {
		if got, err := healthzURL(bad); err == nil {
			t.Errorf("healthzURL(%q) = %q, want an error naming HTTP_ADDR", bad, got)
		} else if !strings.Contains(err.Error(), "HTTP_ADDR") {
			t.Errorf("healthzURL(%q) error = %q, want it to name HTTP_ADDR", bad, err)
		}
	}
}

func TestHealthcheckExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		want   int
		says   string
	}{
		{"alive", http.StatusOK, 0, ""},
		{"unhealthy", http.StatusServiceUnavailable, 1, "answered 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			var out strings.Builder
			got := Healthcheck(context.Background(), strings.TrimPrefix(srv.URL, "http://"), &out)
			if got != tt.want {
				t.Errorf("Healthcheck = %d, want %d (output %q)", got, tt.want, out.String())
			}
			if path != "/healthz" {
				t.Errorf("checked path %q, want /healthz", path)
			}
			if !strings.Contains(out.String(), tt.says) || (tt.says == "" && out.Len() > 0) {
				t.Errorf("Healthcheck said %q, want %q", out.String(), tt.says)
			}
		})
	}
}
