package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// scenarios lists every benchmark in the order of the table; BENCHMARKS.md
// is written only when all of them ran.
var scenarios = []string{"Ack", "Ingest", "IngestWrk", "CallbackToPost", "Bulk", "Fleet", "Scheduler", "Memory", "Peers"}

// row is one line of the table.
type row struct {
	scenario, measure, result, target string
	met                               string // "yes", "no" or "" (no target)
}

var results struct {
	mu   sync.Mutex
	rows []row
	ran  map[string]bool
	// notes are printed under the table (what a missed target means).
	notes []string
}

// record adds a line; target "" means the line has none, met is ignored then.
func record(scenario, measure, result, target string, met bool) {
	r := row{scenario: scenario, measure: measure, result: result, target: target}
	if target != "" {
		r.met = "no"
		if met {
			r.met = "yes"
		}
	}
	results.mu.Lock()
	defer results.mu.Unlock()
	results.rows = append(results.rows, r)
}

func note(format string, args ...any) {
	results.mu.Lock()
	defer results.mu.Unlock()
	results.notes = append(results.notes, fmt.Sprintf(format, args...))
}

// done marks a scenario as complete (all its lines recorded).
func done(scenario string) {
	results.mu.Lock()
	defer results.mu.Unlock()
	if results.ran == nil {
		results.ran = map[string]bool{}
	}
	results.ran[scenario] = true
}

// skipScenario records why a scenario could not run, marks it done (so the
// rest of a full run still writes BENCHMARKS.md, saying so) and skips it.
func skipScenario(b *testing.B, scenario, why string) {
	b.Helper()
	record(scenario, "not run: "+why, "—", "", false)
	done(scenario)
	b.Skip(scenario + ": " + why)
}

// loadBefore is the load average when the run started: other work on the
// machine skews the numbers, so the report says how busy it was.
var loadBefore string

func TestMain(m *testing.M) {
	loadBefore = loadAverage()
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	results.mu.Lock()
	rows, ran, notes := results.rows, results.ran, results.notes
	results.mu.Unlock()
	if len(rows) > 0 {
		table := markdownTable(rows, notes)
		fmt.Println()
		fmt.Print(table)
		all := true
		for _, s := range scenarios {
			all = all && ran[s]
		}
		switch {
		case code != 0:
			fmt.Println("\nBENCHMARKS.md not written: a benchmark failed.")
		case !all:
			fmt.Println("\nBENCHMARKS.md not written: only a full run (-bench .) replaces it.")
		default:
			if err := writeReport(table); err != nil {
				fmt.Fprintln(os.Stderr, "write BENCHMARKS.md:", err)
				code = 1
			} else {
				fmt.Println("\nwrote BENCHMARKS.md")
			}
		}
	}
	os.Exit(code)
}

func markdownTable(rows []row, notes []string) string {
	order := func(s string) int { return slices.Index(scenarios, s) }
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b row) int { return order(a.scenario) - order(b.scenario) })
	cells := [][]string{{"scenario", "measure", "result", "target", "met"}}
	for _, r := range rows {
		target, met := r.target, r.met
		if target == "" {
			target, met = "—", "—"
		}
		cells = append(cells, []string{r.scenario, r.measure, r.result, target, met})
	}
	width := make([]int, len(cells[0]))
	for _, line := range cells {
		for i, c := range line {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	writeLine := func(line []string) {
		for i, c := range line {
			b.WriteString("| " + c + strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)) + " ")
		}
		b.WriteString("|\n")
	}
	writeLine(cells[0])
	rule := make([]string, len(width))
	for i, w := range width {
		rule[i] = strings.Repeat("-", w)
	}
	writeLine(rule)
	for _, line := range cells[1:] {
		writeLine(line)
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

func writeReport(table string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	path := filepath.Join(root, "BENCHMARKS.md")
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.WriteFile(path, []byte(report(old, machine(), table)), 0o644)
}

// report is BENCHMARKS.md with a new table: it replaces everything in old
// but the hand-written history of profiles and fixes, which it keeps.
func report(old []byte, machine []string, table string) string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Measured by `go test -run '^$' -bench . -benchtime 1x -timeout 30m ./bench` against the real bot: the\n")
	b.WriteString("binary the Dockerfile builds, run as a separate process and configured through its\n")
	b.WriteString("environment, talking to a fake Slack and the EnCo sandbox (in the benchmark process, on\n")
	b.WriteString("loopback) and to a real Redis. See `bench/doc.go` for what each scenario does. The\n")
	b.WriteString("benchmark process shares the machine with the bot, so these numbers are a floor.\n\n")
	b.WriteString("## Machine\n\n")
	for _, l := range machine {
		b.WriteString("- " + l + "\n")
	}
	b.WriteString("\n## Results\n\n")
	b.WriteString(table)
	if i := strings.Index(string(old), "\n"+historyHeading+"\n"); i >= 0 {
		b.Write(old[i:])
	}
	return b.String()
}

// historyHeading starts the part of BENCHMARKS.md that a run keeps: what
// was profiled and fixed, with before and after.
const historyHeading = "## Profiles and fixes"

// machine describes where the benchmarks ran.
func machine() []string {
	var out []string
	out = append(out, "date: "+time.Now().UTC().Format("2006-01-02 15:04 MST"))
	cpu := "unknown"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	out = append(out, fmt.Sprintf("CPU: %s, %d logical cores available", cpu, runtime.NumCPU()))
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "MemTotal" {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
				out = append(out, fmt.Sprintf("memory: %.1f GiB", float64(kb)/(1<<20)))
				break
			}
		}
		f.Close()
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		out = append(out, fmt.Sprintf("OS: %s, Linux %s", runtime.GOOS+"/"+runtime.GOARCH, strings.TrimSpace(string(rel))))
	}
	out = append(out, fmt.Sprintf("load average (1, 5, 15 min): %s at the start, %s at the end", loadBefore, loadAverage()))
	out = append(out, "Go: "+runtime.Version())
	if v := redisVersion(); v != "" {
		out = append(out, "Redis: "+v+" on loopback (database flushed before and after each scenario)")
	}
	if build.cmd != "" {
		out = append(out, "bot built with: `"+build.cmd+"` (the Dockerfile's build command)")
	}
	if rev, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		state := ""
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
			state = " with uncommitted changes"
		}
		out = append(out, "commit: "+strings.TrimSpace(string(rev))+state)
	}
	return out
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func redisVersion() string {
	opts, err := redis.ParseURL(redisURL())
	if err != nil {
		return ""
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "redis_version:"); ok {
			return v
		}
	}
	return ""
}

func TestReportKeepsTheHistoryOfFixes(t *testing.T) {
	old := "# Benchmarks\n\n## Results\n\n| old table |\n\n" + historyHeading + "\n\nIngest: 3,149/s before, 6,933/s after.\n"
	got := report([]byte(old), []string{"CPU: test"}, "| new table |\n")
	for _, want := range []string{"- CPU: test\n", "| new table |\n", "\n" + historyHeading + "\n\nIngest: 3,149/s before, 6,933/s after.\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "old table") {
		t.Errorf("report kept the old table:\n%s", got)
	}
	if first := report(nil, nil, "| t |\n"); strings.Contains(first, historyHeading) {
		t.Errorf("a first report has a history heading:\n%s", first)
	}
}
