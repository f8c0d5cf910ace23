package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// extraCallbacks is how many callbacks naming devices the operation never
// asked about the ExtraDevices scenario sends.
const extraCallbacks = 20000

// BenchmarkExtraDevices: callbacks that name new devices on an operation
// every target of which has answered. Each is answered 409 and writes
// nothing; the bot used to record each one and then retry an optimistic
// update of the operation, the hot path under a flood of forged or
// mistaken callbacks. Driven like Ingest, against the bot and the bare
// handler with the same requests.
func BenchmarkExtraDevices(b *testing.B) {
	fake, sb := slacktest.New(b), sandbox.New(b)
	rdb := benchRedis(b)
	msisdns := addSIMs(sb, 900001, 1)
	bot := startBot(b, fake, sb, botOptions{policy: benchPolicy})
	sb.SetDropCallbacks(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// One card, changed the real way; its callback completes the operation.
	real := answeredOneCard(ctx, b, fake, sb, bot, "C0EXTRA000", msisdns)
	extras := make([]callback, extraCallbacks)
	for i := range extras {
		body := bytes.Replace(real.body, []byte(real.iccid), fmt.Appendf(nil, "899999%013d", i), 1)
		extras[i] = callback{header: real.header, body: body, token: real.token}
	}

	bare := load(ctx, bareHandler(b, rdb), extras, ingestWorkers)
	b.ResetTimer()
	got := load(ctx, bot.URL+"/callbacks/m2m", extras, ingestWorkers)
	b.StopTimer()
	if got.errors > 0 || got.statuses[http.StatusConflict] != len(extras) {
		b.Fatalf("bot answered %v (%d errors), want %d × 409\n%s", got.statuses, got.errors, len(extras), bot.logTail(20))
	}
	if bare.errors > 0 || bare.statuses[http.StatusOK] != len(extras) {
		b.Fatalf("bare handler answered %v (%d errors), want %d × 200", bare.statuses, bare.errors, len(extras))
	}
	if stored, err := storedResults(ctx, rdb); err != nil || stored != 1 {
		b.Fatalf("results stored = %d (%v), want 1: extra devices write nothing", stored, err)
	}
	botRate, bareRate := got.rate(len(extras)), bare.rate(len(extras))
	b.ReportMetric(botRate, "callbacks/s")
	b.ReportMetric(botRate/bareRate, "ratio-to-bare")
	record("ExtraDevices", fmt.Sprintf("bot, %d callbacks naming new devices on a completed operation (409), %d clients", len(extras), ingestWorkers), fmt.Sprintf("%.0f /s", botRate), "", false)
	record("ExtraDevices", "bare net/http + 1 Redis round trip, same requests", fmt.Sprintf("%.0f /s", bareRate), "", false)
	record("ExtraDevices", "bot ÷ bare", fmt.Sprintf("%.2f", botRate/bareRate), "", false)
	done("ExtraDevices")
}

// answeredOneCard changes one card the real way, in channel, and posts the
// callback that completes its operation; it returns that callback, for the
// duplicates and new devices that follow.
func answeredOneCard(ctx context.Context, b *testing.B, fake *slacktest.Server, sb *sandbox.Sandbox, bot *botProc, channel string, msisdns []string) callback {
	b.Helper()
	if _, err := change(ctx, fake, channel, simCommand("deactivate", msisdns)); err != nil {
		b.Fatalf("set up the operation: %v", err)
	}
	cbs, err := droppedCallbacks(ctx, sb, 1)
	if err != nil {
		b.Fatalf("%v\n%s", err, bot.logTail(20))
	}
	if status, err := post(ctx, http.DefaultClient, bot.URL+"/callbacks/m2m", cbs[0]); err != nil || status != http.StatusOK {
		b.Fatalf("the card's own callback: %d, %v\n%s", status, err, bot.logTail(20))
	}
	return cbs[0]
}
