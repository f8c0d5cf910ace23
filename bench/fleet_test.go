package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// Targets of the fleet change from a file.
const (
	targetFleetCalls   = 60
	targetFleetRSS     = 100 << 20
	targetFleetRedis   = 10 << 20
	targetFleetSummary = 15 * time.Second
	fleetTimeout       = 10 * time.Minute
)

// fleetPolicy lets everyone change SIM cards, up to 10,000 from a file.
const fleetPolicy = `roles:
  - name: operators
    members: ["*"]
    permissions: [sim.read, sim.activate, sim.deactivate, sim.reactivate]
limits:
  max_bulk_targets: 10000
  changes_per_minute: 1000
`

// BenchmarkFleet deactivates 1,000 and then 10,000 SIM cards from a file,
// end to end: the file shared in Slack, the form, the preview, the
// requests to the sandbox (which answers every card), the thread and the
// report file, with the fake Slack pacing one message a second per channel.
func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		// Each size in a sub-benchmark of its own, so that its bot stops
		// before the next one starts on the same database: a bot still
		// running would take the next one's posts from the shared queue.
		b.Run(strconv.Itoa(n), func(b *testing.B) { fleetRun(b, n) })
	}
	done("Fleet")
}

func fleetRun(b *testing.B, n int) {
	const channel = "C0FLEET001"
	fake, sb := slacktest.New(b), sandbox.New(b)
	rdb := benchRedis(b)
	msisdns := addSIMs(sb, 1, n)
	bot := startBot(b, fake, sb, botOptions{policy: fleetPolicy})
	fake.PacePerChannel(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), fleetTimeout)
	defer cancel()

	var file bytes.Buffer
	file.WriteString("site;msisdn\n")
	for i, m := range msisdns {
		fmt.Fprintf(&file, "site %d;0%s\n", i, m[2:])
	}
	shared := fake.AddFile("cards.csv", "csv", file.Bytes())

	before := len(fake.Calls(""))
	if _, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim", Text: "bulk", UserID: benchUser, ChannelID: channel}); err != nil {
		b.Fatal(err)
	}
	var modal string
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		for _, m := range fake.Modals() {
			modal = m.ID
		}
		return modal != ""
	}); err != nil {
		b.Fatalf("the form did not open\n%s", bot.logTail(20))
	}
	values := map[string]map[string]slack.BlockAction{
		"action": {"action": {Type: "static_select", SelectedOption: slack.OptionBlockObject{Value: "deactivate"}}},
		"file":   {"file": {Type: "file_input", Files: []slack.File{shared}}},
		"pasted": {"pasted": {Type: "plain_text_input"}},
	}
	ack, err := fake.ViewSubmission(ctx, benchUser, modal, values)
	if err != nil || !bytes.Contains(ack.Payload, []byte("sim_bulk_preview")) {
		b.Fatalf("preview: %s, %v\n%s", ack.Payload, err, bot.logTail(20))
	}
	previewAck := ack.Latency

	// Sample the operation's Redis memory while it runs, and when the
	// sandbox's last callback was answered.
	var (
		mu        sync.Mutex
		peakRedis int64
		lastCB    time.Time
		delivered int
	)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			used := keysMemory(sampleCtx, rdb)
			got := 0
			for _, c := range sb.Callbacks() {
				if c.Kind == "m2m" && c.Delivered() {
					got++
				}
			}
			mu.Lock()
			peakRedis = max(peakRedis, used)
			if got > delivered {
				delivered, lastCB = got, time.Now()
			}
			mu.Unlock()
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
			}
		}
	}()

	start := time.Now()
	b.ResetTimer()
	if _, err := fake.ViewSubmission(ctx, benchUser, modal, nil); err != nil {
		b.Fatal(err)
	}
	summary := func() (time.Time, bool) {
		for _, c := range fake.Calls("chat.postMessage") {
			if c.Status == http.StatusOK && c.Form.Get("channel") == channel && strings.Contains(c.Form.Get("text"), "Finished") {
				return c.At, true
			}
		}
		return time.Time{}, false
	}
	reported := func() bool {
		for _, f := range fake.Files() {
			if f.Channel == channel && strings.HasPrefix(f.Name, "sim-") {
				return true
			}
		}
		return false
	}
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Minute)
	err = poll(wctx, 100*time.Millisecond, func() bool {
		_, ok := summary()
		return ok && reported()
	})
	wcancel()
	b.StopTimer()
	// One more sample after the end, then stop.
	time.Sleep(100 * time.Millisecond)
	stopSampling()
	<-sampled
	if err != nil {
		var seen []string
		for _, c := range fake.Calls("") {
			seen = append(seen, fmt.Sprintf("%s %d %.80q", c.Method, c.Status, c.Form.Get("text")))
		}
		for _, f := range fake.Files() {
			seen = append(seen, fmt.Sprintf("file %s in %s/%s", f.Name, f.Channel, f.ThreadTS))
		}
		b.Fatalf("%d cards: no summary and report (%d callbacks delivered); Slack saw:\n%s\n%s", n, delivered, strings.Join(seen, "\n"), bot.logTail(10))
	}
	at, _ := summary()
	calls := fake.Calls("")[before:]
	byMethod := map[string]int{}
	n429 := 0
	for _, c := range calls {
		byMethod[c.Method]++
		if c.Status == http.StatusTooManyRequests {
			n429++
		}
	}
	_, peakRSS, err := bot.memory()
	if err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	toSummary := at.Sub(lastCB)
	redisPeak := peakRedis
	mu.Unlock()

	what := fmt.Sprintf("%s cards from a file", thousandsOf(n))
	record("Fleet", what+": Slack Web API calls, form to report", strconv.Itoa(len(calls)), "≤ 60", len(calls) <= targetFleetCalls)
	record("Fleet", what+": 429 answers received", strconv.Itoa(n429), "0", n429 == 0)
	record("Fleet", what+": preview answered in the submission's ack", ms(previewAck), "≤ 3 s", previewAck <= 3*time.Second)
	record("Fleet", what+": peak RSS (VmHWM)", mib(peakRSS), "≤ 100 MiB", peakRSS <= targetFleetRSS)
	record("Fleet", what+": Redis memory of the bot's keys at its peak", mib(redisPeak), "≤ 10 MB", redisPeak <= targetFleetRedis)
	record("Fleet", what+": EnCo's last callback to the final summary", fmt.Sprintf("%.1f s", toSummary.Seconds()), "≤ 15 s", toSummary <= targetFleetSummary)
	record("Fleet", what+": confirmation to the final summary", fmt.Sprintf("%.1f s", at.Sub(start).Seconds()), "", false)
	note("Fleet, %s cards: Slack calls by method: %s.", thousandsOf(n), methods(byMethod))
	b.ReportMetric(float64(len(calls)), "slack-calls")
	b.ReportMetric(toSummary.Seconds(), "s-callback-to-summary")
}

// keysMemory is the memory Redis reports for the keys of the benchmark
// database (MEMORY USAGE of each), so that other users of the server do
// not count.
func keysMemory(ctx context.Context, rdb *redis.Client) int64 {
	var total int64
	iter := rdb.Scan(ctx, 0, "*", 200).Iterator()
	for iter.Next(ctx) {
		n, err := rdb.MemoryUsage(ctx, iter.Val(), 0).Result()
		if err == nil {
			total += n
		}
	}
	return total
}

func methods(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func thousandsOf(n int) string {
	s := strconv.Itoa(n)
	if len(s) <= 3 {
		return s
	}
	return s[:len(s)-3] + "," + s[len(s)-3:]
}
