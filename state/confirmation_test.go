package state

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func sampleConfirmation(id string) Confirmation {
	return Confirmation{
		ID:          id,
		OperationID: "op1",
		UserID:      "U0AAAAAAA",
		Action:      ActionConfirm,
		Data:        map[string]string{"command": "/sim deactivate 32470123456"},
	}
}

var confirmationScenarios = []scenario{
	{"confirmation peek then consume once", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		c := sampleConfirmation(mustNewID(t))
		if err := s.SaveConfirmation(ctx, c, time.Minute); err != nil {
			t.Fatalf("SaveConfirmation: %v", err)
		}
		wantTTL(t, rdb, prefix+"conf:"+c.ID, time.Minute)
		peeked, ok, err := s.PeekConfirmation(ctx, c.ID)
		if err != nil || !ok {
			t.Fatalf("PeekConfirmation: got ok=%v err=%v, want true, nil", ok, err)
		}
		if want := peeked.CreatedAt.Add(time.Minute); !peeked.ExpiresAt.Equal(want) {
			t.Errorf("ExpiresAt: got %v, want CreatedAt+ttl %v", peeked.ExpiresAt, want)
		}
		c.CreatedAt, c.ExpiresAt = peeked.CreatedAt, peeked.ExpiresAt
		if !reflect.DeepEqual(peeked, c) {
			t.Errorf("PeekConfirmation: got %+v, want %+v", peeked, c)
		}
		consumed, ok, err := s.ConsumeConfirmation(ctx, c.ID)
		if err != nil || !ok || !reflect.DeepEqual(consumed, c) {
			t.Fatalf("ConsumeConfirmation: got %+v, %v, %v; want %+v, true, nil", consumed, ok, err, c)
		}
		again, ok, err := s.ConsumeConfirmation(ctx, c.ID)
		if err != nil || ok {
			t.Errorf("second ConsumeConfirmation: got %+v, %v, %v; want zero, false, nil", again, ok, err)
		}
	}},
	{"confirmation save refuses an existing id", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		c := sampleConfirmation(mustNewID(t))
		if err := s.SaveConfirmation(ctx, c, time.Minute); err != nil {
			t.Fatal(err)
		}
		wantErrIs(t, "second SaveConfirmation", s.SaveConfirmation(ctx, c, time.Minute), ErrExists)
		if err := s.SaveConfirmation(ctx, sampleConfirmation(""), time.Minute); err == nil {
			t.Error("SaveConfirmation without id: got nil error, want one")
		}
		if err := s.SaveConfirmation(ctx, sampleConfirmation("x"), 0); err == nil {
			t.Error("SaveConfirmation without ttl: got nil error, want one")
		}
	}},
	{"confirmation consumed by exactly one of 50 concurrent clicks", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		c := sampleConfirmation(mustNewID(t))
		if err := s.SaveConfirmation(ctx, c, time.Minute); err != nil {
			t.Fatal(err)
		}
		const clicks = 50
		var winners atomic.Int64
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range clicks {
			wg.Go(func() {
				<-start
				got, ok, err := s.ConsumeConfirmation(ctx, c.ID)
				if err != nil {
					t.Errorf("ConsumeConfirmation: %v", err)
					return
				}
				if ok {
					winners.Add(1)
					if got.OperationID != c.OperationID {
						t.Errorf("winner's OperationID: got %q, want %q", got.OperationID, c.OperationID)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if got := winners.Load(); got != 1 {
			t.Errorf("winners: got %d, want exactly 1", got)
		}
	}},
	{"confirmation note keeps the expiry and never revives", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		c := sampleConfirmation(mustNewID(t))
		if err := s.SaveConfirmation(ctx, c, time.Minute); err != nil {
			t.Fatal(err)
		}
		found, err := s.NoteConfirmation(ctx, c.ID, "ts", "1700000000.000001")
		if err != nil || !found {
			t.Fatalf("NoteConfirmation: got %v, %v; want true, nil", found, err)
		}
		wantTTL(t, rdb, prefix+"conf:"+c.ID, time.Minute)
		got, ok, err := s.PeekConfirmation(ctx, c.ID)
		if err != nil || !ok || got.Data["ts"] != "1700000000.000001" || got.Data["command"] != c.Data["command"] || got.OperationID != c.OperationID {
			t.Fatalf("after the note: got %+v, %v, %v; want the confirmation with ts added", got, ok, err)
		}
		if _, ok, err := s.ConsumeConfirmation(ctx, c.ID); err != nil || !ok {
			t.Fatalf("ConsumeConfirmation: %v, %v", ok, err)
		}
		found, err = s.NoteConfirmation(ctx, c.ID, "ts", "1700000000.000002")
		if err != nil || found {
			t.Errorf("NoteConfirmation after consume: got %v, %v; want false, nil", found, err)
		}
		if n, err := rdb.Exists(ctx, prefix+"conf:"+c.ID).Result(); err != nil || n != 0 {
			t.Errorf("the consumed confirmation exists again after a note (%d, %v)", n, err)
		}
	}},
}
