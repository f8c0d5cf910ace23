package state

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestNewToken(t *testing.T) {
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 43 {
		t.Errorf("len(token): got %d, want 43 (32 bytes, base64url without padding)", len(a))
	}
	if a == b {
		t.Errorf("two tokens: got %q twice, want distinct", a)
	}
}

func mustToken(t *testing.T) string {
	t.Helper()
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var tokenScenarios = []scenario{
	{"token round trip", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		tok := mustToken(t)
		if err := s.BindToken(ctx, tok, "op1", time.Minute); err != nil {
			t.Fatalf("BindToken: %v", err)
		}
		got, ok, err := s.OperationForToken(ctx, tok)
		if err != nil || !ok || got != "op1" {
			t.Fatalf("OperationForToken: got %q, %v, %v; want op1, true, nil", got, ok, err)
		}
		sel, _ := splitToken(tok)
		wantTTL(t, rdb, prefix+"tok:"+sel, time.Minute)
	}},
	{"token never stored as or in a key", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		tok := mustToken(t)
		if err := s.BindToken(ctx, tok, "op1", time.Minute); err != nil {
			t.Fatal(err)
		}
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Fatalf("keys: got %v, want exactly one", keys)
		}
		raw, err := rdb.Get(ctx, keys[0]).Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(keys[0], tok) || strings.Contains(raw, tok) {
			t.Errorf("key %q = %q: got the raw token in it, want only a digest", keys[0], raw)
		}
	}},
	{"token lookup refuses wrong tokens", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		tok := mustToken(t)
		if err := s.BindToken(ctx, tok, "op1", time.Minute); err != nil {
			t.Fatal(err)
		}
		flipped := tok[:len(tok)-1] + "A"
		if flipped == tok {
			flipped = tok[:len(tok)-1] + "B"
		}
		tests := []struct {
			name, token string
		}{
			{"other token of the same length", mustToken(t)},
			{"one character changed", flipped},
			{"prefix of the token", tok[:len(tok)-1]},
			{"empty", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, ok, err := s.OperationForToken(ctx, tt.token)
				if err != nil || ok || got != "" {
					t.Errorf("OperationForToken(%q): got %q, %v, %v; want \"\", false, nil", tt.token, got, ok, err)
				}
			})
		}
	}},
	{"token lookup checks the verifier", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		// A record found under the right selector but holding another
		// verifier must not match: the lookup does not trust the key alone.
		ctx := context.Background()
		bound, probe := mustToken(t), mustToken(t)
		if err := s.BindToken(ctx, bound, "op1", time.Minute); err != nil {
			t.Fatal(err)
		}
		boundSel, _ := splitToken(bound)
		probeSel, _ := splitToken(probe)
		if err := rdb.Rename(ctx, prefix+"tok:"+boundSel, prefix+"tok:"+probeSel).Err(); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.OperationForToken(ctx, probe)
		if err != nil || ok {
			t.Errorf("OperationForToken with a matching selector and wrong verifier: got %q, %v, %v; want \"\", false, nil",
				got, ok, err)
		}
	}},
	{"token bind validates", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		tests := []struct {
			name, token, op string
			ttl             time.Duration
		}{
			{"empty token", "", "op1", time.Minute},
			{"empty operation", "tok", "", time.Minute},
			{"zero ttl", "tok", "op1", 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := s.BindToken(ctx, tt.token, tt.op, tt.ttl); err == nil {
					t.Error("got nil error, want one")
				}
			})
		}
	}},
}
