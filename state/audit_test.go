package state

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// auditN appends entries with Detail "0" .. "n-1", oldest first.
func auditN(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := range n {
		e := switchboard.AuditEntry{UserID: "U1", Command: "/sim status 1", Decision: "allow", Rule: "ops", Detail: fmt.Sprint(i)}
		if err := s.Audit(context.Background(), e); err != nil {
			t.Fatalf("Audit: %v", err)
		}
	}
}

func details(es []switchboard.AuditEntry) string {
	d := make([]string, len(es))
	for i, e := range es {
		d[i] = e.Detail
	}
	return strings.Join(d, ",")
}

var auditScenarios = []scenario{
	{"audit round trip", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
		in := switchboard.AuditEntry{At: at, UserID: "U1", Command: "/sim terminate 1", Decision: "deny", Rule: "no role", OperationID: "op1", Detail: "missing sim.terminate"}
		if err := s.Audit(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.RecentAudit(ctx, 1, nil)
		if err != nil || len(got) != 1 {
			t.Fatalf("RecentAudit: got %d entries, err %v; want 1, nil", len(got), err)
		}
		if got[0].ID == "" {
			t.Error("ID: got empty, want the stream id")
		}
		in.ID = got[0].ID
		if got[0] != in {
			t.Errorf("RecentAudit: got %+v, want %+v", got[0], in)
		}
	}},
	{"audit keeps at most MaxAuditField bytes of each field", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		long := "/sim status " + strings.Repeat("0470 00 00 0é ", 400) // 5.6 KB, with two-byte characters
		if err := s.Audit(ctx, switchboard.AuditEntry{UserID: "U1", Command: long, Decision: "denied", Detail: long}); err != nil {
			t.Fatal(err)
		}
		got, err := s.RecentAudit(ctx, 1, nil)
		if err != nil || len(got) != 1 {
			t.Fatalf("RecentAudit: got %d entries, err %v; want 1, nil", len(got), err)
		}
		for name, v := range map[string]string{"command": got[0].Command, "detail": got[0].Detail} {
			if len(v) > MaxAuditField || !strings.HasSuffix(v, "…") || !utf8.ValidString(v) {
				t.Errorf("%s: got %d bytes (valid UTF-8 %v), want at most %d ending in …", name, len(v), utf8.ValidString(v), MaxAuditField)
			}
			if !strings.HasPrefix(long, strings.TrimSuffix(v, "…")) {
				t.Errorf("%s: got %q, want the beginning of the text", name, v)
			}
		}
	}},
	{"audit capped at max length, newest first", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		s.SetAuditRetention(5, 0)
		auditN(t, s, 12)
		n, err := rdb.XLen(ctx, prefix+"audit").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n != 5 {
			t.Errorf("stream length: got %d, want 5", n)
		}
		tests := []struct {
			name   string
			n      int
			filter func(switchboard.AuditEntry) bool
			want   string
		}{
			{"all", 10, nil, "11,10,9,8,7"},
			{"fewer than kept", 2, nil, "11,10"},
			{"filtered", 10, func(e switchboard.AuditEntry) bool { return e.Detail != "10" && e.Detail != "8" }, "11,9,7"},
			{"none", 0, nil, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.RecentAudit(ctx, tt.n, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				if details(got) != tt.want {
					t.Errorf("got %q, want %q", details(got), tt.want)
				}
			})
		}
	}},
	{"audit filter reads past one page", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		auditN(t, s, 2*auditPage+50)
		got, err := s.RecentAudit(ctx, 3, func(e switchboard.AuditEntry) bool { return strings.HasSuffix(e.Detail, "00") })
		if err != nil {
			t.Fatal(err)
		}
		if want := "400,300,200"; details(got) != want {
			t.Errorf("got %q, want %q", details(got), want)
		}
	}},
	{"audit drops entries older than max age", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		old := fmt.Sprintf("%d-0", time.Now().Add(-2*time.Hour).UnixMilli())
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: prefix + "audit", ID: old, Values: []any{"detail", "old"}}).Err(); err != nil {
			t.Fatal(err)
		}
		s.SetAuditRetention(100, time.Hour)
		auditN(t, s, 2)
		got, err := s.RecentAudit(ctx, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := "1,0"; details(got) != want {
			t.Errorf("got %q, want %q (the two-hour-old entry removed)", details(got), want)
		}
	}},
}
