package state_test

import (
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/state"
)

func TestNumberFreeze(t *testing.T) {
	rdb, prefix := redistest.New(t)
	s := state.New(rdb, prefix)
	ctx := t.Context()
	if _, ok, err := s.NumberFrozenUntil(ctx, "3222060742"); ok || err != nil {
		t.Fatalf("before any release: got frozen=%v, %v; want not frozen", ok, err)
	}
	until := time.Now().Add(15 * 24 * time.Hour).Truncate(time.Second)
	if err := s.FreezeNumber(ctx, "3222060742", until); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.NumberFrozenUntil(ctx, "3222060742")
	if err != nil || !ok || !got.Equal(until) {
		t.Errorf("after the release: got %v, %v, %v; want frozen until %v", got, ok, err, until)
	}
	if ttl := rdb.TTL(ctx, prefix+"frozen:3222060742").Val(); ttl <= 14*24*time.Hour || ttl > 15*24*time.Hour {
		t.Errorf("key TTL = %v, want the 15 days of the freeze", ttl)
	}
	if err := s.FreezeNumber(ctx, "3222060743", time.Now().Add(-time.Minute)); err == nil {
		t.Errorf("a freeze already over: got no error")
	}
}
