package state

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// The store methods that make delivery exactly-once across replicas:
// per-channel pace, entry leases, result counts, parent-render versions and
// saved socket-mode acks. They run against the shared test Redis and the
// embedded server, like the scenarios in state_test.go.
// slotTime brackets when a slot comes by the local clock: the server
// reckoned its wait at some moment between the call and its return. A
// check that allows for that whole bracket fails only when the slots
// certainly break the pace, however slowly a busy machine answers.
type slotTime struct{ earliest, latest time.Time }

// slotSlack allows for Redis keeping time in whole milliseconds.
const slotSlack = 3 * time.Millisecond

var deliveryScenarios = []scenario{
	{"slots of one channel are an interval apart", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		const interval = 100 * time.Millisecond
		var at []slotTime
		for range 3 {
			before := time.Now()
			w, err := s.NextSlot(ctx, "C1", interval)
			if err != nil {
				t.Fatal(err)
			}
			if len(at) == 0 && w != 0 {
				t.Errorf("first slot: got wait %v, want 0", w)
			}
			at = append(at, slotTime{before.Add(w), time.Now().Add(w)})
		}
		for i := 1; i < len(at); i++ {
			if most, least := at[i].latest.Sub(at[i-1].earliest), at[i].earliest.Sub(at[i-1].latest); most < interval-slotSlack || least > interval+slotSlack {
				t.Errorf("slots %d and %d: between %v and %v apart, want about %v", i-1, i, least, most, interval)
			}
		}
		if w, err := s.NextSlot(ctx, "C2", interval); err != nil || w != 0 {
			t.Errorf("another channel: got wait %v, %v; want 0, nil", w, err)
		}
		wantTTL(t, rdb, prefix+"pace:C1", interval*3+time.Minute)
	}},
	{"slots taken concurrently never overlap", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		const interval, n = 60 * time.Millisecond, 12
		var mu sync.Mutex
		var at []slotTime
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				before := time.Now()
				w, err := s.NextSlot(ctx, "C1", interval)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				at = append(at, slotTime{before.Add(w), time.Now().Add(w)})
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.SortFunc(at, func(a, b slotTime) int {
			return a.earliest.Add(a.latest.Sub(a.earliest) / 2).Compare(b.earliest.Add(b.latest.Sub(b.earliest) / 2))
		})
		for i := 1; i < len(at); i++ {
			if most := at[i].latest.Sub(at[i-1].earliest); most < interval-slotSlack {
				t.Errorf("slots %d and %d: at most %v apart, want at least %v", i-1, i, most, interval)
			}
		}
	}},
	{"hold slots delays the channel", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if err := s.HoldSlots(ctx, "C1", 500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		w, err := s.NextSlot(ctx, "C1", 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if w < 400*time.Millisecond || w > 500*time.Millisecond {
			t.Errorf("after a 500ms hold: got wait %v, want about 500ms", w)
		}
		// A shorter hold does not pull the slot back.
		if err := s.HoldSlots(ctx, "C1", 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if w, err := s.NextSlot(ctx, "C1", 10*time.Millisecond); err != nil || w < 350*time.Millisecond {
			t.Errorf("after a shorter hold: got wait %v, %v; want still about 500ms", w, err)
		}
		if err := s.HoldSlots(ctx, "C1", 0); err != nil {
			t.Errorf("zero hold: got %v, want nil", err)
		}
		if _, err := s.NextSlot(ctx, "", time.Second); err == nil {
			t.Error("empty channel: got nil error, want one")
		}
	}},
	{"renew keeps an entry with its consumer", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if held, err := s.Renew(ctx, "a", "1-1"); err != nil || held {
			t.Fatalf("before the queue exists: got %v, %v; want false, nil", held, err)
		}
		ids := enqueueN(t, s, 1)
		if _, err := s.Claim(ctx, "a", 1, 0, 0); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			consumer, id string
			want         bool
		}{
			{"a", ids[0], true},
			{"b", ids[0], false},
			{"a", "0-1", false},
		}
		for _, tt := range tests {
			if held, err := s.Renew(ctx, tt.consumer, tt.id); err != nil || held != tt.want {
				t.Errorf("Renew(%s, %s): got %v, %v; want %v, nil", tt.consumer, tt.id, held, err, tt.want)
			}
		}

		// b takes the entry over once a has left it idle; a has lost it.
		const minIdle = 50 * time.Millisecond
		eventually(t, 5*time.Second, "b reclaims the idle entry", func() bool {
			got, err := s.Claim(ctx, "b", 1, 0, minIdle)
			if err != nil {
				t.Fatal(err)
			}
			return len(got) == 1
		})
		if held, err := s.Renew(ctx, "a", ids[0]); err != nil || held {
			t.Errorf("a after b reclaimed: got %v, %v; want false, nil", held, err)
		}
		if held, err := s.Renew(ctx, "b", ids[0]); err != nil || !held {
			t.Fatalf("b after reclaiming: got %v, %v; want true, nil", held, err)
		}
		// A renewed entry is not idle: nobody reclaims it right away.
		if got, err := s.Claim(ctx, "c", 1, 0, time.Second); err != nil || len(got) != 0 {
			t.Errorf("claim right after a renew: got %v, %v; want nothing", got, err)
		}
		if err := s.Ack(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		if held, err := s.Renew(ctx, "b", ids[0]); err != nil || held {
			t.Errorf("after the ack: got %v, %v; want false, nil", held, err)
		}
	}},
	{"result counts follow recorded results", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		id := createWithExpected(t, s, 3, time.Minute)
		if p, err := s.ResultCounts(ctx, id); err != nil || p != (switchboard.Progress{}) {
			t.Errorf("before any result: got %+v, %v; want zero counts", p, err)
		}
		for _, r := range []switchboard.Result{{Target: "a", OK: true}, {Target: "b", OK: false}, {Target: "a", OK: false}} {
			if _, err := s.RecordResult(ctx, id, r, switchboard.Effects{}); err != nil {
				t.Fatal(err)
			}
		}
		if p, err := s.ResultCounts(ctx, id); err != nil || p != (switchboard.Progress{Done: 1, Failed: 1}) {
			t.Errorf("after a success, a failure and a duplicate: got %+v, %v; want Done 1, Failed 1", p, err)
		}
		if p, err := s.ResultCounts(ctx, "unknown"); err != nil || p != (switchboard.Progress{}) {
			t.Errorf("unknown operation: got %+v, %v; want zero counts", p, err)
		}
	}},
	{"render versions only move forward", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if v, err := s.RenderedVersion(ctx, "op1"); err != nil || v != -1 {
			t.Fatalf("nothing rendered: got %d, %v; want -1, nil", v, err)
		}
		steps := []struct {
			name    string
			claim   int64
			release int64 // when ≥ 0, release this version instead of claiming
			want    bool
			after   int64
		}{
			{"first render", 3, -1, true, 3},
			{"same render again", 3, -1, false, 3},
			{"older render", 2, -1, false, 3},
			{"newer render", 5, -1, true, 5},
			{"release of an older claim keeps the newer", 0, 3, false, 5},
			{"release of the newest claim", 0, 5, false, -1},
			{"a render after a release", 4, -1, true, 4},
		}
		for _, st := range steps {
			if st.release >= 0 {
				if err := s.ReleaseRender(ctx, "op1", st.release); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
			} else if ok, err := s.ClaimRender(ctx, "op1", st.claim, time.Minute); err != nil || ok != st.want {
				t.Errorf("%s: ClaimRender(%d) got %v, %v; want %v, nil", st.name, st.claim, ok, err, st.want)
			}
			if v, err := s.RenderedVersion(ctx, "op1"); err != nil || v != st.after {
				t.Errorf("%s: RenderedVersion got %d, %v; want %d", st.name, v, err, st.after)
			}
		}
		wantTTL(t, rdb, prefix+"rendered:{op1}", time.Minute)
	}},
	{"saved acks round trip and expire", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		if _, ok, err := s.SavedAck(ctx, "env-1"); err != nil || ok {
			t.Fatalf("before saving: got ok=%v, %v; want a miss", ok, err)
		}
		payload := []byte(`{"text":"Deactivate 1 SIM card?"}`)
		if err := s.SaveAck(ctx, "env-1", payload, time.Minute); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.SavedAck(ctx, "env-1")
		if err != nil || !ok || string(got) != string(payload) {
			t.Errorf("after saving: got %s, %v, %v; want the payload", got, ok, err)
		}
		wantTTL(t, rdb, prefix+"ack:env-1", time.Minute)
		if err := s.SaveAck(ctx, "env-2", payload, 0); err == nil {
			t.Error("zero ttl: got nil error, want one")
		}
	}},
}

func TestDeliveryStore(t *testing.T) {
	for _, sc := range deliveryScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rdb, prefix := redistest.New(t)
			sc.run(t, New(rdb, prefix), rdb, prefix)
		})
	}
}

func TestDeliveryStoreOnEmbeddedServer(t *testing.T) {
	mr := miniredis.NewMiniRedis()
	mr.ClockTTL(true)
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr.Close)
	for _, sc := range deliveryScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { _ = rdb.Close() })
			prefix := "embedded:" + t.Name() + ":"
			sc.run(t, New(rdb, prefix), rdb, prefix)
		})
	}
}
