package state

import (
	"cmp"
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

// Approval requests
//
//	key            type  TTL                    written by / read by
//	P approval:<id> hash  its deadline + keep   commands create it; the approve and end scripts
//	                                            decide it (fields status, n, by:<user>, ended_by,
//	                                            reason, ended); everything else is written once
//	P approvals    zset  none; members leave    the pending requests, scored by their deadline
//	                     when their request     (Unix ms): the pending lists read it, the expiry
//	                     ends                   sweep claims due members from it
//
// A request's state changes only inside a script, so that of two approvals
// landing at once on two replicas exactly one is told the request is
// approved (and runs the change), and a deny, a cancel or the expiry ends a
// request only while it is still pending.

// The states of an approval request.
const (
	ApprovalPending   = "pending"
	ApprovalApproved  = "approved"
	ApprovalDenied    = "denied"
	ApprovalCancelled = "cancelled"
	ApprovalExpired   = "expired"
	// ApprovalWithdrawn ends a request that could not be posted.
	ApprovalWithdrawn = "withdrawn"
	// ApprovalGone is no state a request is stored in: callers use it for a
	// request no longer kept.
	ApprovalGone = "gone"
)

// ApprovalRequest is a change waiting for approvals, and how it ended.
type ApprovalRequest struct {
	ID string
	// Operation is the confirmed change; its UserID is the requester, its
	// ChannelID and ThreadTS the requester's thread.
	Operation switchboard.Operation
	Rule      string   // the policy rule's name
	Required  int      // distinct approvals needed
	Approvers []string // user and user-group IDs; none: holders of the permission
	Channel   string   // where the request is posted
	TS        string   // the request message, once posted
	Link      string   // permalink to the requester's thread
	Targets   int      // how many targets the change names

	Status     string
	ApprovedBy []string // in the order the approvals came
	EndedBy    string   // who approved last, denied or cancelled
	Reason     string   // a denial's reason
	CreatedAt  time.Time
	ExpiresAt  time.Time
	EndedAt    time.Time
}

// Missing is how many approvals the request still needs.
func (a ApprovalRequest) Missing() int { return max(a.Required-len(a.ApprovedBy), 0) }

// ApprovedByUser reports whether user's approval is in.
func (a ApprovalRequest) ApprovedByUser(user string) bool { return slices.Contains(a.ApprovedBy, user) }

func (s *Store) approvalKey(id string) string { return s.key("approval", id) }
func (s *Store) approvalsKey() string         { return s.prefix + "approvals" }

// CreateApproval stores a pending request until its deadline plus keep (so
// that a late click is told how it ended) and lists it as pending. It fails
// with ErrExists if the ID is taken.
func (s *Store) CreateApproval(ctx context.Context, a ApprovalRequest, keep time.Duration) error {
	if a.ID == "" || a.Operation.UserID == "" || a.Required < 1 || a.ExpiresAt.IsZero() {
		return errors.New("create approval: id, requester, required and deadline are needed")
	}
	if err := checkTTL(keep); err != nil {
		return fmt.Errorf("create approval: %w", err)
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	op, err := json.Marshal(a.Operation)
	if err != nil {
		return fmt.Errorf("create approval: %w", err)
	}
	approvers, err := json.Marshal(a.Approvers)
	if err != nil {
		return fmt.Errorf("create approval: %w", err)
	}
	key := s.approvalKey(a.ID)
	fields := []any{
		"op", op, "requester", a.Operation.UserID, "rule", a.Rule, "required", a.Required,
		"approvers", approvers, "channel", a.Channel, "ts", a.TS, "link", a.Link, "targets", a.Targets,
		"status", ApprovalPending, "n", 0,
		"created", a.CreatedAt.UnixMilli(), "expires", a.ExpiresAt.UnixMilli(),
	}
	created, err := createApprovalScript.Run(ctx, s.rdb, []string{key, s.approvalsKey()},
		append([]any{a.ID, a.ExpiresAt.UnixMilli(), a.ExpiresAt.Add(keep).UnixMilli()}, fields...)...).Int()
	if err != nil {
		return fmt.Errorf("create approval: %w", err)
	}
	if created == 0 {
		return fmt.Errorf("create approval %s: %w", a.ID, ErrExists)
	}
	return nil
}

// createApprovalScript stores a request unless its key exists. KEYS[1] the
// request, KEYS[2] the pending index; ARGV[1] its id, ARGV[2] its deadline,
// ARGV[3] when its key expires (Unix ms), then its fields.
var createApprovalScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
`)

// NoteApprovalMessage records the ts of the posted request message. found
// is false when the request no longer exists.
func (s *Store) NoteApprovalMessage(ctx context.Context, id, ts string) (found bool, err error) {
	n, err := noteApprovalScript.Run(ctx, s.rdb, []string{s.approvalKey(id)}, ts).Int()
	if err != nil {
		return false, fmt.Errorf("note approval message: %w", err)
	}
	return n == 1, nil
}

var noteApprovalScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'ts', ARGV[1])
return 1
`)

// Approval returns a request, pending or ended.
func (s *Store) Approval(ctx context.Context, id string) (ApprovalRequest, bool, error) {
	m, err := s.rdb.HGetAll(ctx, s.approvalKey(id)).Result()
	if err != nil {
		return ApprovalRequest{}, false, fmt.Errorf("read approval: %w", err)
	}
	if len(m) == 0 {
		return ApprovalRequest{}, false, nil
	}
	a, err := decodeApproval(id, m)
	if err != nil {
		return ApprovalRequest{}, false, fmt.Errorf("read approval: %w", err)
	}
	return a, true, nil
}

// What one approval did to its request.
const (
	VoteCounted   = "counted"   // counted; more approvals are needed
	VoteApproved  = "approved"  // the last approval needed: the caller runs the change
	VoteRepeated  = "repeat"    // this approver's approval was in already
	VoteRequester = "requester" // the requester cannot approve
	VoteClosed    = "closed"    // the request ended before (see its Status)
	VoteDue       = "due"       // its deadline passed; the expiry sweep reports it
)

// approveScript counts one approval. KEYS[1] the request, KEYS[2] the
// pending index; ARGV[1] the approver, ARGV[2] now (Unix ms), ARGV[3] the
// request's id. It returns the outcome and the request's fields as they are
// after it, or {"missing"}.
var approveScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'missing'} end
local function snap(outcome)
  local t = redis.call('HGETALL', KEYS[1])
  table.insert(t, 1, outcome)
  return t
end
if st ~= 'pending' then return snap('closed') end
if tonumber(redis.call('HGET', KEYS[1], 'expires')) <= tonumber(ARGV[2]) then return snap('due') end
if redis.call('HGET', KEYS[1], 'requester') == ARGV[1] then return snap('requester') end
if redis.call('HSETNX', KEYS[1], 'by:' .. ARGV[1], ARGV[2]) == 0 then return snap('repeat') end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if n >= tonumber(redis.call('HGET', KEYS[1], 'required')) then
  redis.call('HSET', KEYS[1], 'status', 'approved', 'ended_by', ARGV[1], 'ended', ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[3])
  return snap('approved')
end
return snap('counted')
`)

// Approve counts user's approval of the request id at now. Of any number of
// callers at once, exactly one is told VoteApproved, by the approval that
// makes the count reach Required. found is false when the request no
// longer exists.
func (s *Store) Approve(ctx context.Context, id, user string, now time.Time) (vote string, a ApprovalRequest, found bool, err error) {
	res, err := approveScript.Run(ctx, s.rdb, []string{s.approvalKey(id), s.approvalsKey()}, user, now.UnixMilli(), id).StringSlice()
	if err != nil {
		return "", ApprovalRequest{}, false, fmt.Errorf("approve: %w", err)
	}
	return s.voteResult(id, res)
}

// endApprovalScript ends a pending request. KEYS[1] the request, KEYS[2]
// the pending index; ARGV[1] the new status, ARGV[2] who, ARGV[3] the
// reason, ARGV[4] now (Unix ms), ARGV[5] the request's id. An expiry ends
// the request only once its deadline has passed.
var endApprovalScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if not st then
  redis.call('ZREM', KEYS[2], ARGV[5])
  return {'missing'}
end
local function snap(outcome)
  local t = redis.call('HGETALL', KEYS[1])
  table.insert(t, 1, outcome)
  return t
end
if st ~= 'pending' then
  redis.call('ZREM', KEYS[2], ARGV[5])
  return snap('closed')
end
if ARGV[1] == 'expired' and tonumber(redis.call('HGET', KEYS[1], 'expires')) > tonumber(ARGV[4]) then
  return snap('early')
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'ended_by', ARGV[2], 'reason', ARGV[3], 'ended', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[5])
return snap('ended')
`)

// EndApproval ends a pending request as status (denied, cancelled,
// expired or withdrawn) by user, with an optional reason. ended is false,
// and nothing changes, when it ended before (a, found, tell how) or, for
// an expiry, when its deadline has not passed.
func (s *Store) EndApproval(ctx context.Context, id, status, user, reason string, now time.Time) (a ApprovalRequest, ended, found bool, err error) {
	switch status {
	case ApprovalDenied, ApprovalCancelled, ApprovalExpired, ApprovalWithdrawn:
	default:
		return ApprovalRequest{}, false, false, fmt.Errorf("end approval: %q is not an end", status)
	}
	res, err := endApprovalScript.Run(ctx, s.rdb, []string{s.approvalKey(id), s.approvalsKey()}, status, user, reason, now.UnixMilli(), id).StringSlice()
	if err != nil {
		return ApprovalRequest{}, false, false, fmt.Errorf("end approval: %w", err)
	}
	outcome, a, found, err := s.voteResult(id, res)
	return a, outcome == "ended", found, err
}

func (s *Store) voteResult(id string, res []string) (string, ApprovalRequest, bool, error) {
	if len(res) == 0 || res[0] == "missing" {
		return "", ApprovalRequest{}, false, nil
	}
	m := make(map[string]string, len(res)/2)
	for i := 1; i+1 < len(res); i += 2 {
		m[res[i]] = res[i+1]
	}
	a, err := decodeApproval(id, m)
	if err != nil {
		return "", ApprovalRequest{}, false, err
	}
	return res[0], a, true, nil
}

// ClaimApprovalExpiries returns up to n pending requests whose deadline is
// at or before now, each to one caller: the others see it again only after
// lease (see ClaimExpiries).
func (s *Store) ClaimApprovalExpiries(ctx context.Context, now time.Time, n int, lease time.Duration) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	if err := checkTTL(lease); err != nil {
		return nil, fmt.Errorf("claim approval expiries: %w", err)
	}
	ids, err := claimScript.Run(ctx, s.rdb, []string{s.approvalsKey()},
		now.UnixMilli(), n, now.Add(lease).UnixMilli()).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("claim approval expiries: %w", err)
	}
	return ids, nil
}

// PendingApprovals returns up to limit pending requests, the soonest
// deadline first.
func (s *Store) PendingApprovals(ctx context.Context, limit int) ([]ApprovalRequest, error) {
	if limit <= 0 {
		return nil, nil
	}
	ids, err := s.rdb.ZRange(ctx, s.approvalsKey(), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("pending approvals: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.approvalKey(id))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("pending approvals: %w", err)
	}
	out := make([]ApprovalRequest, 0, len(ids))
	for i, id := range ids {
		m := cmds[i].Val()
		if len(m) == 0 || m["status"] != ApprovalPending {
			continue
		}
		a, err := decodeApproval(id, m)
		if err != nil {
			return nil, fmt.Errorf("pending approvals: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

func decodeApproval(id string, m map[string]string) (ApprovalRequest, error) {
	a := ApprovalRequest{
		ID: id, Rule: m["rule"], Channel: m["channel"], TS: m["ts"], Link: m["link"],
		Status: m["status"], EndedBy: m["ended_by"], Reason: m["reason"],
	}
	if err := json.Unmarshal([]byte(m["op"]), &a.Operation); err != nil {
		return a, fmt.Errorf("approval %s: operation: %w", id, err)
	}
	if raw := m["approvers"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &a.Approvers); err != nil {
			return a, fmt.Errorf("approval %s: approvers: %w", id, err)
		}
	}
	var err error
	num := func(field string) int64 {
		if m[field] == "" || err != nil {
			return 0
		}
		var n int64
		n, err = strconv.ParseInt(m[field], 10, 64)
		return n
	}
	a.Required, a.Targets = int(num("required")), int(num("targets"))
	a.CreatedAt, a.ExpiresAt = time.UnixMilli(num("created")), time.UnixMilli(num("expires"))
	if ended := num("ended"); ended > 0 {
		a.EndedAt = time.UnixMilli(ended)
	}
	type vote struct {
		user string
		at   int64
	}
	var votes []vote
	for k := range m {
		if user, ok := strings.CutPrefix(k, "by:"); ok {
			votes = append(votes, vote{user, num(k)})
		}
	}
	if err != nil {
		return a, fmt.Errorf("approval %s: %w", id, err)
	}
	slices.SortFunc(votes, func(x, y vote) int { return cmp.Or(cmp.Compare(x.at, y.at), strings.Compare(x.user, y.user)) })
	for _, v := range votes {
		a.ApprovedBy = append(a.ApprovedBy, v.user)
	}
	return a, nil
}
