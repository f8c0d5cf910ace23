package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// The Floor scenario's load.
const (
	floorRounds        = 4
	floorRoundCommands = 250
	floorWorkers       = 8
	floorCallbacks     = 10000 // of each kind, per round
	floorCallbackRuns  = 3
)

// helpLoad sends floorRoundCommands "/sim help" from floorWorkers senders
// and returns each one's ack latency; every ack must carry an answer.
func helpLoad(b *testing.B, fake *slacktest.Server) []time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	latencies := make([]time.Duration, floorRoundCommands)
	err := inParallel(floorWorkers, floorRoundCommands, func(i int) error {
		ack, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: "/sim", Text: "help", UserID: benchUser, ChannelID: "C0FLOOR000"})
		if err != nil {
			return err
		}
		if len(ack.Payload) == 0 {
			return fmt.Errorf("ack of %s without an answer", ack.EnvelopeID)
		}
		latencies[i] = ack.Latency
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return latencies
}

// BenchmarkFloor measures the bot against the floor of what it does: its
// ack of "/sim help" and its memory beside the slack-go floor
// (bench/peers/floor) and the Bolt for JavaScript peer, each on its own fake
// Slack, in alternating rounds; and its rate for callbacks that change
// nothing (the same card's result again, answered 200; a card its finished
// operation never named, answered 409) beside a bare net/http handler making
// one Redis write, in alternating runs. It is not needed for a run to
// rewrite BENCHMARKS.md.
func BenchmarkFloor(b *testing.B) {
	fake, sb := slacktest.New(b), sandbox.New(b)
	rdb := benchRedis(b)
	msisdns := addSIMs(sb, 900101, 1)
	bot := startBot(b, fake, sb, botOptions{policy: benchPolicy})
	ffake := slacktest.New(b)
	floor := startFloor(b, ffake)
	subjects := []struct {
		name string
		fake *slacktest.Server
		pid  func() int
		lat  []time.Duration
		idle int64
	}{
		{name: "the bot", fake: fake, pid: func() int { return bot.cmd.Process.Pid }},
		{name: "slack-go floor", fake: ffake, pid: func() int { return floor.Process.Pid }},
	}
	if _, err := exec.LookPath("npm"); err == nil {
		app := installPeer(b)
		pfake := slacktest.New(b)
		peer := startPeer(b, pfake, app)
		subjects = append(subjects, struct {
			name string
			fake *slacktest.Server
			pid  func() int
			lat  []time.Duration
			idle int64
		}{name: "Bolt for JavaScript " + peerVersion(app), fake: pfake, pid: func() int { return peer.Process.Pid }})
	}
	for i := range subjects {
		rss, _, err := processMemory(subjects[i].pid())
		if err != nil {
			b.Fatal(err)
		}
		subjects[i].idle = rss
	}
	if bot.debugAddr != "" {
		path := filepath.Join(os.TempDir(), "switchboard-floor-idle.heap.pprof")
		if err := download("http://"+bot.debugAddr+"/debug/pprof/heap", path); err != nil {
			b.Errorf("heap profile of the idle bot: %v", err)
		}
		b.Logf("heap of the idle bot: go tool pprof %s", path)
	}
	profiled := bot.profile(b, "floor-ack", 10*time.Second)
	for range floorRounds {
		for i := range subjects {
			subjects[i].lat = append(subjects[i].lat, helpLoad(b, subjects[i].fake)...)
		}
	}
	profiled()
	for _, s := range subjects {
		_, peak, err := processMemory(s.pid())
		if err != nil {
			b.Fatal(err)
		}
		p50, p99 := percentile(s.lat, 50), percentile(s.lat, 99)
		record("Floor", fmt.Sprintf("/sim help, %d commands from %d senders in %d alternating rounds: ack p50 / p99, %s", floorRounds*floorRoundCommands, floorWorkers, floorRounds, s.name),
			ms(p50)+" / "+ms(p99), "", false)
		record("Floor", "RSS idle / peak under that load, "+s.name, mib(s.idle)+" / "+mib(peak), "", false)
	}
	bp50, bp99 := percentile(subjects[0].lat, 50), percentile(subjects[0].lat, 99)
	fp50, fp99 := percentile(subjects[1].lat, 50), percentile(subjects[1].lat, 99)
	record("Floor", "ack p50, bot ÷ floor", fmt.Sprintf("%.2f", float64(bp50)/float64(fp50)), "≤ 1.3", float64(bp50) <= 1.3*float64(fp50))
	record("Floor", "ack p99, bot ÷ floor", fmt.Sprintf("%.2f", float64(bp99)/float64(fp99)), "≤ 1.1", float64(bp99) <= 1.1*float64(fp99))
	record("Floor", "RSS idle, bot ÷ floor", fmt.Sprintf("%.2f", float64(subjects[0].idle)/float64(subjects[1].idle)), "≤ 2", subjects[0].idle <= 2*subjects[1].idle)
	b.ReportMetric(float64(bp50)/float64(fp50), "ack-p50-bot/floor")

	// Callbacks that change nothing, on a one-card operation whose card
	// has answered.
	sb.SetDropCallbacks(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	real := answeredOneCard(ctx, b, fake, sb, bot, "C0FLOOR000", msisdns)
	dups := make([]callback, floorCallbacks)
	extras := make([]callback, floorCallbacks)
	for i := range dups {
		dups[i] = real
		body := bytes.Replace(real.body, []byte(real.iccid), fmt.Appendf(nil, "899998%013d", i), 1)
		extras[i] = callback{header: real.header, body: body, token: real.token}
	}
	bare := bareHandler(b, rdb)
	for _, kind := range []struct {
		name   string
		cbs    []callback
		status int
	}{
		{"duplicate callbacks (200)", dups, http.StatusOK},
		{"callbacks naming a new device on a finished operation (409)", extras, http.StatusConflict},
	} {
		var ratios []string
		lo, hi := 0.0, 0.0
		for run := range floorCallbackRuns {
			bareRes := load(ctx, bare, kind.cbs, ingestWorkers)
			wait := func() {}
			if run == 0 {
				wait = bot.profile(b, fmt.Sprintf("floor-callbacks-%d", kind.status), 2*time.Second)
			}
			got := load(ctx, bot.URL+"/callbacks/m2m", kind.cbs, ingestWorkers)
			wait()
			if got.errors > 0 || got.statuses[kind.status] != len(kind.cbs) {
				b.Fatalf("%s: the bot answered %v (%d errors), want %d × %d\n%s", kind.name, got.statuses, got.errors, len(kind.cbs), kind.status, bot.logTail(20))
			}
			r := got.rate(len(kind.cbs)) / bareRes.rate(len(kind.cbs))
			ratios = append(ratios, fmt.Sprintf("%.0f/%.0f", got.rate(len(kind.cbs)), bareRes.rate(len(kind.cbs))))
			if run == 0 || r < lo {
				lo = r
			}
			if run == 0 || r > hi {
				hi = r
			}
		}
		record("Floor", fmt.Sprintf("%s, bot/bare callbacks per second over %d alternating runs of %d, %d clients", kind.name, floorCallbackRuns, len(kind.cbs), ingestWorkers), strings.Join(ratios, ", "), "", false)
		record("Floor", kind.name+", bot ÷ bare", fmt.Sprintf("%.2f–%.2f", lo, hi), "≥ 0.8", lo >= 0.8)
	}
	note("Floor: load average %s at the end.", loadAverage())
	done("Floor")
}
