package state

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// DefaultAuditMaxLen is how many audit entries a new Store keeps, and the
// bot's default for AUDIT_MAX_ENTRIES.
const DefaultAuditMaxLen = 100000

// auditPage is how many entries RecentAudit reads per round trip.
const auditPage = 200

// SetAuditRetention sets how much audit Audit keeps: at most maxLen entries
// (the cap is exact: the oldest entries beyond it are removed), and, when
// maxAge is positive, none older than maxAge. maxLen ≤ 0 removes the length
// cap. It may be called at any time; it applies from the next Audit.
func (s *Store) SetAuditRetention(maxLen int64, maxAge time.Duration) {
	s.auditMaxLen.Store(max(maxLen, 0))
	s.auditMaxAge.Store(int64(max(maxAge, 0)))
}

// Audit appends an entry to the audit stream and trims the stream to the
// retention limits. Age trimming compares with this process's clock.
func (s *Store) Audit(ctx context.Context, e switchboard.AuditEntry) error {
	key := s.auditKey()
	maxLen, minID := s.auditLimits()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		// Exact trimming, so that "the newest maxLen" is a precise promise;
		// at the rate people run commands its cost does not matter.
		p.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: maxLen, Values: auditFields(e)})
		if minID != "" {
			p.XTrimMinID(ctx, key, minID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// auditFields is how an entry is kept in the stream: its time (now when
// zero) and its non-empty fields.
func auditFields(e switchboard.AuditEntry) []any { return appendAuditFields(nil, e) }

// MaxAuditField is the most bytes an audit entry keeps of one field: the
// command text a person typed can be thousands of characters, and an entry
// is kept for months, so the trail keeps its beginning (enough to tell what
// was asked) and says it was cut.
const MaxAuditField = 500

// capField cuts s to MaxAuditField bytes, on a character boundary, marking
// the cut with "…".
func capField(s string) string {
	if len(s) <= MaxAuditField {
		return s
	}
	cut := MaxAuditField - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// appendAuditFields appends e's fields, as auditFields gives them, to dst.
// Each field is capped at MaxAuditField bytes.
func appendAuditFields(dst []any, e switchboard.AuditEntry) []any {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	dst = append(dst, "at", e.At.Format(time.RFC3339Nano))
	for _, f := range [...]struct{ name, value string }{
		{"user", e.UserID}, {"command", e.Command}, {"decision", e.Decision},
		{"rule", e.Rule}, {"op", e.OperationID}, {"detail", e.Detail},
	} {
		if f.value != "" {
			dst = append(dst, f.name, capField(f.value))
		}
	}
	return dst
}

// auditLimits returns the retention in force: the length cap (0: none) and
// the oldest stream id to keep ("": no age limit).
func (s *Store) auditLimits() (maxLen int64, minID string) {
	if maxAge := time.Duration(s.auditMaxAge.Load()); maxAge > 0 {
		minID = strconv.FormatInt(time.Now().Add(-maxAge).UnixMilli(), 10) + "-0"
	}
	return s.auditMaxLen.Load(), minID
}

// RecentAudit returns up to n audit entries, newest first, that filter
// accepts (all of them when filter is nil).
func (s *Store) RecentAudit(ctx context.Context, n int, filter func(switchboard.AuditEntry) bool) ([]switchboard.AuditEntry, error) {
	if n <= 0 {
		return nil, nil
	}
	key := s.auditKey()
	var out []switchboard.AuditEntry
	end := "+"
	for {
		msgs, err := s.rdb.XRevRangeN(ctx, key, end, "-", auditPage).Result()
		if err != nil {
			return nil, fmt.Errorf("read audit: %w", err)
		}
		for _, m := range msgs {
			e := decodeAudit(m)
			if filter == nil || filter(e) {
				out = append(out, e)
				if len(out) == n {
					return out, nil
				}
			}
		}
		if len(msgs) < auditPage {
			return out, nil
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
}

func (s *Store) auditKey() string { return s.prefix + "audit" }

// decodeAudit reads an entry tolerantly: missing or odd fields stay empty.
func decodeAudit(m redis.XMessage) switchboard.AuditEntry {
	str := func(name string) string {
		v, _ := m.Values[name].(string)
		return v
	}
	e := switchboard.AuditEntry{
		ID:          m.ID,
		UserID:      str("user"),
		Command:     str("command"),
		Decision:    str("decision"),
		Rule:        str("rule"),
		OperationID: str("op"),
		Detail:      str("detail"),
	}
	if at, err := time.Parse(time.RFC3339Nano, str("at")); err == nil {
		e.At = at
	}
	return e
}
