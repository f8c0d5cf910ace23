package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// defaultRedisURL is the Redis database the benchmarks use and flush.
const defaultRedisURL = "redis://127.0.0.1:6379/9"

// callbackSecret is the bot's CALLBACK_SECRET in every scenario.
const callbackSecret = "bench-callback-secret-0123456789abcdef"

// moduleRoot is the directory of go.mod, where the bot is built and
// BENCHMARKS.md written.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the module")
	}
	return filepath.Dir(gomod), nil
}

var build struct {
	once sync.Once
	dir  string // temporary, removed by TestMain
	path string
	cmd  string // the build command, for the report
	err  error
}

// botBinary builds cmd/bot once, with the Dockerfile's build command, and
// returns the binary's path.
func botBinary(b *testing.B) string {
	b.Helper()
	build.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			build.err = err
			return
		}
		df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
		if err != nil {
			build.err = err
			return
		}
		bc, err := parseBuildCommand(string(df))
		if err != nil {
			build.err = err
			return
		}
		build.dir, err = os.MkdirTemp("", "switchboard-bench-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(build.dir, "bot")
		build.cmd = bc.String()
		cmd := exec.Command("go", bc.goArgs(build.path)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), bc.Env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("%s: %v\n%s", build.cmd, err, out)
		}
	})
	if build.err != nil {
		b.Fatalf("build the bot: %v", build.err)
	}
	return build.path
}

// redisURL is the Redis database the scenarios use.
func redisURL() string {
	if u := os.Getenv("BENCH_REDIS_URL"); u != "" {
		return u
	}
	return defaultRedisURL
}

// benchRedis connects to the benchmark database and flushes it now and when
// the benchmark ends.
func benchRedis(b *testing.B) *redis.Client {
	b.Helper()
	opts, err := redis.ParseURL(redisURL())
	if err != nil {
		b.Fatalf("BENCH_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		b.Fatalf("Redis at %s does not answer (%v); start one, or set BENCH_REDIS_URL", redisURL(), err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rdb.FlushDB(ctx).Err()
		_ = rdb.Close()
	})
	return rdb
}

// botProc is the bot running as a child process.
type botProc struct {
	cmd     *exec.Cmd
	URL     string // base URL of its HTTP server
	logPath string
	exited  chan struct{}
	waitErr error
	// debugAddr is where its profiler listens (BENCH_PROFILE), else "".
	debugAddr string
}

// botOptions are what a scenario gives the bot besides the fakes.
type botOptions struct {
	policy string // policy YAML
	// encoURL is the EnCo base URL, when not the sandbox's own (a recorder
	// in front of it).
	encoURL string
}

// startBot starts the bot with an environment that points it at fake, sb and
// the benchmark Redis, and waits until it is ready: socket connected, M2M
// callback URL configured, /readyz answering 200. It is stopped (SIGTERM)
// when the benchmark ends, before the fakes are.
func startBot(b *testing.B, fake *slacktest.Server, sb *sandbox.Sandbox, o botOptions) *botProc {
	b.Helper()
	bin := botBinary(b)
	dir := b.TempDir()
	policy := filepath.Join(dir, "policy.yml")
	if err := os.WriteFile(policy, []byte(o.policy), 0o600); err != nil {
		b.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := &botProc{URL: "http://" + addr, logPath: filepath.Join(dir, "bot.log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		b.Fatal(err)
	}
	p.cmd = exec.Command(bin)
	// Only what an operator would set: nothing is inherited.
	p.cmd.Env = []string{
		"SLACK_BOT_TOKEN=" + fake.BotToken,
		"SLACK_APP_TOKEN=" + fake.AppToken,
		"SLACK_API_URL=" + fake.URL,
		"ENCO_BASE_URL=" + cmp.Or(o.encoURL, sb.URL),
		"ENCO_CLIENT_ID=" + sb.ClientID,
		"ENCO_CLIENT_SECRET=" + sb.ClientSecret,
		"ENCO_M2M_API_KEY=" + sb.APIKey,
		"REDIS_URL=" + redisURL(),
		"HTTP_ADDR=" + addr,
		"PUBLIC_URL=" + p.URL,
		"CALLBACK_SECRET=" + callbackSecret,
		"POLICY_FILE=" + policy,
		"LOG_LEVEL=info",
		"LOG_FORMAT=json",
	}
	if v := os.Getenv("BENCH_BOT_GOGC"); v != "" {
		p.cmd.Env = append(p.cmd.Env, "GOGC="+v)
	}
	if os.Getenv("BENCH_PROFILE") != "" {
		port, err := freePort()
		if err != nil {
			b.Fatal(err)
		}
		p.debugAddr = "127.0.0.1:" + strconv.Itoa(port)
		p.cmd.Env = append(p.cmd.Env, "DEBUG_ADDR="+p.debugAddr)
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		b.Fatalf("start the bot: %v", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	b.Cleanup(func() { p.stop(b) })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ready := func() bool {
		select {
		case <-p.exited:
			return true
		default:
		}
		if fake.Connections() < 1 || !configured(sb) {
			return false
		}
		resp, err := http.Get(p.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if err := poll(ctx, 20*time.Millisecond, ready); err != nil {
		b.Fatalf("the bot did not get ready in 30 s\n%s", p.logTail(30))
	}
	select {
	case <-p.exited:
		b.Fatalf("the bot exited at start: %v\n%s", p.waitErr, p.logTail(30))
	default:
	}
	return p
}

// configured reports whether the bot has set its M2M callback URL.
func configured(sb *sandbox.Sandbox) bool {
	for _, r := range sb.Requests() {
		if r.Path == "/m2m/1.0.0/configure/callback" {
			return true
		}
	}
	return false
}

// stop ends the bot as an orchestrator would (SIGTERM), and kills it if it
// has not exited within 30 s.
func (p *botProc) stop(b *testing.B) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			b.Errorf("the bot exited with %v after SIGTERM\n%s", p.waitErr, p.logTail(20))
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		b.Errorf("the bot did not stop within 30 s of SIGTERM\n%s", p.logTail(20))
	}
}

// profile, when BENCH_PROFILE is set, records a CPU profile and an
// allocation profile of the bot over the next d into the system's temporary
// directory and returns a wait that ends once both are written (and logs
// where). Otherwise it does nothing.
func (p *botProc) profile(b *testing.B, name string, d time.Duration) (wait func()) {
	if p.debugAddr == "" {
		return func() {}
	}
	secs := int(d.Round(time.Second) / time.Second)
	var wg sync.WaitGroup
	for _, kind := range []struct{ endpoint, file, what string }{
		{"profile", "cpu", "CPU profile"},
		{"allocs", "allocs", "allocations"},
	} {
		wg.Go(func() {
			url := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", p.debugAddr, kind.endpoint, secs)
			path := filepath.Join(os.TempDir(), "switchboard-"+name+"."+kind.file+".pprof")
			if err := download(url, path); err != nil {
				b.Errorf("%s of the bot in %s: %v", kind.what, name, err)
				return
			}
			b.Logf("%s of the bot in %s: go tool pprof %s", kind.what, name, path)
		})
	}
	return wg.Wait
}

// download writes what url answers into path.
func download(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuTime is the CPU time (user and system) the bot has used so far.
func (p *botProc) cpuTime() (time.Duration, error) { return processCPU(p.cmd.Process.Pid) }

// processCPU is the CPU time (user and system) process pid has used so far,
// from /proc/<pid>/stat in clock ticks of 1/100 s (Linux's USER_HZ).
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count from after it.
	_, rest, ok := strings.Cut(string(data), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/<pid>/stat: %.80q", data)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime: fields 14 and 15 of stat
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/<pid>/stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// redisCPU is the CPU time the Redis server has used so far (INFO cpu).
func redisCPU(ctx context.Context, rdb *redis.Client) (time.Duration, error) {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		name, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		if name == "used_cpu_sys" || name == "used_cpu_user" {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return 0, fmt.Errorf("INFO cpu %s: %w", name, err)
			}
			total += v
		}
	}
	return time.Duration(total * float64(time.Second)), nil
}

// memory reads VmRSS and VmHWM (peak RSS) of the running bot, in bytes.
func (p *botProc) memory() (rss, peak int64, err error) { return processMemory(p.cmd.Process.Pid) }

// processMemory reads VmRSS and VmHWM (peak RSS) of process pid, in bytes.
func processMemory(pid int) (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %q", name, value)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	if rss == 0 || peak == 0 {
		return 0, 0, errors.New("no VmRSS/VmHWM in /proc/<pid>/status")
	}
	return rss, peak, sc.Err()
}

// logTail returns the last n lines the bot logged.
func (p *botProc) logTail(n int) string {
	data, _ := os.ReadFile(p.logPath)
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// logCount counts the bot's log lines that contain s.
func (p *botProc) logCount(s string) int {
	data, _ := os.ReadFile(p.logPath)
	return bytes.Count(data, []byte(s))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// poll checks cond every interval until it holds or ctx ends.
func poll(ctx context.Context, interval time.Duration, cond func() bool) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
