package enco

import (
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// fakeFetch hands out the tokens queued in it and counts the calls.
type fakeFetch struct {
	replies []fetchReply
	calls   int
}

type fetchReply struct {
	token string
	ttl   time.Duration
	err   error
}

func (f *fakeFetch) fetch() (*oauth2.Token, error) {
	r := f.replies[min(f.calls, len(f.replies)-1)]
	f.calls++
	if r.err != nil {
		return nil, r.err
	}
	return &oauth2.Token{AccessToken: r.token, Expiry: time.Now().Add(r.ttl)}, nil
}

func TestTokenSourceRenewal(t *testing.T) {
	start := time.Now()
	tests := []struct {
		name      string
		replies   []fetchReply
		at        []time.Duration // clock offsets of successive Token calls
		want      []string        // token per call, "error" for an error
		wantCalls int
	}{
		{
			name:    "cached until the early-expiry window",
			replies: []fetchReply{{token: "a", ttl: time.Hour}},
			at:      []time.Duration{0, time.Minute, 59 * time.Minute},
			want:    []string{"a", "a", "a"}, wantCalls: 1,
		},
		{
			name:    "same token in the window is kept until expiry",
			replies: []fetchReply{{token: "a", ttl: time.Hour}, {token: "a", ttl: 5 * time.Second}, {token: "b", ttl: time.Hour}},
			at:      []time.Duration{0, time.Hour - 5*time.Second, time.Hour - 4*time.Second, time.Hour - time.Second, time.Hour + time.Second},
			want:    []string{"a", "a", "a", "a", "b"}, wantCalls: 3,
		},
		{
			name:    "new token in the window replaces the old",
			replies: []fetchReply{{token: "a", ttl: time.Hour}, {token: "b", ttl: time.Hour}},
			at:      []time.Duration{0, time.Hour - 5*time.Second, time.Hour - 4*time.Second},
			want:    []string{"a", "b", "b"}, wantCalls: 2,
		},
		{
			name:    "failed renewal keeps the valid token, then fails after expiry",
			replies: []fetchReply{{token: "a", ttl: time.Hour}, {err: errors.New("down")}},
			at:      []time.Duration{0, time.Hour - 5*time.Second, time.Hour - 2*time.Second, time.Hour + time.Second},
			want:    []string{"a", "a", "a", "error"}, wantCalls: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeFetch{replies: tt.replies}
			var offset time.Duration
			s := &tokenSource{fetch: f.fetch, now: func() time.Time { return start.Add(offset) }}
			for i, at := range tt.at {
				offset = at
				tok, err := s.Token()
				got := "error"
				if err == nil {
					got = tok.AccessToken
				}
				if got != tt.want[i] {
					t.Errorf("call %d at %v: got %s, want %s", i, at, got, tt.want[i])
				}
			}
			if f.calls != tt.wantCalls {
				t.Errorf("fetches: got %d, want %d", f.calls, tt.wantCalls)
			}
		})
	}
}

func TestTokenSourceRefresh(t *testing.T) {
	f := &fakeFetch{replies: []fetchReply{{token: "a", ttl: time.Hour}, {token: "b", ttl: time.Hour}}}
	var revoked []string
	s := &tokenSource{fetch: f.fetch, now: time.Now, revoke: func(tok string) error {
		revoked = append(revoked, tok)
		return nil
	}}
	if _, err := s.Token(); err != nil {
		t.Fatal(err)
	}
	tok, err := s.refresh("a")
	if err != nil || tok.AccessToken != "b" {
		t.Fatalf("refresh of the stale token: got %v, %v, want b", tok, err)
	}
	// A second request refused with the old token finds the new one.
	tok, err = s.refresh("a")
	if err != nil || tok.AccessToken != "b" || f.calls != 2 {
		t.Errorf("second refresh: got %v, %v after %d fetches, want b without fetching", tok, err, f.calls)
	}
	if !slices.Equal(revoked, []string{"a"}) {
		t.Errorf("revoked: got %q, want [a]", revoked)
	}
}

// TestTokenSourceRefreshFailures: a renewal that cannot bring a new token
// ends with an error, never with the refused token.
func TestTokenSourceRefreshFailures(t *testing.T) {
	tests := []struct {
		name        string
		revokeErr   error
		next        string
		wantRefused bool
	}{
		{name: "revoke fails and the same token comes back", revokeErr: errors.New("network down"), next: "a"},
		{name: "same token handed back", next: "a", wantRefused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeFetch{replies: []fetchReply{{token: "a", ttl: time.Hour}, {token: tt.next, ttl: time.Hour}}}
			s := &tokenSource{fetch: f.fetch, now: time.Now, revoke: func(string) error { return tt.revokeErr }}
			if _, err := s.Token(); err != nil {
				t.Fatal(err)
			}
			tok, err := s.refresh("a")
			if err == nil {
				t.Fatalf("got token %v, want an error", tok)
			}
			if got := errors.Is(err, ErrCredentialsRefused); got != tt.wantRefused {
				t.Errorf("errors.Is(%v, ErrCredentialsRefused): got %v, want %v", err, got, tt.wantRefused)
			}
		})
	}
}

// TestTokenSourceRenewsWhenRevokeFails: EnCo may refuse to revoke a token
// that has expired already (the usual cause of a 401), or fail for a moment;
// the renewal goes on and uses the fresh token it gets.
func TestTokenSourceRenewsWhenRevokeFails(t *testing.T) {
	f := &fakeFetch{replies: []fetchReply{{token: "a", ttl: time.Hour}, {token: "b", ttl: time.Hour}}}
	s := &tokenSource{fetch: f.fetch, now: time.Now, revoke: func(string) error { return errors.New("invalid_token: already expired") }}
	if _, err := s.Token(); err != nil {
		t.Fatal(err)
	}
	tok, err := s.refresh("a")
	if err != nil || tok.AccessToken != "b" {
		t.Fatalf("refresh after a failed revoke: got %v, %v; want token b", tok, err)
	}
	if f.calls != 2 {
		t.Errorf("token fetches: got %d, want 2 (the first and the renewal)", f.calls)
	}
}
