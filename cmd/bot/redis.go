package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// isFailoverURL reports whether REDIS_URL names a Sentinel-managed primary:
// go-redis's failover form, any URL with a master_name parameter.
func isFailoverURL(u *url.URL) bool { return u.Query().Has("master_name") }

// parseRedisURL checks REDIS_URL as the client will read it. Its errors name
// the variable and never repeat the URL, which may carry a password.
func parseRedisURL(raw string) (failover *redis.FailoverOptions, single *redis.Options, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		return nil, nil, errors.New("REDIS_URL: must look like redis://host:6379/0, rediss://…, or redis://sentinel:26379?master_name=mymaster for Sentinel")
	}
	if isFailoverURL(u) {
		if u.Scheme == "unix" {
			return nil, nil, errors.New("REDIS_URL: a Sentinel URL (with master_name) must use redis:// or rediss://")
		}
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, nil, sentinelURLError(err)
		}
		if o.MasterName == "" {
			return nil, nil, errors.New("REDIS_URL: master_name is empty; name the primary the sentinels watch")
		}
		return o, nil, nil
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		return nil, nil, redisURLError("Redis URL", err)
	}
	return nil, o, nil
}

// sentinelURLError words go-redis's refusal of a Sentinel URL as
// redisURLError does, and names a bad addr too: go-redis quotes an addr it
// cannot read, and one that swallowed a password through a slip of the
// separator would put it in the error, so the option is named alone.
func sentinelURLError(err error) error {
	if strings.Contains(err.Error(), "addr param") {
		return errors.New("REDIS_URL: option addr must be host:port, one addr= per further sentinel (its value is not repeated here: it may hold a password)")
	}
	return redisURLError("Sentinel URL", err)
}

// redisURLOptions are the query options go-redis reads in a URL, to suggest
// the one meant when a name is misspelt.
var redisURLOptions = []string{
	"db", "protocol", "client_name", "max_retries", "min_retry_backoff", "max_retry_backoff",
	"dial_timeout", "read_timeout", "write_timeout", "pool_fifo", "pool_size", "pool_timeout",
	"min_idle_conns", "max_idle_conns", "max_active_conns", "max_concurrent_dials",
	"conn_max_idle_time", "conn_max_lifetime", "conn_max_lifetime_jitter", "skip_verify",
	"master_name", "addr", "password", "username",
}

var (
	unexpectedRedisOption = regexp.MustCompile(`unexpected option: ([\w, -]+)$`)
	invalidRedisOption    = regexp.MustCompile(`invalid (\w+) (number|duration|boolean)`)
)

// redisURLError words go-redis's refusal of REDIS_URL for the operator: the
// option it did not know (with the one probably meant), or the option whose
// value it could not read. It names options only, never a value, so that a
// password in the URL stays out of the message.
func redisURLError(kind string, err error) error {
	if m := unexpectedRedisOption.FindStringSubmatch(err.Error()); m != nil {
		var parts []string
		for _, name := range strings.Split(m[1], ", ") {
			if near := nearestWord(name, redisURLOptions); near != "" {
				parts = append(parts, fmt.Sprintf("%s (did you mean %s?)", name, near))
			} else {
				parts = append(parts, name)
			}
		}
		return fmt.Errorf("REDIS_URL: unknown option %s; the options go-redis reads include dial_timeout, read_timeout, write_timeout, pool_size and max_retries", strings.Join(parts, ", "))
	}
	if m := invalidRedisOption.FindStringSubmatch(err.Error()); m != nil {
		example := map[string]string{"number": "a whole number", "duration": "a duration like 5s", "boolean": "true or false"}[m[2]]
		return fmt.Errorf("REDIS_URL: option %s must be %s", m[1], example)
	}
	if strings.Contains(err.Error(), "database number") {
		return errors.New("REDIS_URL: the database must be a number, as in redis://host:6379/0")
	}
	return fmt.Errorf("REDIS_URL: not a valid %s; it must look like redis://host:6379/0", kind)
}

// nearestWord returns the word of words at most two edits from w (the
// closest), or "" when none is that close.
func nearestWord(w string, words []string) string {
	best, bestDist := "", 3
	for _, c := range words {
		if d := editDistance(w, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// dialRedis makes the client REDIS_URL names. A Sentinel URL gives a
// failover client: it asks the sentinels for the primary, follows them when
// they promote a replica, and makes every write wait for a replica (see
// replicaBarrier). keyPrefix is the bot's key prefix.
func dialRedis(raw, keyPrefix string, log *slog.Logger) (*redis.Client, error) {
	failover, single, err := parseRedisURL(raw)
	if err != nil {
		return nil, err
	}
	if failover == nil {
		// A Redis that hangs must fail within the ack deadline, like one that refuses.
		single.ContextTimeoutEnabled = true
		return redis.NewClient(single), nil
	}
	failover.ContextTimeoutEnabled = true
	rdb := redis.NewFailoverClient(failover)
	rdb.AddHook(&replicaBarrier{rdb: rdb, key: keyPrefix + "replica-barrier", timeout: barrierTimeout, log: log})
	log.Info("Redis: Sentinel-managed primary", "master_name", failover.MasterName, "sentinels", len(failover.SentinelAddrs))
	return rdb, nil
}

// Barrier timings: how long a write waits for a replica, and how long the
// bot then carries on with the primary alone before trying again.
const (
	barrierTimeout = 500 * time.Millisecond
	aloneFor       = 5 * time.Second
)

// replicaBarrier is a go-redis hook that makes a write count as done only
// once a replica holds it. Redis replicates asynchronously: a primary that
// dies right after answering may take with it a result the bot has already
// confirmed to EnCo, or the acknowledgement of a message already posted to
// Slack, and Sentinel then promotes a replica that never saw them. So after
// each write the hook writes its own key and sends WAIT on one connection;
// the replication stream is ordered, so once a replica has the barrier it
// has every write before it. A write whose barrier fails (the primary died)
// fails too, and its caller retries it as it retries any Redis error.
//
// When no replica acknowledges within the timeout (all are down), the bot
// keeps working on the primary alone rather than stop, logs a warning, and
// skips barriers for a while so that each write does not pay the timeout.
type replicaBarrier struct {
	rdb     *redis.Client
	key     string
	timeout time.Duration
	log     *slog.Logger
	// aloneUntil is when barriers resume after a shortfall (Unix nanoseconds).
	aloneUntil atomic.Int64
	// onShortfall, when set, is called each time no replica acknowledged in time.
	onShortfall func()
}

// inBarrier marks the barrier's own commands, which the hook lets through.
type inBarrier struct{}

func (b *replicaBarrier) DialHook(next redis.DialHook) redis.DialHook { return next }

func (b *replicaBarrier) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if !writes(cmd) || !reachedServer(err) {
			return err
		}
		if werr := b.wait(ctx); werr != nil {
			cmd.SetErr(werr)
			return werr
		}
		return err
	}
}

func (b *replicaBarrier) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if ctx.Value(inBarrier{}) != nil || !anyWriteReached(cmds) {
			return err
		}
		// The pipeline's error is its first command's error, which may be
		// one command's nil reply or script error while the others wrote:
		// the barrier is decided command by command.
		if werr := b.wait(ctx); werr != nil {
			for _, c := range cmds {
				c.SetErr(werr)
			}
			return werr
		}
		return err
	}
}

// reachedServer reports whether a command's outcome came from the server
// (a reply, a nil reply or an error reply), so that it may have written;
// a command that never got an answer is the caller's to retry.
func reachedServer(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return true
	}
	var re redis.Error
	return errors.As(err, &re)
}

// anyWriteReached reports whether some write command of a pipeline reached
// the server.
func anyWriteReached(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if writes(c) && reachedServer(c.Err()) {
			return true
		}
	}
	return false
}

// wait writes the barrier key and waits for one replica to acknowledge it.
func (b *replicaBarrier) wait(ctx context.Context) error {
	if time.Now().UnixNano() < b.aloneUntil.Load() {
		return nil
	}
	ctx = context.WithValue(ctx, inBarrier{}, true)
	var acked *redis.IntCmd
	_, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, b.key, 1, time.Hour)
		acked = redis.NewIntCmd(ctx, "WAIT", 1, b.timeout.Milliseconds())
		return p.Process(ctx, acked)
	})
	if err != nil {
		return fmt.Errorf("wait for a replica to hold the write: %w", err)
	}
	if acked.Val() < 1 {
		b.aloneUntil.Store(time.Now().Add(aloneFor).UnixNano())
		b.log.Warn("no Redis replica acknowledged a write in time; carrying on with the primary alone (a failover now could lose recent writes)", "timeout", b.timeout, "retry_in", aloneFor)
		if b.onShortfall != nil {
			b.onShortfall()
		}
	}
	return nil
}

// readOnly lists the commands the bot sends that change nothing (go-redis
// names commands in lower case). Anything else counts as a write, so a new
// command errs on the safe side.
var readOnly = map[string]bool{
	"get": true, "mget": true, "exists": true, "ttl": true, "pttl": true, "type": true, "strlen": true,
	"hget": true, "hgetall": true, "hmget": true, "hexists": true, "hlen": true,
	"llen": true, "lrange": true, "scard": true, "smembers": true, "sismember": true,
	"zcard": true, "zrange": true, "zrangebyscore": true, "zscore": true,
	"xlen": true, "xrange": true, "xrevrange": true, "xpending": true, "xinfo": true,
	"keys": true, "scan": true, "ping": true, "info": true, "time": true, "dbsize": true,
	"wait": true, "hello": true, "auth": true, "select": true, "client": true, "role": true,
	"multi": true, "exec": true, "discard": true, "watch": true, "unwatch": true,
	"evalsha_ro": true, "eval_ro": true,
}

func writes(cmd redis.Cmder) bool { return !readOnly[cmd.Name()] }

// refusedLogin reports whether Redis refused the user name or password the
// client logged in with: a password it does not take (WRONGPASS, or
// "invalid password" before Redis 6), or none where it requires one
// (NOAUTH).
func refusedLogin(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	return strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "ERR invalid password")
}

// redisErrorCode is the first word of a Redis error ("WRONGPASS"), which
// names the refusal without repeating anything the client sent.
func redisErrorCode(err error) string {
	code, _, _ := strings.Cut(err.Error(), " ")
	return code
}
