package state

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

var directoryScenarios = []scenario{
	{"directory entry set, replace, delete", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		steps := []struct {
			name   string
			set    *switchboard.Entry // nil: delete
			want   switchboard.Entry
			wantOK bool
		}{
			{"set both", &switchboard.Entry{Mobile: "32470000001", Fixed: "3228160257"}, switchboard.Entry{Mobile: "32470000001", Fixed: "3228160257"}, true},
			{"replace with mobile only", &switchboard.Entry{Mobile: "32470000002"}, switchboard.Entry{Mobile: "32470000002"}, true},
			{"delete", nil, switchboard.Entry{}, false},
		}
		for _, st := range steps {
			if st.set != nil {
				if err := s.SetDirectoryEntry(ctx, "U0AAAAAAA", *st.set); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
			} else if err := s.DeleteDirectoryEntry(ctx, "U0AAAAAAA"); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			got, ok, err := s.DirectoryEntry(ctx, "U0AAAAAAA")
			if err != nil || ok != st.wantOK || got != st.want {
				t.Errorf("%s: got %+v, %v, %v; want %+v, %v, nil", st.name, got, ok, err, st.want, st.wantOK)
			}
			if st.set != nil {
				wantNoTTL(t, rdb, prefix+"dir:U0AAAAAAA")
			}
		}
		if err := s.DeleteDirectoryEntry(ctx, "U0AAAAAAA"); err != nil {
			t.Errorf("deleting a missing entry: got %v, want nil", err)
		}
		if err := s.SetDirectoryEntry(ctx, "", switchboard.Entry{Mobile: "1"}); err == nil {
			t.Error("SetDirectoryEntry without user: got nil error, want one")
		}
	}},
}
