package state

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/internal/redistest"
)

func TestClaimStepCompletion(t *testing.T) {
	rdb, prefix := redistest.New(t)
	s := New(rdb, prefix)
	ctx := context.Background()
	claims := []struct {
		name, exec, entry string
		want              bool
	}{
		{"first entry claims", "Fx1", "1-0", true},
		{"the same entry again (redelivered)", "Fx1", "1-0", true},
		{"another entry for the execution", "Fx1", "2-0", false},
		{"another execution", "Fx2", "2-0", true},
	}
	for _, c := range claims {
		got, err := s.ClaimStepCompletion(ctx, c.exec, c.entry, time.Hour)
		if err != nil || got != c.want {
			t.Errorf("%s: ClaimStepCompletion(%s, %s): got %v, %v; want %v, nil", c.name, c.exec, c.entry, got, err, c.want)
		}
	}
	if _, err := s.ClaimStepCompletion(ctx, "", "1-0", time.Hour); err == nil {
		t.Error("ClaimStepCompletion with an empty execution id: got no error")
	}
}
