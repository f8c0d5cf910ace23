package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// Scheduled FMU changes
//
//	key                     type    TTL   written by / read by
//	P {fmusched}:u:<user>   hash    none  commands add and clear a person's schedules (field: schedule
//	                                      id, JSON FMUSchedule); the scheduler rewrites one after each
//	                                      change it makes, or deletes it when nothing more is due
//	P {fmusched}:due        zset    none  one member "<user>/<id>" per schedule, scored by when the
//	                                      scheduler may take it next (Unix ms): its due time, a retry
//	                                      time, or the end of a replica's claim
//
// Every key shares the hash tag {fmusched}. That alone would not make the
// scripts fit Redis Cluster: the settle script also writes the outbox, the
// audit stream, the person's recent operations and the profile cache, and
// the claim script reaches a person's hash from a member of the index. Like
// the rest of the store, they need one Redis primary (or a Sentinel group).
//
// Exactly once: ClaimFMUSchedules hands each due member to one caller and
// pushes its score to the end of a lease; the caller makes the change and
// settles with SettleFMUSchedule, which succeeds only while the member still
// carries that caller's lease score. A replica that dies holding a claim lets
// another take the member again once the lease has run out; one whose lease
// ran out before it settled learns that it lost and must not report.

// Kinds of FMU schedule.
const (
	ScheduleOnce   = "once"   // one change, at Due
	ScheduleWeekly = "weekly" // a change at Start and another at End on Days
)

// FMUSchedule is one person's scheduled FMU change: a one-off (set back at a
// time) or a weekly rule.
type FMUSchedule struct {
	ID        string    `json:"id"`
	User      string    `json:"user"` // whose profile changes
	CreatedBy string    `json:"by"`   // who scheduled it (the user, or a holder of fmu.set)
	CreatedAt time.Time `json:"created"`
	// Zone is the IANA time zone the times were given in.
	Zone string `json:"tz"`
	Kind string `json:"kind"`
	// Profile is set at Due (once) or at Start (weekly); Else at End.
	Profile string `json:"profile"`
	Else    string `json:"else,omitempty"`
	// Days (bit i: time.Weekday(i)), Start and End (minutes after
	// midnight) of a weekly rule.
	Days  uint8 `json:"days,omitempty"`
	Start int   `json:"start,omitempty"`
	End   int   `json:"end,omitempty"`

	// Due is when the pending change falls due, and DueProfile what it sets.
	Due        time.Time `json:"due"`
	DueProfile string    `json:"due_profile"`
	// Attempts counts the failed tries of the pending change.
	Attempts int `json:"attempts,omitempty"`
}

// ClaimedSchedule is a schedule a caller holds until Lease (Unix ms).
type ClaimedSchedule struct {
	FMUSchedule
	Lease int64
}

// ErrScheduleConflict is returned by UpdateFMUSchedules when other writers
// kept changing the person's schedules.
var ErrScheduleConflict = errors.New("schedules changed concurrently")

func (s *Store) schedKey(user string) string { return s.prefix + "{fmusched}:u:" + user }
func (s *Store) schedDueKey() string         { return s.prefix + "{fmusched}:due" }

func schedMember(user, id string) string { return user + "/" + id }

// FMUSchedules returns a person's schedules, soonest due first.
func (s *Store) FMUSchedules(ctx context.Context, user string) ([]FMUSchedule, error) {
	vals, err := s.rdb.HVals(ctx, s.schedKey(user)).Result()
	if err != nil {
		return nil, fmt.Errorf("read schedules: %w", err)
	}
	return decodeSchedules(vals)
}

func decodeSchedules(vals []string) ([]FMUSchedule, error) {
	out := make([]FMUSchedule, 0, len(vals))
	for _, v := range vals {
		var sc FMUSchedule
		if err := json.Unmarshal([]byte(v), &sc); err != nil {
			return nil, fmt.Errorf("decode schedule: %w", err)
		}
		out = append(out, sc)
	}
	slices.SortFunc(out, func(a, b FMUSchedule) int { return a.Due.Compare(b.Due) })
	return out, nil
}

// UpdateFMUSchedules changes a person's schedules atomically: fn gets the
// current ones and returns those to add (or replace, by ID) and the IDs to
// remove. When another writer changes them meanwhile, fn runs again on the
// new state, so it must be free of side effects; an error from fn aborts
// and is returned as it is.
func (s *Store) UpdateFMUSchedules(ctx context.Context, user string, fn func(current []FMUSchedule) (put []FMUSchedule, remove []string, err error)) error {
	key, due := s.schedKey(user), s.schedDueKey()
	txf := func(tx *redis.Tx) error {
		vals, err := tx.HVals(ctx, key).Result()
		if err != nil {
			return err
		}
		current, err := decodeSchedules(vals)
		if err != nil {
			return err
		}
		put, remove, err := fn(current)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, id := range remove {
				p.HDel(ctx, key, id)
				p.ZRem(ctx, due, schedMember(user, id))
			}
			for _, sc := range put {
				b, err := json.Marshal(sc)
				if err != nil {
					return err
				}
				p.HSet(ctx, key, sc.ID, b)
				p.ZAdd(ctx, due, redis.Z{Score: float64(sc.Due.UnixMilli()), Member: schedMember(user, sc.ID)})
			}
			return nil
		})
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.rdb.Watch(ctx, txf, key)
		if err == nil || !errors.Is(err, redis.TxFailedErr) {
			return err
		}
		if attempt == maxUpdateAttempts {
			return fmt.Errorf("update schedules of %s: %w", user, ErrScheduleConflict)
		}
		if err := backoff(ctx, attempt); err != nil {
			return fmt.Errorf("update schedules of %s: %w", user, err)
		}
	}
}

// claimSchedScript hands out up to ARGV[2] members of the due index whose
// score is at or before ARGV[1], with their schedules, and pushes each
// member's score to ARGV[3] so that nobody else gets it meanwhile. A member
// whose schedule is gone is dropped. It also returns the earliest score left
// in the index ("" when empty), so that the caller can sleep until then.
// KEYS[1] the index; ARGV[4] the prefix of the per-person hashes.
var claimSchedScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, member in ipairs(due) do
  local slash = string.find(member, '/', 1, true)
  local raw = redis.call('HGET', ARGV[4] .. string.sub(member, 1, slash - 1), string.sub(member, slash + 1))
  if raw then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[3], member)
    table.insert(out, raw)
  else
    redis.call('ZREM', KEYS[1], member)
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
table.insert(out, first[2] or '')
return out
`)

// ClaimFMUSchedules returns up to n schedules due at or before now, each held
// by this caller until now+lease, and when the earliest schedule left is due
// (zero when none is).
func (s *Store) ClaimFMUSchedules(ctx context.Context, now time.Time, n int, lease time.Duration) ([]ClaimedSchedule, time.Time, error) {
	if err := checkTTL(lease); err != nil {
		return nil, time.Time{}, fmt.Errorf("claim schedules: %w", err)
	}
	until := now.Add(lease).UnixMilli()
	vals, err := claimSchedScript.Run(ctx, s.rdb, []string{s.schedDueKey()},
		now.UnixMilli(), max(n, 0), until, s.prefix+"{fmusched}:u:").StringSlice()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim schedules: %w", err)
	}
	var next time.Time
	if last := vals[len(vals)-1]; last != "" {
		ms, err := strconv.ParseFloat(last, 64)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("claim schedules: next score %q: %w", last, err)
		}
		next = time.UnixMilli(int64(ms))
	}
	out := make([]ClaimedSchedule, 0, len(vals)-1)
	for _, raw := range vals[:len(vals)-1] {
		var sc FMUSchedule
		if err := json.Unmarshal([]byte(raw), &sc); err != nil {
			return nil, time.Time{}, fmt.Errorf("claim schedules: decode: %w", err)
		}
		out = append(out, ClaimedSchedule{FMUSchedule: sc, Lease: until})
	}
	return out, next, nil
}

// ScheduleEffects are what settling a claim does besides moving the
// schedule on, all in the same step: a change is reported, audited, listed
// among the person's recent operations and its profile cached exactly when
// its claim is won. Nil or empty parts are left out.
type ScheduleEffects struct {
	Report *switchboard.Outgoing   // a message queued for delivery
	Audit  *switchboard.AuditEntry // an audit entry, kept under the store's retention
	Recent *RecentOp               // a line of the person's recent operations
	// MSISDN and Profile, when both set, cache the number's new profile
	// for ProfileTTL.
	MSISDN, Profile string
	ProfileTTL      time.Duration
}

// settleSchedScript ends a claim: when the member ARGV[1]'s score in
// KEYS[2] is still the claim's lease ARGV[2], it deletes the schedule
// (ARGV[3] empty) or stores ARGV[3] and scores the member ARGV[4], applies
// the effects, and returns 1; otherwise (another caller took it over, or it
// was cleared) it changes nothing and returns 0.
//
// KEYS: 1 the person's hash, 2 the due index, 3 the outbox, 4 the audit
// stream, 5 the person's recent list, 6 the number's cached profile.
// ARGV after the first five: the report's field count and fields; the
// audit's length cap (0: none), oldest id to keep ("": none), field count
// and fields; the recent line ("": none); the profile ("": none) and its
// TTL in ms.
var settleSchedScript = redis.NewScript(`
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[5])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[5], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
end
local i = 6
local n = tonumber(ARGV[i])
if n > 0 then
  redis.call('XADD', KEYS[3], '*', unpack(ARGV, i + 1, i + n))
end
i = i + n + 1
local maxlen, minid = tonumber(ARGV[i]), ARGV[i + 1]
n = tonumber(ARGV[i + 2])
if n > 0 then
  if maxlen > 0 then
    redis.call('XADD', KEYS[4], 'MAXLEN', maxlen, '*', unpack(ARGV, i + 3, i + 2 + n))
  else
    redis.call('XADD', KEYS[4], '*', unpack(ARGV, i + 3, i + 2 + n))
  end
  if minid ~= '' then redis.call('XTRIM', KEYS[4], 'MINID', minid) end
end
i = i + n + 3
if ARGV[i] ~= '' then
  redis.call('LPUSH', KEYS[5], ARGV[i])
  redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[i + 3]) - 1)
  redis.call('PEXPIRE', KEYS[5], ARGV[i + 4])
end
if ARGV[i + 1] ~= '' then
  redis.call('SET', KEYS[6], ARGV[i + 1], 'PX', ARGV[i + 2])
end
return 1
`)

// SettleFMUSchedule ends the claim c: next nil deletes the schedule (nothing
// more is due), otherwise next replaces it and is taken again at at; fx are
// applied in the same step. It reports false, and changes nothing, when the
// claim was lost (its lease ran out and another caller took the schedule,
// or it was cleared or replaced): the caller must then not report either.
func (s *Store) SettleFMUSchedule(ctx context.Context, c ClaimedSchedule, next *FMUSchedule, at time.Time, fx ScheduleEffects) (bool, error) {
	var raw []byte
	if next != nil {
		var err error
		if raw, err = json.Marshal(next); err != nil {
			return false, fmt.Errorf("settle schedule: %w", err)
		}
	}
	args := []any{schedMember(c.User, c.ID), c.Lease, string(raw), at.UnixMilli(), c.ID}
	counted := func(fields []any) { args = append(append(args, len(fields)), fields...) }
	if fx.Report != nil {
		if fx.Report.Kind == "" {
			return false, errors.New("settle schedule: report without a kind")
		}
		counted(appendOutgoingFields(nil, *fx.Report))
	} else {
		counted(nil)
	}
	maxLen, minID := s.auditLimits()
	args = append(args, maxLen, minID)
	if fx.Audit != nil {
		counted(appendAuditFields(nil, *fx.Audit))
	} else {
		counted(nil)
	}
	recent := ""
	if fx.Recent != nil {
		if fx.Recent.At.IsZero() {
			fx.Recent.At = time.Now()
		}
		b, err := json.Marshal(fx.Recent)
		if err != nil {
			return false, fmt.Errorf("settle schedule: %w", err)
		}
		recent = string(b)
	}
	profile, msisdn := fx.Profile, fx.MSISDN
	if msisdn == "" {
		profile = ""
	}
	args = append(args, recent, profile, millis(max(fx.ProfileTTL, time.Millisecond)), MaxRecentOps, millis(recentTTL))
	keys := []string{s.schedKey(c.User), s.schedDueKey(), s.outboxKey(), s.auditKey(), s.key("recent", c.User), s.key("fmuprof", msisdn)}
	n, err := settleSchedScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("settle schedule: %w", err)
	}
	return n == 1, nil
}

// RecentOp is one line of a person's recent operations, for their Home tab.
type RecentOp struct {
	At    time.Time `json:"at"`
	Title string    `json:"title"`
	// Status is the outcome when it was noted; the operation's own record,
	// while it exists, is newer.
	Status      string `json:"status"`
	OperationID string `json:"op,omitempty"`
	// Succeeded and Failed count the operation's results, read with its
	// record while that exists (never stored here).
	Succeeded, Failed int `json:"-"`
}

// Recent operations
//
//	key              type  TTL            written by / read by
//	P recent:<user>  list  90 days after  commands push each operation a person starts or each change
//	                       the last push  made for them (JSON RecentOp, newest first, at most
//	                                      MaxRecentOps); the Home tab reads it
//	P fmuprof:<num>  string  given        the last FMU profile read or set for a number, so that the
//	                                      Home tab does not ask EnCo on every visit

// MaxRecentOps is how many recent operations are kept per person.
const MaxRecentOps = 10

const recentTTL = 90 * 24 * time.Hour

// NoteRecentOp records an operation at the head of a person's recent list.
func (s *Store) NoteRecentOp(ctx context.Context, user string, op RecentOp) error {
	if op.At.IsZero() {
		op.At = time.Now()
	}
	b, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("note recent operation: %w", err)
	}
	key := s.key("recent", user)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, key, b)
		p.LTrim(ctx, key, 0, MaxRecentOps-1)
		p.PExpire(ctx, key, recentTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("note recent operation: %w", err)
	}
	return nil
}

// RecentOps returns a person's recent operations, newest first, with the
// status of those whose record still exists read from it.
func (s *Store) RecentOps(ctx context.Context, user string) ([]RecentOp, error) {
	vals, err := s.rdb.LRange(ctx, s.key("recent", user), 0, MaxRecentOps-1).Result()
	if err != nil {
		return nil, fmt.Errorf("read recent operations: %w", err)
	}
	out := make([]RecentOp, 0, len(vals))
	var keys []string
	var at []int
	for _, v := range vals {
		var r RecentOp
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("decode recent operation: %w", err)
		}
		if r.OperationID != "" {
			keys = append(keys, s.opKey(r.OperationID))
			at = append(at, len(out))
		}
		out = append(out, r)
	}
	if len(keys) == 0 {
		return out, nil
	}
	var (
		records *redis.SliceCmd
		counts  = make([]*redis.SliceCmd, len(at))
	)
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		records = p.MGet(ctx, keys...)
		for i := range at {
			counts[i] = p.HMGet(ctx, s.progKey(out[at[i]].OperationID), "done", "failed", "status")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read recent operations: %w", err)
	}
	for i, v := range records.Val() {
		raw, ok := v.(string)
		if !ok {
			// Expired: the noted status stands, but one noted while the
			// operation ran is out of date by now.
			if out[at[i]].Status == switchboard.StatusRunning {
				out[at[i]].Status = "ended (details expired)"
			}
			continue
		}
		status, _ := counts[i].Val()[2].(string)
		if op, err := decodeOperation(raw, status); err == nil && op.Status != "" {
			out[at[i]].Status = op.Status
		}
		if p, err := countsOf(out[at[i]].OperationID, counts[i].Val()[:2]); err == nil {
			out[at[i]].Succeeded, out[at[i]].Failed = p.Done, p.Failed
		}
	}
	return out, nil
}

// CacheFMUProfile keeps the profile last read or set for a number for ttl.
func (s *Store) CacheFMUProfile(ctx context.Context, msisdn, profile string, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("cache profile: %w", err)
	}
	if err := s.rdb.Set(ctx, s.key("fmuprof", msisdn), profile, ttl).Err(); err != nil {
		return fmt.Errorf("cache profile: %w", err)
	}
	return nil
}

// CachedFMUProfile returns the profile cached for a number, if any.
func (s *Store) CachedFMUProfile(ctx context.Context, msisdn string) (string, bool, error) {
	v, ok, err := s.getString(ctx, s.key("fmuprof", msisdn))
	if err != nil {
		return "", false, fmt.Errorf("read cached profile: %w", err)
	}
	return strings.TrimSpace(v), ok, nil
}
