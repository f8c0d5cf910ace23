package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
	"github.com/switchboard-bot/switchboard/state"
)

const (
	targetSchedulerP99 = 2 * time.Second
	scheduledPeople    = 1000
	// idleWindow is how long the scheduler's idle Redis traffic is counted.
	idleWindow = 10 * time.Second
)

// schedulePolicy lets everyone set their own FMU profile, with room for a
// thousand changes a minute.
const schedulePolicy = `roles:
  - name: staff
    members: ["*"]
    permissions: [fmu.self]
limits:
  changes_per_minute: 1000
`

// fmuTimes sits in front of the sandbox and notes when each number's first
// profile change reaches EnCo, and how many changes each number got.
type fmuTimes struct {
	mu      sync.Mutex
	first   map[string]time.Time
	changes map[string]int
}

func (f *fmuTimes) handler(sandbox string) (http.Handler, error) {
	target, err := url.Parse(sandbox)
	if err != nil {
		return nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/fmu/1.0.0/status" {
			at := time.Now()
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if n, ok := oneMSISDN(body); ok {
				f.mu.Lock()
				if _, seen := f.first[n]; !seen {
					f.first[n] = at
				}
				f.changes[n]++
				f.mu.Unlock()
			}
		}
		proxy.ServeHTTP(w, r)
	}), nil
}

// oneMSISDN reads the number of a one-number FMU change, whose msisdn is
// a list of one or a string.
func oneMSISDN(body []byte) (string, bool) {
	var req struct {
		MSISDN json.RawMessage `json:"msisdn"`
	}
	if json.Unmarshal(body, &req) != nil {
		return "", false
	}
	var list []string
	if json.Unmarshal(req.MSISDN, &list) == nil && len(list) == 1 {
		return list[0], true
	}
	var one string
	if json.Unmarshal(req.MSISDN, &one) == nil && one != "" && !strings.Contains(one, ",") {
		return one, true
	}
	return "", false
}

// BenchmarkScheduler: the scheduler's cost while nothing is due (Redis
// commands a second, counted with MONITOR), then 1,000 changes due at the
// same moment across two replicas: how late each reaches EnCo.
func BenchmarkScheduler(b *testing.B) {
	fake, sb := slacktest.New(b), sandbox.New(b)
	rdb := benchRedis(b)
	times := &fmuTimes{first: map[string]time.Time{}, changes: map[string]int{}}
	h, err := times.handler(sb.URL)
	if err != nil {
		b.Fatal(err)
	}
	front := httptest.NewServer(h)
	b.Cleanup(front.Close)

	first := startBot(b, fake, sb, botOptions{policy: schedulePolicy, encoURL: front.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	scheduler, all, err := idleCommands(ctx, rdb, idleWindow)
	if err != nil {
		b.Fatal(err)
	}
	startBot(b, fake, sb, botOptions{policy: schedulePolicy, encoURL: front.URL})

	store := state.New(rdb, "sb:")
	msisdn := func(i int) string { return fmt.Sprintf("3247%07d", 100000+i) }
	for i := range scheduledPeople {
		user := fmt.Sprintf("U0SCHED%04d", i)
		sb.SetFMU(msisdn(i), string(enco.ProfileOnDuty))
		if err := store.SetDirectoryEntry(ctx, user, switchboard.Entry{Mobile: msisdn(i)}); err != nil {
			b.Fatal(err)
		}
	}
	due := time.Now().Add(3 * time.Second).Truncate(time.Millisecond)
	for i := range scheduledPeople {
		user := fmt.Sprintf("U0SCHED%04d", i)
		sc := state.FMUSchedule{ID: "bench", User: user, CreatedBy: user, CreatedAt: time.Now(), Zone: "Europe/Brussels",
			Kind: state.ScheduleOnce, Profile: "PRIVATE", Due: due, DueProfile: "PRIVATE"}
		if err := store.UpdateFMUSchedules(ctx, user, func([]state.FMUSchedule) ([]state.FMUSchedule, []string, error) {
			return []state.FMUSchedule{sc}, nil, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if time.Now().After(due) {
		b.Fatal("writing the schedules took longer than the time left before they were due")
	}
	b.ResetTimer()
	err = poll(ctx, 20*time.Millisecond, func() bool {
		times.mu.Lock()
		defer times.mu.Unlock()
		return len(times.first) >= scheduledPeople
	})
	b.StopTimer()
	if err != nil {
		times.mu.Lock()
		n := len(times.first)
		times.mu.Unlock()
		b.Fatalf("%d of %d changes reached EnCo\n%s", n, scheduledPeople, first.logTail(20))
	}
	times.mu.Lock()
	late := make([]time.Duration, 0, len(times.first))
	twice := 0
	for n, at := range times.first {
		late = append(late, at.Sub(due))
		if times.changes[n] > 1 {
			twice++
		}
	}
	times.mu.Unlock()
	p50, p99, worst := percentile(late, 50), percentile(late, 99), percentile(late, 100)
	b.ReportMetric(float64(p99)/1e6, "p99-ms")
	b.ReportMetric(scheduler, "idle-cmd/s")
	record("Scheduler", "Redis calls/s of one idle replica's scheduler (of the whole bot)", fmt.Sprintf("%.1f (%.1f)", scheduler, all), "", false)
	record("Scheduler", fmt.Sprintf("due time to EnCo call p50, %d changes due at once, 2 replicas", scheduledPeople), ms(p50), "", false)
	record("Scheduler", "due time to EnCo call p99", ms(p99), "≤ 2 s", p99 <= targetSchedulerP99)
	record("Scheduler", "due time to EnCo call, the latest", ms(worst), "", false)
	record("Scheduler", "numbers changed more than once", fmt.Sprint(twice), "0", twice == 0)
	done("Scheduler")
}

// idleCommands counts, with MONITOR, the commands the bot sends to the
// benchmark database over window: those on the scheduler's keys, and all.
// Commands a script runs inside Redis are not counted: they are part of the
// one call that ran the script.
func idleCommands(ctx context.Context, rdb *redis.Client, window time.Duration) (scheduler, all float64, err error) {
	opts := rdb.Options()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", opts.Addr)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	var hello strings.Builder
	if opts.Password != "" {
		fmt.Fprintf(&hello, "AUTH %s\r\n", opts.Password)
	}
	hello.WriteString("MONITOR\r\n")
	if _, err := conn.Write([]byte(hello.String())); err != nil {
		return 0, 0, err
	}
	if err := conn.SetReadDeadline(time.Now().Add(window)); err != nil {
		return 0, 0, err
	}
	db := fmt.Sprintf("[%d ", opts.DB)
	var nsched, nall int
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, db) || strings.Contains(line, " lua] ") {
			continue // "+OK", another database's traffic, or a script's own command
		}
		nall++
		if strings.Contains(line, "{fmusched}") {
			nsched++
		}
	}
	secs := window.Seconds()
	return float64(nsched) / secs, float64(nall) / secs, nil
}
