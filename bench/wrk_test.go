package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The IngestWrk scenario's load.
const (
	wrkCommands = 300 // 30,000 distinct callbacks, 33,000 with the repeats
	wrkThreads  = 2
	wrkConns    = ingestWorkers
	// wrkScript replays recorded callbacks, each once (see the script).
	wrkScript = "bench/wrk/callbacks.lua"
	// wrkPatience bounds one wrk run (a rate under about 300 callbacks a
	// second would not fit).
	wrkPatience = 2 * time.Minute
	// targetGeneratorShare: the Go load generator is a fair yardstick if it
	// drives the bare handler at this share of wrk's rate or more.
	targetGeneratorShare = 0.8
)

// BenchmarkIngestWrk: the Ingest scenario's anchor, driven by wrk, a load
// generator written in C that takes little of the cores it shares with the
// server, so that the bare handler's rate is not capped by the generator
// and "bot ÷ bare" is not flattered. The same recorded callbacks (distinct
// results of many operations, a tenth repeated) go to the bare handler and
// to the bot; the Go generator of the Ingest scenario also drives the bare
// handler, to see how far it falls short of wrk.
func BenchmarkIngestWrk(b *testing.B) {
	wrk := wrkBinary(b)
	root, err := moduleRoot()
	if err != nil {
		b.Fatal(err)
	}
	ctx, rdb, bot, cbs, cards := ingestSetup(b, wrkCommands, 10*time.Minute)
	file := filepath.Join(b.TempDir(), "callbacks.tsv")
	if err := writeCallbacks(file, cbs); err != nil {
		b.Fatal(err)
	}
	script := filepath.Join(root, wrkScript)
	bare := bareHandler(b, rdb)

	goBare := load(ctx, bare, cbs, ingestWorkers)
	if goBare.errors > 0 || goBare.statuses[http.StatusOK] != len(cbs) {
		b.Fatalf("bare handler answered the Go generator %v (%d errors), want %d × 200", goBare.statuses, goBare.errors, len(cbs))
	}
	wrkBare, err := runWrk(ctx, wrk, script, bare, file)
	if err != nil {
		b.Fatalf("wrk on the bare handler: %v", err)
	}
	b.ResetTimer()
	wrkBot, err := runWrk(ctx, wrk, script, bot.URL+"/callbacks/m2m", file)
	b.StopTimer()
	if err != nil {
		b.Fatalf("wrk on the bot: %v\n%s", err, bot.logTail(20))
	}
	for name, r := range map[string]wrkResult{"bare handler": wrkBare, "bot": wrkBot} {
		if r.answered != len(cbs) || r.ok != len(cbs) || r.errors > 0 {
			b.Fatalf("wrk on the %s: %d answered, %d 2xx, %d other, %d errors; want %d × 2xx\n%s", name, r.answered, r.ok, r.other, r.errors, len(cbs), bot.logTail(20))
		}
	}
	stored, err := storedResults(ctx, rdb)
	if err != nil {
		b.Fatal(err)
	}
	if stored != cards {
		b.Fatalf("results stored = %d, want %d (one per card, duplicates ignored)", stored, cards)
	}

	goRate, bareRate, botRate := goBare.rate(len(cbs)), wrkBare.rate(), wrkBot.rate()
	share, ratio := goRate/bareRate, botRate/bareRate
	b.ReportMetric(botRate, "callbacks/s")
	b.ReportMetric(ratio, "ratio-to-bare")
	what := fmt.Sprintf("%d callbacks (%d duplicates) of %d operations, wrk -t%d -c%d", len(cbs), len(cbs)-cards, wrkCommands, wrkThreads, wrkConns)
	record("IngestWrk", "bare net/http + 1 Redis round trip, driven by wrk, "+what, fmt.Sprintf("%.0f /s", bareRate), "", false)
	record("IngestWrk", fmt.Sprintf("bare, same requests from the Go load generator (%d clients)", ingestWorkers), fmt.Sprintf("%.0f /s", goRate), "", false)
	record("IngestWrk", "Go load generator ÷ wrk, on the bare handler", fmt.Sprintf("%.2f", share), "≥ 0.8", share >= targetGeneratorShare)
	record("IngestWrk", "bot, driven by wrk, same requests", fmt.Sprintf("%.0f /s", botRate), "", false)
	record("IngestWrk", "bot ÷ bare, both driven by wrk", fmt.Sprintf("%.2f", ratio), "≥ 0.5", ratio >= targetIngestRatio)
	done("IngestWrk")
}

// wrkBinary finds wrk, installing Debian's package when it is missing and
// this process may (root, apt-get present); otherwise the scenario is
// recorded as not run.
func wrkBinary(b *testing.B) string {
	b.Helper()
	if p, err := exec.LookPath("wrk"); err == nil {
		return p
	}
	if _, err := exec.LookPath("apt-get"); err == nil && os.Geteuid() == 0 {
		b.Log("IngestWrk: wrk is not on PATH; installing Debian's wrk package")
		cmd := exec.Command("sh", "-c", "apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Logf("apt-get install wrk: %v\n%s", err, out)
		}
		if p, err := exec.LookPath("wrk"); err == nil {
			return p
		}
	}
	skipScenario(b, "IngestWrk", "wrk is not on PATH and could not be installed (apt-get install wrk)")
	return ""
}

// writeCallbacks writes the callbacks for the wrk script: token, tab, body.
func writeCallbacks(path string, cbs []callback) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, c := range cbs {
		if strings.ContainsAny(c.token, "\t\n") || strings.ContainsAny(string(c.body), "\t\n") {
			f.Close()
			return fmt.Errorf("callback with a tab or newline in its token or body: %q", c.body)
		}
		fmt.Fprintf(w, "%s\t%s\n", c.token, c.body)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// wrkResult is what the script reports (see bench/wrk/callbacks.lua).
type wrkResult struct {
	answered, ok, other, errors int
	span                        time.Duration
}

func (r wrkResult) rate() float64 { return float64(r.answered) / r.span.Seconds() }

// runWrk replays the callbacks in file to url with wrk and the script, and
// ends wrk (SIGINT) once every thread has its share answered.
func runWrk(ctx context.Context, wrk, script, url, file string) (wrkResult, error) {
	cmd := exec.CommandContext(ctx, wrk,
		"-t", strconv.Itoa(wrkThreads), "-c", strconv.Itoa(wrkConns), "-d", "300s", "--timeout", "10s",
		"-H", "Authorization: Bearer "+callbackSecret,
		"-s", script, url, "--", file, strconv.Itoa(wrkThreads))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return wrkResult{}, err
	}
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		return wrkResult{}, err
	}
	// A request wrk gave up on (timeout, socket error) is never answered, so
	// its thread never finishes its share: end wrk after a while regardless,
	// and let the counts tell.
	watchdog := time.AfterFunc(wrkPatience, func() { _ = cmd.Process.Signal(syscall.SIGINT) })
	defer watchdog.Stop()
	var out []string
	threadsDone := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out = append(out, line)
		if line == "THREAD DONE" {
			if threadsDone++; threadsDone == wrkThreads {
				_ = cmd.Process.Signal(syscall.SIGINT)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		return wrkResult{}, fmt.Errorf("%v: %s\n%s", err, cmd.Stderr, strings.Join(out, "\n"))
	}
	return parseWrk(out)
}

// parseWrk reads the script's RESULT line.
func parseWrk(lines []string) (wrkResult, error) {
	for _, line := range lines {
		rest, ok := strings.CutPrefix(line, "RESULT ")
		if !ok {
			continue
		}
		var r wrkResult
		var spanUS int64
		if _, err := fmt.Sscanf(rest, "answered=%d span_us=%d status_2xx=%d status_other=%d errors=%d", &r.answered, &spanUS, &r.ok, &r.other, &r.errors); err != nil {
			return r, fmt.Errorf("wrk script's result %q: %w", line, err)
		}
		if spanUS <= 0 {
			return r, fmt.Errorf("wrk script's result %q: no time measured", line)
		}
		r.span = time.Duration(spanUS) * time.Microsecond
		return r, nil
	}
	return wrkResult{}, errors.New("wrk printed no RESULT line:\n" + strings.Join(lines, "\n"))
}

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		want    wrkResult
		wantErr bool
	}{
		{"result among wrk's own lines", []string{"Running 5m test @ http://x", "THREAD DONE", "RESULT answered=33000 span_us=1650000 status_2xx=32990 status_other=10 errors=2"},
			wrkResult{answered: 33000, ok: 32990, other: 10, errors: 2, span: 1650 * time.Millisecond}, false},
		{"no result", []string{"Running 5m test @ http://x"}, wrkResult{}, true},
		{"no time", []string{"RESULT answered=1 span_us=0 status_2xx=1 status_other=0 errors=0"}, wrkResult{}, true},
		{"garbled", []string{"RESULT answered=x"}, wrkResult{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.lines)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if !tt.wantErr && got.rate() != 20000 {
				t.Errorf("rate = %v, want 20000", got.rate())
			}
		})
	}
}
