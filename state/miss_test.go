package state

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

var missScenarios = []scenario{
	{"misses are values", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		tests := []struct {
			name string
			call func() (found bool, err error)
		}{
			{"Operation", func() (bool, error) { _, ok, err := s.Operation(ctx, "nope"); return ok, err }},
			{"OperationForToken", func() (bool, error) { _, ok, err := s.OperationForToken(ctx, "nope"); return ok, err }},
			{"PeekConfirmation", func() (bool, error) { _, ok, err := s.PeekConfirmation(ctx, "nope"); return ok, err }},
			{"ConsumeConfirmation", func() (bool, error) { _, ok, err := s.ConsumeConfirmation(ctx, "nope"); return ok, err }},
			{"NoteConfirmation", func() (bool, error) { return s.NoteConfirmation(ctx, "nope", "ts", "1") }},
			{"DirectoryEntry", func() (bool, error) { _, ok, err := s.DirectoryEntry(ctx, "nope"); return ok, err }},
			{"TakeParked", func() (bool, error) { p, err := s.TakeParked(ctx, "nope"); return len(p) > 0, err }},
			{"Results", func() (bool, error) { r, err := s.Results(ctx, "nope"); return len(r) > 0, err }},
			{"RecentAudit", func() (bool, error) { a, err := s.RecentAudit(ctx, 10, nil); return len(a) > 0, err }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				found, err := tt.call()
				if err != nil || found {
					t.Errorf("got found=%v err=%v, want false, nil", found, err)
				}
			})
		}
	}},
}
