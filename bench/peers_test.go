package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// The Peers scenario's load: the same for the bot and the peer.
const (
	peerRounds        = 4
	peerRoundCommands = 250 // 1,000 commands each in all
	peerWorkers       = 8
	peerCommand       = "/sim"
	peerText          = "status 0471000001"
)

// peerDir is where the peer app lives, relative to the module root.
const peerDir = "bench/peers/bolt"

// BenchmarkPeers: the bot and a minimal Slack Bolt for JavaScript app
// (bench/peers/bolt) side by side, each with its own fake Slack, under the
// same slash-command load, sent to one and then the other in alternating
// rounds: each acknowledges the command and sends one reply. Ack latency as
// the fake measures it, resident memory idle and its peak under the load.
func BenchmarkPeers(b *testing.B) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipScenario(b, "Peers", tool+" is not on PATH, so the Bolt for JavaScript peer cannot run; install Node.js and npm to compare the bot with it")
		}
	}
	app := installPeer(b)

	// Each with a fake Slack of its own; both run from here on.
	fake, sb := slacktest.New(b), sandbox.New(b)
	benchRedis(b)
	bot := startBot(b, fake, sb, botOptions{policy: benchPolicy})
	pfake := slacktest.New(b)
	peer := startPeer(b, pfake, app)
	botIdle, _, err := bot.memory()
	if err != nil {
		b.Fatal(err)
	}
	peerIdle, _, err := processMemory(peer.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}

	// The load goes to one at a time, in alternating rounds, so that the
	// machine's other work falls on both alike.
	var botLat, peerLat []time.Duration
	for range peerRounds {
		botLat = append(botLat, commandLoad(b, fake)...)
		peerLat = append(peerLat, commandLoad(b, pfake)...)
	}
	total := peerRounds * peerRoundCommands
	if err := poll(context.Background(), 20*time.Millisecond, func() bool { return responsePosts(fake) >= total }); err != nil {
		b.Fatalf("the bot answered %d of %d commands on their response URLs\n%s", responsePosts(fake), total, bot.logTail(20))
	}
	if err := poll(context.Background(), 20*time.Millisecond, func() bool { return len(pfake.Calls("chat.postMessage")) >= total }); err != nil {
		b.Fatalf("the peer posted %d of %d replies", len(pfake.Calls("chat.postMessage")), total)
	}
	_, botPeak, err := bot.memory()
	if err != nil {
		b.Fatal(err)
	}
	_, peerPeak, err := processMemory(peer.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}

	bolt := "Bolt for JavaScript " + peerVersion(app)
	what := fmt.Sprintf("%d commands from %d senders in %d rounds alternating with the peer's, each acknowledged and answered once", peerRounds*peerRoundCommands, peerWorkers, peerRounds)
	bp50, bp99 := percentile(botLat, 50), percentile(botLat, 99)
	pp50, pp99 := percentile(peerLat, 50), percentile(peerLat, 99)
	b.ReportMetric(float64(bp99)/1e6, "bot-p99-ms")
	b.ReportMetric(float64(pp99)/1e6, "peer-p99-ms")
	record("Peers", "ack latency p50, the bot, "+what, ms(bp50), "", false)
	record("Peers", "ack latency p50, "+bolt+", same load", ms(pp50), "", false)
	record("Peers", "ack latency p99, the bot", ms(bp99), "≤ the peer's", bp99 <= pp99)
	record("Peers", "ack latency p99, "+bolt, ms(pp99), "", false)
	record("Peers", "RSS idle, after start: the bot", mib(botIdle), "≤ ⅓ of the peer's", 3*botIdle <= peerIdle)
	record("Peers", "RSS idle, after start: "+bolt, mib(peerIdle), "", false)
	record("Peers", "peak RSS under this load (VmHWM): the bot", mib(botPeak), "≤ ⅓ of the peer's", 3*botPeak <= peerPeak)
	record("Peers", "peak RSS under this load (VmHWM): "+bolt, mib(peerPeak), "", false)
	note("Peers: %s on Node.js %s, installed with npm ci from %s/package-lock.json; the bot's reply needs an EnCo call (the sandbox, answering at once), the peer's does not.", bolt, nodeVersion(), peerDir)
	done("Peers")
}

// commandLoad sends peerRoundCommands slash commands from peerWorkers senders and
// returns each one's ack latency.
func commandLoad(b *testing.B, fake *slacktest.Server) []time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	latencies := make([]time.Duration, peerRoundCommands)
	var empty atomic.Int64
	err := inParallel(peerWorkers, peerRoundCommands, func(i int) error {
		ack, err := fake.SlashCommand(ctx, slack.SlashCommand{Command: peerCommand, Text: peerText, UserID: benchUser, ChannelID: "C0PEERS000"})
		if err != nil {
			return err
		}
		if !strings.Contains(string(ack.Payload), "Looking up") {
			empty.Add(1)
		}
		latencies[i] = ack.Latency
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if n := empty.Load(); n > 0 {
		b.Fatalf("%d of %d acks did not carry the expected answer", n, peerRoundCommands)
	}
	return latencies
}

// responsePosts counts the messages posted to response URLs.
func responsePosts(fake *slacktest.Server) int {
	n := 0
	for _, a := range fake.Acks() {
		n += len(fake.ResponseURLPosts(a.EnvelopeID))
	}
	return n
}

// installPeer copies the peer app into a temporary directory and installs
// its dependencies from the lockfile (npm ci), so the module's tree stays
// free of node_modules.
func installPeer(b *testing.B) string {
	b.Helper()
	root, err := moduleRoot()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "app.js"} {
		data, err := os.ReadFile(filepath.Join(root, peerDir, name))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--omit=dev")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("npm ci in a copy of %s: %v\n%s", peerDir, err, out)
	}
	return dir
}

// startPeer runs the peer app against fake and waits until it says it is
// ready and its socket is connected. It is stopped when the benchmark ends.
func startPeer(b *testing.B, fake *slacktest.Server, dir string) *exec.Cmd {
	b.Helper()
	cmd := exec.Command("node", "app.js")
	cmd.Dir = dir
	cmd.Env = []string{"NODE_ENV=production"}
	return startChild(b, fake, cmd, "bolt peer ready")
}

// startChild runs cmd, with the fake's tokens and URL added to its
// environment, and waits until it prints ready and its socket is connected.
// It is stopped (SIGTERM) when the benchmark ends.
func startChild(b *testing.B, fake *slacktest.Server, cmd *exec.Cmd, ready string) *exec.Cmd {
	b.Helper()
	cmd.Env = append(cmd.Env,
		"PATH="+os.Getenv("PATH"),
		"SLACK_BOT_TOKEN="+fake.BotToken,
		"SLACK_APP_TOKEN="+fake.AppToken,
		"SLACK_API_URL="+fake.URL,
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start the peer: %v", err)
	}
	isReady := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), ready) {
				close(isReady)
				signalled = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case <-isReady:
	case err := <-exited:
		b.Fatalf("%s exited at start: %v\n%s", cmd.Path, err, cmd.Stderr)
	case <-time.After(30 * time.Second):
		b.Fatalf("%s did not get ready in 30 s\n%s", cmd.Path, cmd.Stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx, 1); err != nil {
		b.Fatalf("the socket of %s did not connect: %v", cmd.Path, err)
	}
	return cmd
}

// lockedWriter makes a writer safe for exec's copying goroutine and a reader.
type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// peerVersion is the installed @slack/bolt version.
func peerVersion(dir string) string {
	out, err := exec.Command("node", "-p", "require('"+filepath.Join(dir, "node_modules/@slack/bolt/package.json")+"').version").Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(string(out))
}

func nodeVersion() string {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
}
