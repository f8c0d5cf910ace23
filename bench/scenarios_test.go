package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// Targets from the issue that asked for these benchmarks.
const (
	targetAckP99      = 30 * time.Millisecond
	targetIngestRate  = 10000.0
	targetIngestRatio = 0.5
	targetPostP99     = 50 * time.Millisecond
	targetIdleRSS     = 40 << 20
	targetLoadedRSS   = 150 << 20
)

// The scenarios' workloads.
const (
	benchUser          = "U0BENCH001"
	simsPerCommand     = 100
	ingestCommands     = 100 // 10,000 callbacks
	ingestWorkers      = 32
	postChannels       = 40
	simsPerPostChannel = 5 // below the bulk threshold: every result gets its reply
	// postRate is callbacks a second: one every four seconds per channel,
	// which leaves the reply and the parent's update room within the bot's
	// pace of one message a second per channel.
	postRate = 10
	// botPostInterval is the bot's default SLACK_POST_INTERVAL.
	botPostInterval = 1100 * time.Millisecond
	bulkCommands    = 10 // 1,000 SIM cards
	bulkTimeout     = 5 * time.Minute
)

// benchPolicy lets everyone change SIM cards, 100 at a time, without the
// per-user limit getting in the way of a benchmark.
const benchPolicy = `roles:
  - name: operators
    members: ["*"]
    permissions: [sim.read, sim.activate, sim.deactivate, sim.reactivate]
limits:
  max_targets: 100
  changes_per_minute: 1000
`

// memoryScenarios are the scenarios whose peak memory the Memory lines report.
var memoryScenarios = []string{"Ack", "Ingest", "CallbackToPost", "Bulk"}

var memory struct {
	mu    sync.Mutex
	idle  int64
	peaks map[string]int64
}

// recordPeak notes the bot's peak resident memory at the end of a scenario.
func recordPeak(b *testing.B, scenario string, p *botProc) {
	_, peak, err := p.memory()
	if err != nil {
		b.Fatalf("read the bot's memory: %v", err)
	}
	memory.mu.Lock()
	defer memory.mu.Unlock()
	if memory.peaks == nil {
		memory.peaks = map[string]int64{}
	}
	memory.peaks[scenario] = peak
	if len(memory.peaks) == len(memoryScenarios) && memory.idle > 0 {
		reportMemory()
	}
}

// reportMemory adds the Memory lines once every load scenario has run. memory.mu is held.
func reportMemory() {
	record("Memory", "RSS idle, after start", mib(memory.idle), "≤ 40 MiB", memory.idle <= targetIdleRSS)
	worst, at := int64(0), ""
	for _, s := range scenarios {
		if p, ok := memory.peaks[s]; ok && p > worst {
			worst, at = p, s
		}
	}
	record("Memory", "peak RSS under load (VmHWM, worst scenario: "+at+")", mib(worst), "≤ 150 MiB", worst <= targetLoadedRSS)
	for _, s := range scenarios {
		if p, ok := memory.peaks[s]; ok && s != at {
			record("Memory", "peak RSS in "+s, mib(p), "", false)
		}
	}
	done("Memory")
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// percentile returns the p-th percentile (0..100) of ds by the nearest-rank method.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s)) + 0.999999)
	return s[min(max(rank, 1), len(s))-1]
}

// addSIMs gives the sandbox n active SIM cards numbered from first, with
// mobile numbers 32472000000+i that parse as Belgian mobiles.
func addSIMs(sb *sandbox.Sandbox, first, n int) []string {
	msisdns := make([]string, n)
	for i := range n {
		k := first + i
		msisdns[i] = fmt.Sprintf("32472%06d", k)
		sb.AddSIM(sandbox.SIM{
			MSISDN: msisdns[i],
			ICCID:  fmt.Sprintf("893202%013d", k),
			IMSI:   fmt.Sprintf("206012%09d", k),
			State:  sandbox.StateActive,
		})
	}
	return msisdns
}

// change runs a state-changing command the way a person does: the slash
// command, then a click on its confirm button. It returns the click's ack.
func change(ctx context.Context, fake *slacktest.Server, channel, text string) (slacktest.Ack, error) {
	cmd, rest, _ := strings.Cut(text, " ")
	ack, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: cmd, Text: rest, UserID: benchUser, ChannelID: channel})
	if err != nil {
		return ack, err
	}
	value, err := confirmValue(ack.Payload)
	if err != nil {
		return ack, err
	}
	return fake.BlockAction(ctx, slack.InteractionCallback{
		Type:    slack.InteractionTypeBlockActions,
		User:    slack.User{ID: benchUser},
		Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: channel}}},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{
			ActionID: "confirm", Value: value, BlockID: "confirm:" + value,
		}}},
	})
}

// confirmValue finds the confirm button's value in a slash command's ack.
func confirmValue(payload json.RawMessage) (string, error) {
	var reply struct {
		Text   string `json:"text"`
		Blocks []struct {
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(payload, &reply); err != nil {
		return "", fmt.Errorf("ack payload %s: %w", payload, err)
	}
	for _, b := range reply.Blocks {
		for _, e := range b.Elements {
			if e.ActionID == "confirm" {
				return e.Value, nil
			}
		}
	}
	return "", fmt.Errorf("no confirm button in the answer %q", reply.Text)
}

// command text for a change of the given cards.
func simCommand(verb string, msisdns []string) string {
	return "/sim " + verb + " " + strings.Join(msisdns, ", ")
}

// callback is one M2M callback the sandbox would have sent, kept for replay.
type callback struct {
	header http.Header
	body   []byte
	token  string // x-callback-token: one per operation
	iccid  string
}

// droppedCallbacks waits until the sandbox has kept n M2M callbacks (with
// SetDropCallbacks on) and returns them.
func droppedCallbacks(ctx context.Context, sb *sandbox.Sandbox, n int) ([]callback, error) {
	var kept []sandbox.Callback
	err := poll(ctx, 50*time.Millisecond, func() bool {
		kept = kept[:0]
		for _, c := range sb.Callbacks() {
			if c.Kind == "m2m" && c.Dropped {
				kept = append(kept, c)
			}
		}
		return len(kept) >= n
	})
	if err != nil {
		return nil, fmt.Errorf("the sandbox kept %d of %d callbacks: %w", len(kept), n, err)
	}
	out := make([]callback, len(kept))
	for i, c := range kept {
		var body struct {
			Device struct {
				Identifier string `json:"identifier"`
			} `json:"device"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			return nil, fmt.Errorf("callback body %s: %w", c.Body, err)
		}
		out[i] = callback{header: c.Header, body: c.Body, token: c.Header.Get("X-Callback-Token"), iccid: body.Device.Identifier}
	}
	return out, nil
}

// post sends one callback to url (the bot's or the bare handler's).
func post(ctx context.Context, client *http.Client, url string, c callback) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(c.body))
	if err != nil {
		return 0, err
	}
	req.Header = c.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// loadResult is what one load run measured.
type loadResult struct {
	elapsed  time.Duration
	statuses map[int]int
	errors   int
}

func (r loadResult) rate(n int) float64 { return float64(n) / r.elapsed.Seconds() }

// load sends every callback to url from workers concurrent keep-alive
// connections, as fast as they answer, within ctx.
//
// The generator shares the machine's cores with the server it measures and
// with Redis, so it is kept lean: each request is written out by net/http
// before the clock starts, and each worker writes one on its own connection
// and reads the answer with net/http's parser, with none of a Transport's
// goroutines and hand-offs per request.
func load(ctx context.Context, url string, cbs []callback, workers int) loadResult {
	res := loadResult{statuses: map[int]int{}}
	reqs := make([][]byte, len(cbs))
	var host string
	for i, c := range cbs {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(c.body))
		if err != nil {
			res.errors = len(cbs)
			return res
		}
		req.Header = c.header.Clone()
		var buf bytes.Buffer
		if err := req.Write(&buf); err != nil {
			res.errors = len(cbs)
			return res
		}
		reqs[i], host = buf.Bytes(), req.URL.Host
	}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[int]int{}
			errs := 0
			var conn net.Conn
			var br *bufio.Reader
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) || ctx.Err() != nil {
					break
				}
				if conn == nil {
					var err error
					if conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", host); err != nil {
						errs++
						continue
					}
					if deadline, ok := ctx.Deadline(); ok {
						_ = conn.SetDeadline(deadline)
					}
					br = bufio.NewReader(conn)
				}
				status, keep, err := roundTrip(conn, br, reqs[i])
				if err != nil {
					errs++
				} else {
					local[status]++
				}
				if err != nil || !keep {
					conn.Close()
					conn = nil
				}
			}
			if conn != nil {
				conn.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range local {
				res.statuses[k] += v
			}
			res.errors += errs
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// roundTrip writes one request made by load and reads its answer; keep is
// false when the server closes the connection after it.
func roundTrip(conn net.Conn, br *bufio.Reader, req []byte) (status int, keep bool, err error) {
	if _, err := conn.Write(req); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, !resp.Close, err
}

// bareHandler is the yardstick for ingestion: net/http reading the body and
// making one Redis round trip (a SET NX, as a dedupe would), nothing else.
func bareHandler(b *testing.B, rdb *redis.Client) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h := fnv.New64a()
		h.Write(body)
		if err := rdb.SetNX(r.Context(), "bare:"+strconv.FormatUint(h.Sum64(), 16), 1, time.Hour).Err(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/callbacks/m2m"
}

// BenchmarkAck: slash commands acknowledged while EnCo takes 5 s to answer.
func BenchmarkAck(b *testing.B) {
	const commands, workers = 200, 8
	fake, sb := slacktest.New(b), sandbox.New(b)
	benchRedis(b)
	bot := startBot(b, fake, sb, botOptions{policy: benchPolicy})
	rss, _, err := bot.memory()
	if err != nil {
		b.Fatal(err)
	}
	memory.mu.Lock()
	memory.idle = rss
	memory.mu.Unlock()

	sb.SetResponseDelay(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	latencies := make([]time.Duration, commands)
	var wrong atomic.Int64
	profiled := bot.profile(b, "ack", time.Second)
	defer profiled()
	b.ResetTimer()
	err = inParallel(workers, commands, func(i int) error {
		// Half read (EnCo is called after the ack), half ask for a confirmation.
		text, want := "status 0471000001", "Looking up"
		if i%2 == 1 {
			text, want = "deactivate 0471000002", "Deactivate 1 SIM card"
		}
		ack, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim", Text: text, UserID: benchUser, ChannelID: "C0BENCH000"})
		if err != nil {
			return err
		}
		latencies[i] = ack.Latency
		if !strings.Contains(string(ack.Payload), want) {
			wrong.Add(1)
		}
		return nil
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if n := wrong.Load(); n > 0 {
		b.Fatalf("%d of %d acks did not carry the expected answer\n%s", n, commands, bot.logTail(20))
	}
	p50, p99 := percentile(latencies, 50), percentile(latencies, 99)
	b.ReportMetric(float64(p50)/1e6, "p50-ms")
	b.ReportMetric(float64(p99)/1e6, "p99-ms")
	record("Ack", fmt.Sprintf("ack latency p50, %d commands, EnCo answering in 5 s", commands), ms(p50), "", false)
	record("Ack", "ack latency p99", ms(p99), "≤ 30 ms", p99 <= targetAckP99)
	recordPeak(b, "Ack", bot)
	done("Ack")
}

// BenchmarkIngest: callback ingestion against the bot and a bare handler.
func BenchmarkIngest(b *testing.B) {
	ctx, rdb, bot, cbs, cards := ingestSetup(b, ingestCommands, 5*time.Minute)

	before := readCPU(ctx, b, rdb, bot)
	bare := load(ctx, bareHandler(b, rdb), cbs, ingestWorkers)
	mid := readCPU(ctx, b, rdb, bot)
	profiled := bot.profile(b, "ingest", 3*time.Second)
	b.ResetTimer()
	got := load(ctx, bot.URL+"/callbacks/m2m", cbs, ingestWorkers)
	b.StopTimer()
	after := readCPU(ctx, b, rdb, bot)
	profiled()
	if got.errors > 0 || got.statuses[http.StatusOK] != len(cbs) {
		b.Fatalf("bot answered %v (%d errors), want %d × 200\n%s", got.statuses, got.errors, len(cbs), bot.logTail(20))
	}
	if bare.errors > 0 || bare.statuses[http.StatusOK] != len(cbs) {
		b.Fatalf("bare handler answered %v (%d errors), want %d × 200", bare.statuses, bare.errors, len(cbs))
	}
	stored, err := storedResults(ctx, rdb)
	if err != nil {
		b.Fatal(err)
	}
	if stored != cards {
		b.Fatalf("results stored = %d, want %d (one per card, duplicates ignored)", stored, cards)
	}
	botRate, bareRate := got.rate(len(cbs)), bare.rate(len(cbs))
	ratio := botRate / bareRate
	b.ReportMetric(botRate, "callbacks/s")
	b.ReportMetric(ratio, "ratio-to-bare")
	what := fmt.Sprintf("%d callbacks (%d duplicates), %d clients", len(cbs), len(cbs)-cards, ingestWorkers)
	record("Ingest", "bot, "+what, fmt.Sprintf("%.0f /s", botRate), "≥ 10,000 /s", botRate >= targetIngestRate)
	record("Ingest", "bare net/http + 1 Redis round trip, same requests", fmt.Sprintf("%.0f /s", bareRate), "", false)
	record("Ingest", "bot ÷ bare", fmt.Sprintf("%.2f", ratio), "≥ 0.5", ratio >= targetIngestRatio)
	perCallback := func(d time.Duration) string {
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)/float64(len(cbs)))
	}
	forBot, forBare := after.minus(mid), mid.minus(before)
	record("Ingest", "CPU per callback: the bot (its whole process, while the load ran)", perCallback(forBot.bot), "", false)
	record("Ingest", "CPU per callback: Redis, for the bot", perCallback(forBot.redis), "", false)
	record("Ingest", "CPU per callback: Redis, for the bare handler", perCallback(forBare.redis), "", false)
	record("Ingest", "CPU per callback: the load generator (the benchmark process), for the bot", perCallback(forBot.self), "", false)
	used := forBot.bot + forBot.redis + forBot.self
	note("Ingest: the bot, Redis and the load generator used %.2f of this machine's %d cores while the bot's load ran (%.0f µs of CPU per callback between them).",
		used.Seconds()/got.elapsed.Seconds(), runtime.NumCPU(), float64(used)/float64(time.Microsecond)/float64(len(cbs)))
	recordPeak(b, "Ingest", bot)
	done("Ingest")
}

// inParallel calls f(i) for every i in [0, n) from workers goroutines, and
// returns the first error (the workers stop taking new i after it).
func inParallel(workers, n int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // no new i
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// ingestSetup starts the fakes and the bot on a flushed benchmark Redis,
// and records the callbacks of commands operations (see recordedCallbacks).
// ctx ends after timeout, or with the benchmark.
func ingestSetup(b *testing.B, commands int, timeout time.Duration) (ctx context.Context, rdb *redis.Client, bot *botProc, cbs []callback, cards int) {
	b.Helper()
	fake, sb := slacktest.New(b), sandbox.New(b)
	rdb = benchRedis(b)
	msisdns := addSIMs(sb, 1, commands*simsPerCommand)
	bot = startBot(b, fake, sb, botOptions{policy: benchPolicy})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	b.Cleanup(cancel)
	return ctx, rdb, bot, recordedCallbacks(ctx, b, fake, sb, bot, msisdns), len(msisdns)
}

// recordedCallbacks makes one operation per simsPerCommand cards the real
// way (commands, confirmations, EnCo requests), with the sandbox keeping
// their callbacks, and returns those callbacks for a replay: interleaved
// across operations, a tenth of them sent twice, as EnCo does.
func recordedCallbacks(ctx context.Context, b *testing.B, fake *slacktest.Server, sb *sandbox.Sandbox, bot *botProc, msisdns []string) []callback {
	b.Helper()
	sb.SetDropCallbacks(true)
	err := inParallel(4, len(msisdns)/simsPerCommand, func(i int) error {
		chunk := msisdns[i*simsPerCommand : (i+1)*simsPerCommand]
		_, err := change(ctx, fake, fmt.Sprintf("C0INGEST%02d", i%10), simCommand("deactivate", chunk))
		return err
	})
	if err != nil {
		b.Fatalf("set up the operations: %v", err)
	}
	cbs, err := droppedCallbacks(ctx, sb, len(msisdns))
	if err != nil {
		b.Fatalf("%v\n%s", err, bot.logTail(20))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range len(cbs) / 10 {
		cbs = append(cbs, cbs[r.IntN(len(msisdns))])
	}
	r.Shuffle(len(cbs), func(i, j int) { cbs[i], cbs[j] = cbs[j], cbs[i] })
	return cbs
}

// cpuUse is the CPU time (user and system) the bot, this process (the load
// generator) and Redis have used.
type cpuUse struct{ bot, self, redis time.Duration }

func (u cpuUse) minus(v cpuUse) cpuUse {
	return cpuUse{bot: u.bot - v.bot, self: u.self - v.self, redis: u.redis - v.redis}
}

// readCPU reads the CPU time used so far by the bot, this process and Redis.
func readCPU(ctx context.Context, b *testing.B, rdb *redis.Client, bot *botProc) cpuUse {
	b.Helper()
	var u cpuUse
	var err error
	if u.bot, err = bot.cpuTime(); err == nil {
		if u.self, err = processCPU(os.Getpid()); err == nil {
			u.redis, err = redisCPU(ctx, rdb)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// storedResults counts the results in Redis (one hash field per card).
func storedResults(ctx context.Context, rdb *redis.Client) (int, error) {
	total := 0
	iter := rdb.Scan(ctx, 0, "sb:res:*", 1000).Iterator()
	for iter.Next(ctx) {
		n, err := rdb.HLen(ctx, iter.Val()).Result()
		if err != nil {
			return 0, err
		}
		total += int(n)
	}
	return total, iter.Err()
}

// BenchmarkCallbackToPost: from a callback's arrival to its reply in the thread.
func BenchmarkCallbackToPost(b *testing.B) {
	fake, sb := slacktest.New(b), sandbox.New(b)
	benchRedis(b)
	total := postChannels * simsPerPostChannel
	msisdns := addSIMs(sb, 1, total)
	bot := startBot(b, fake, sb, botOptions{policy: benchPolicy})
	sb.SetDropCallbacks(true)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for i := range postChannels {
		chunk := msisdns[i*simsPerPostChannel : (i+1)*simsPerPostChannel]
		if _, err := change(ctx, fake, fmt.Sprintf("C0POST%04d", i), simCommand("deactivate", chunk)); err != nil {
			b.Fatalf("set up the operations: %v", err)
		}
	}
	cbs, err := droppedCallbacks(ctx, sb, total)
	if err != nil {
		b.Fatalf("%v\n%s", err, bot.logTail(20))
	}
	// The bot keeps each channel to one message per SLACK_POST_INTERVAL, as
	// Slack requires: a result arriving within that time of its thread's
	// parent waits for the channel's next slot. The callbacks start once
	// the parents are that old, so that what is measured is the bot's own
	// time, not Slack's pace.
	var lastParent time.Time
	for _, c := range fake.Calls("chat.postMessage") {
		if c.At.After(lastParent) {
			lastParent = c.At
		}
	}
	time.Sleep(time.Until(lastParent.Add(botPostInterval)))
	// Take the operations in turn, so each thread gets a result every four seconds.
	byOp := map[string][]callback{}
	var ops []string
	for _, c := range cbs {
		if _, ok := byOp[c.token]; !ok {
			ops = append(ops, c.token)
		}
		byOp[c.token] = append(byOp[c.token], c)
	}
	var order []callback
	for k := 0; len(order) < len(cbs); k++ {
		for _, op := range ops {
			if k < len(byOp[op]) {
				order = append(order, byOp[op][k])
			}
		}
	}

	client := &http.Client{}
	sent := make(map[string]time.Time, len(order))
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / postRate)
	b.ResetTimer()
	for _, c := range order {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			mu.Lock()
			sent[c.iccid] = start
			mu.Unlock()
			if status, err := post(ctx, client, bot.URL+"/callbacks/m2m", c); err != nil || status != http.StatusOK {
				b.Errorf("callback answered %d, %v; want 200", status, err)
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	posted := map[string]time.Time{}
	err = fake.WaitFor(ctx, func() bool {
		for _, call := range fake.Calls("chat.postMessage") {
			text := call.Form.Get("text")
			if call.Status != http.StatusOK || call.Form.Get("thread_ts") == "" || !strings.Contains(text, "ICCID ") {
				continue
			}
			_, rest, _ := strings.Cut(text, "ICCID ")
			iccid, _, _ := strings.Cut(rest, " ")
			if _, ok := posted[iccid]; !ok {
				posted[iccid] = call.At
			}
		}
		return len(posted) >= len(order)
	})
	b.StopTimer()
	if err != nil {
		b.Fatalf("%d of %d results reached their thread: %v\n%s", len(posted), len(order), err, bot.logTail(20))
	}
	latencies := make([]time.Duration, 0, len(order))
	for iccid, at := range posted {
		start, ok := sent[iccid]
		if !ok {
			b.Fatalf("a reply names ICCID %s, which no callback carried", iccid)
		}
		latencies = append(latencies, at.Sub(start))
	}
	p50, p99 := percentile(latencies, 50), percentile(latencies, 99)
	b.ReportMetric(float64(p50)/1e6, "p50-ms")
	b.ReportMetric(float64(p99)/1e6, "p99-ms")
	what := fmt.Sprintf("%d callbacks at %d/s over %d threads in %d channels", len(order), postRate, postChannels, postChannels)
	record("CallbackToPost", "callback to thread reply p50, "+what, ms(p50), "", false)
	record("CallbackToPost", "callback to thread reply p99", ms(p99), "≤ 50 ms", p99 <= targetPostP99)
	recordPeak(b, "CallbackToPost", bot)
	done("CallbackToPost")
}

// BenchmarkBulk: 1,000 SIM cards deactivated in one channel that Slack paces
// to one message a second.
func BenchmarkBulk(b *testing.B) {
	const channel = "C0BULK0001"
	fake, sb := slacktest.New(b), sandbox.New(b)
	benchRedis(b)
	msisdns := addSIMs(sb, 1, bulkCommands*simsPerCommand)
	bot := startBot(b, fake, sb, botOptions{policy: benchPolicy})
	fake.PacePerChannel(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), bulkTimeout+time.Minute)
	defer cancel()

	before := len(fake.Calls(""))
	start := time.Now()
	b.ResetTimer()
	for i := range bulkCommands {
		chunk := msisdns[i*simsPerCommand : (i+1)*simsPerCommand]
		if _, err := change(ctx, fake, channel, simCommand("deactivate", chunk)); err != nil {
			b.Fatalf("command %d: %v", i+1, err)
		}
	}
	summaries := func() []time.Time {
		var at []time.Time
		for _, c := range fake.Calls("chat.postMessage") {
			if c.Status == http.StatusOK && c.Form.Get("channel") == channel && strings.Contains(c.Form.Get("text"), "Finished") {
				at = append(at, c.At)
			}
		}
		return at
	}
	wctx, wcancel := context.WithTimeout(ctx, bulkTimeout)
	err := poll(wctx, 200*time.Millisecond, func() bool { return len(summaries()) >= bulkCommands })
	wcancel()
	b.StopTimer()
	calls := fake.Calls("")[before:]
	limited := map[string]int{}
	n429 := 0
	for _, c := range calls {
		if c.Status == http.StatusTooManyRequests {
			limited[c.Method]++
			n429++
		}
	}
	what := fmt.Sprintf("%d cards in %d commands of %d, one channel paced at 1 message/s", bulkCommands*simsPerCommand, bulkCommands, simsPerCommand)
	record("Bulk", "Slack calls made, "+what, strconv.Itoa(len(calls)), "", false)
	record("Bulk", "429 answers received", strconv.Itoa(n429), "0", n429 == 0)
	if n429 > 0 {
		note("Bulk: 429 answers by method: %v.", limited)
	}
	if err != nil {
		got := len(summaries())
		kept := filepath.Join(os.TempDir(), "switchboard-bench-bulk.log")
		if data, err := os.ReadFile(bot.logPath); err == nil && os.WriteFile(kept, data, 0o644) == nil {
			b.Logf("the bulk run did not finish; the bot's log is kept in %s", kept)
		}
		record("Bulk", "time from the first command to the last summary", fmt.Sprintf("not finished after %s (%d of %d summaries)", bulkTimeout, got, bulkCommands), "", false)
	} else {
		at := summaries()
		last := slices.MaxFunc(at, func(a, b time.Time) int { return a.Compare(b) })
		took := last.Sub(start)
		b.ReportMetric(took.Seconds(), "s-to-summary")
		record("Bulk", "time from the first command to the last summary", fmt.Sprintf("%.1f s", took.Seconds()), "", false)
	}
	b.ReportMetric(float64(n429), "429s")
	recordPeak(b, "Bulk", bot)
	done("Bulk")
}
