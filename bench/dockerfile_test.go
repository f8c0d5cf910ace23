package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// buildCommand is the `go build` of the Dockerfile's build stage.
type buildCommand struct {
	Env    []string // NAME=value assignments before `go`
	Args   []string // after `go build`, without -o and its value
	Output string   // the -o value
	Pkg    string   // the package built (the last argument)
}

// String is the command as a shell would take it.
func (c buildCommand) String() string {
	words := append(append(append([]string{}, c.Env...), "go", "build"), c.Args...)
	words = append(words, "-o", c.Output, c.Pkg)
	for i, w := range words {
		if strings.ContainsRune(w, ' ') {
			words[i] = `"` + w + `"`
		}
	}
	return strings.Join(words, " ")
}

// goArgs returns the arguments of `go` that build to out instead.
func (c buildCommand) goArgs(out string) []string {
	return append(append([]string{"build"}, c.Args...), "-o", out, c.Pkg)
}

// parseBuildCommand finds the RUN line of the Dockerfile that runs `go build`
// and splits it as a shell would (double-quoted words, NAME=value prefixes).
func parseBuildCommand(dockerfile string) (buildCommand, error) {
	var found []string
	for _, line := range strings.Split(dockerfile, "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "RUN "); ok && strings.Contains(rest, "go build") {
			found = append(found, rest)
		}
	}
	if len(found) != 1 {
		return buildCommand{}, fmt.Errorf("Dockerfile has %d RUN lines with go build, want 1", len(found))
	}
	words, err := shellWords(found[0])
	if err != nil {
		return buildCommand{}, err
	}
	var c buildCommand
	i := 0
	for ; i < len(words) && strings.Contains(words[i], "=") && words[i] != "go"; i++ {
		c.Env = append(c.Env, words[i])
	}
	if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
		return buildCommand{}, fmt.Errorf("build line %q: want [NAME=value ...] go build ...", found[0])
	}
	rest := words[i+2:]
	if len(rest) == 0 {
		return buildCommand{}, errors.New("go build names no package")
	}
	c.Pkg = rest[len(rest)-1]
	for j := 0; j < len(rest)-1; j++ {
		if rest[j] == "-o" && j+1 < len(rest)-1 {
			c.Output = rest[j+1]
			j++
			continue
		}
		c.Args = append(c.Args, rest[j])
	}
	if c.Output == "" {
		return buildCommand{}, errors.New("go build has no -o")
	}
	return c, nil
}

// shellWords splits s on spaces, keeping double-quoted parts together and
// removing the quotes, as sh does for the simple words of a RUN line.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.ContainsRune("\\$`'&|;<>()", r) && !quoted:
			return nil, fmt.Errorf("build line uses shell syntax (%q) the check does not follow: %s", r, s)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in %s", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// lastStage returns the instructions of the Dockerfile's last stage, as
// (keyword in upper case, rest of the line), in order.
func lastStage(dockerfile string) [][2]string {
	var stage [][2]string
	for _, line := range strings.Split(dockerfile, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kw, rest, _ := strings.Cut(line, " ")
		kw = strings.ToUpper(kw)
		if kw == "FROM" {
			stage = nil
		}
		stage = append(stage, [2]string{kw, strings.TrimSpace(rest)})
	}
	return stage
}

// TestDockerfileBuildsTheBot checks what CI can check without a Docker
// engine: the build stage builds cmd/bot statically, the runtime stage runs
// that binary as a non-root user, and its HEALTHCHECK uses the binary's own
// -healthcheck mode (the image has no shell or curl). The benchmarks build
// the bot with this very command.
func TestDockerfileBuildsTheBot(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	c, err := parseBuildCommand(df)
	if err != nil {
		t.Fatal(err)
	}
	if c.Pkg != "./cmd/bot" {
		t.Errorf("build stage builds %q, want ./cmd/bot", c.Pkg)
	}
	if !slices.Contains(c.Env, "CGO_ENABLED=0") {
		t.Errorf("build stage env %v lacks CGO_ENABLED=0; the distroless static image has no libc", c.Env)
	}

	// The package the Dockerfile names resolves, with its environment, to the bot's main package.
	list := exec.Command("go", "list", "-f", "{{.Name}} {{.ImportPath}}", c.Pkg)
	list.Dir = root
	list.Env = append(os.Environ(), c.Env...)
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", c.Pkg, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "main github.com/switchboard-bot/switchboard/cmd/bot" {
		t.Errorf("go list %s = %q, want the bot's main package", c.Pkg, got)
	}

	var copied, entrypoint, user, healthcheck string
	for _, in := range lastStage(df) {
		switch in[0] {
		case "COPY":
			if strings.HasPrefix(in[1], "--from=build ") {
				f := strings.Fields(in[1])
				if len(f) == 3 && f[1] == c.Output {
					copied = f[2]
				}
			}
		case "ENTRYPOINT":
			entrypoint = in[1]
		case "USER":
			user = in[1]
		case "HEALTHCHECK":
			healthcheck = in[1]
		}
	}
	if copied == "" {
		t.Fatalf("runtime stage does not COPY --from=build %s", c.Output)
	}
	if want := fmt.Sprintf(`["%s"]`, copied); entrypoint != want {
		t.Errorf("ENTRYPOINT %s, want %s (the binary the build stage made)", entrypoint, want)
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q, want a non-root user", user)
	}
	if want := fmt.Sprintf(`CMD ["%s", "-healthcheck"]`, copied); !strings.HasSuffix(healthcheck, want) {
		t.Errorf("HEALTHCHECK %q, want it to end with %s", healthcheck, want)
	}
}

func TestParseBuildCommand(t *testing.T) {
	tests := []struct {
		name, line string
		want       string // String() of the result, or "" for an error
	}{
		{"env and quotes", `RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/bot ./cmd/bot`,
			`CGO_ENABLED=0 GOOS=linux go build -trimpath "-ldflags=-s -w" -o /out/bot ./cmd/bot`},
		{"plain", `RUN go build -o /bot ./cmd/bot`, `go build -o /bot ./cmd/bot`},
		{"no output", `RUN go build ./cmd/bot`, ""},
		{"shell syntax", `RUN go build -o /bot ./cmd/bot && strip /bot`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseBuildCommand("FROM x\n" + tt.line + "\n")
			if tt.want == "" {
				if err == nil {
					t.Errorf("parse %q = %s, want an error", tt.line, c)
				}
				return
			}
			if err != nil || c.String() != tt.want {
				t.Errorf("parse %q = %q, %v; want %q", tt.line, c, err, tt.want)
			}
		})
	}
}
