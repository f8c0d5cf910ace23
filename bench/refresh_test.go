package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// The Refresh scenario's cadence and load, the same for every subject.
const (
	refreshEvery   = 2 * time.Second // a connection's life before the warning
	refreshWarning = time.Second     // from the warning to refresh_requested
	refreshCount   = 3
	refreshSenders = 2
	refreshPace    = 10 * time.Millisecond // between one sender's commands
)

// floorDir holds the slack-go floor, relative to the module root.
const floorDir = "bench/peers/floor"

var floorBuild struct {
	once sync.Once
	path string
	err  error
}

// floorBinary builds the slack-go floor (bench/peers/floor) once.
func floorBinary(b *testing.B) string {
	b.Helper()
	floorBuild.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			floorBuild.err = err
			return
		}
		dir, err := os.MkdirTemp("", "switchboard-floor-")
		if err != nil {
			floorBuild.err = err
			return
		}
		floorBuild.path = filepath.Join(dir, "floor")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", floorBuild.path, "./"+floorDir)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			floorBuild.err = fmt.Errorf("go build ./%s: %v\n%s", floorDir, err, out)
		}
	})
	if floorBuild.err != nil {
		b.Fatalf("build the floor: %v", floorBuild.err)
	}
	return floorBuild.path
}

// startFloor runs the slack-go floor against fake until the benchmark ends.
func startFloor(b *testing.B, fake *slacktest.Server) *exec.Cmd {
	b.Helper()
	bin := floorBinary(b)
	b.Cleanup(func() { os.RemoveAll(filepath.Dir(bin)) })
	return startChild(b, fake, exec.Command(bin), "floor ready")
}

// refreshingSlack is a fake Slack that refreshes each connection on the
// Refresh scenario's cadence and fails a command sent while the app has no
// connection, as Slack does.
func refreshingSlack(b *testing.B) *slacktest.Server {
	fake := slacktest.New(b)
	fake.SetRefresh(refreshEvery, refreshWarning)
	fake.SetStrictDispatch(true)
	return fake
}

// refreshOutcome is what the refreshes cost one subject.
type refreshOutcome struct {
	sent, lost, unacked int
	gap                 time.Duration
}

// refreshLoad sends commands at a steady pace until refreshCount refreshes
// are over, and counts those that found no connection and those that went
// unacknowledged.
func refreshLoad(b *testing.B, fake *slacktest.Server, cmd slack.SlashCommand) refreshOutcome {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var out refreshOutcome
	var senders sync.WaitGroup
	for range refreshSenders {
		senders.Go(func() {
			pace := time.NewTicker(refreshPace)
			defer pace.Stop()
			for ctx.Err() == nil && fake.Refreshes() < refreshCount {
				<-pace.C
				sendCtx, stop := context.WithTimeout(ctx, 5*time.Second)
				_, err := fake.SlashCommand(sendCtx, cmd)
				stop()
				mu.Lock()
				out.sent++
				switch {
				case errors.Is(err, slacktest.ErrDispatchFailed):
					out.lost++
				case err != nil:
					out.unacked++
				}
				mu.Unlock()
			}
		})
	}
	senders.Wait()
	if ctx.Err() != nil {
		b.Fatalf("%d refreshes did not happen in 2 minutes (%d did)", refreshCount, fake.Refreshes())
	}
	out.gap = fake.LongestGap()
	return out
}

// BenchmarkRefresh: Slack refreshes the socket of one replica of the bot, of
// the slack-go floor and of the Bolt for JavaScript peer on the same
// cadence, while commands come every few milliseconds; how many find no
// connection or go unacknowledged, and the longest time without one. It is
// not needed for a run to rewrite BENCHMARKS.md.
func BenchmarkRefresh(b *testing.B) {
	what := fmt.Sprintf("%d refreshes, one every %s of a connection's life with a %s warning; a command every %s from each of %d senders",
		refreshCount, refreshEvery, refreshWarning, refreshPace, refreshSenders)
	report := func(subject string, o refreshOutcome) {
		record("Refresh", fmt.Sprintf("commands lost (no connection / unacknowledged) of %d sent, %s", o.sent, subject), fmt.Sprintf("%d / %d", o.lost, o.unacked), "0", o.lost+o.unacked == 0)
		record("Refresh", "longest time without a connection, "+subject, ms(o.gap), "", false)
	}

	fake, sb := refreshingSlack(b), sandbox.New(b)
	benchRedis(b)
	startBot(b, fake, sb, botOptions{policy: benchPolicy})
	report("the bot ("+what+")", refreshLoad(b, fake, slack.SlashCommand{Command: "/sim", Text: "help", UserID: benchUser, ChannelID: "C0REFRESH0"}))

	ffake := refreshingSlack(b)
	startFloor(b, ffake)
	report("the slack-go floor", refreshLoad(b, ffake, slack.SlashCommand{Command: "/sim", Text: "help", UserID: benchUser, ChannelID: "C0REFRESH0"}))

	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			record("Refresh", "Bolt for JavaScript not run: "+tool+" is not on PATH", "—", "", false)
			done("Refresh")
			return
		}
	}
	app := installPeer(b)
	pfake := refreshingSlack(b)
	startPeer(b, pfake, app)
	report("Bolt for JavaScript "+peerVersion(app), refreshLoad(b, pfake, slack.SlashCommand{Command: "/sim", Text: "help", UserID: benchUser, ChannelID: "C0REFRESH0"}))
	done("Refresh")
}
