package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/permissions"
)

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBotEnvExampleNamesEveryVariable checks that bot.env.example has a
// line for every variable Config reads, each under a comment saying what it
// is for.
func TestBotEnvExampleNamesEveryVariable(t *testing.T) {
	lines := strings.Split(readRepoFile(t, "bot.env.example"), "\n")
	typ := reflect.TypeOf(Config{})
	for i := range typ.NumField() {
		name := typ.Field(i).Tag.Get("envconfig")
		at := slices.IndexFunc(lines, func(l string) bool {
			return strings.HasPrefix(strings.TrimPrefix(l, "# "), name+"=")
		})
		if at < 0 {
			t.Errorf("bot.env.example has no line %s=…", name)
			continue
		}
		// The comment above it: skip the variables it shares it with.
		j := at - 1
		for j >= 0 && strings.Contains(lines[j], "=") && !strings.HasPrefix(lines[j], "# ") {
			j--
		}
		for j >= 0 && strings.HasPrefix(lines[j], "# ") && strings.Contains(strings.SplitN(lines[j], " ", 3)[1], "=") {
			j--
		}
		if j < 0 || !strings.HasPrefix(lines[j], "#") {
			t.Errorf("bot.env.example: %s has no comment above it", name)
		}
	}
}

// TestPolicyExampleParses checks that policy.example.yml is a valid policy
// that uses every setting.
func TestPolicyExampleParses(t *testing.T) {
	text := readRepoFile(t, "policy.example.yml")
	if _, err := permissions.Parse([]byte(text), commands.Names()); err != nil {
		t.Fatalf("policy.example.yml: %v", err)
	}
	for _, key := range []string{"roles:", "channels:", "directory:", "trust_profile_phone:", "mask_numbers:", "require_approval:", "approvals:", "call:", "limits:"} {
		if !strings.Contains(text, "\n"+key) {
			t.Errorf("policy.example.yml does not show %s", key)
		}
	}
	for _, key := range []string{"required:", "approvers:", "channel:", "expires:", "targets_over:"} {
		if !strings.Contains(text, "\n    "+key) {
			t.Errorf("policy.example.yml shows no approval rule with %s", key)
		}
	}
}

// TestSecretsStayOutOfRepoAndImage checks that the files holding secrets and
// site decisions are ignored by git and left out of the Docker build context.
func TestSecretsStayOutOfRepoAndImage(t *testing.T) {
	for _, file := range []string{".gitignore", ".dockerignore"} {
		lines := strings.Split(readRepoFile(t, file), "\n")
		for _, name := range []string{"bot.env", "policy.yml"} {
			if !slices.Contains(lines, name) {
				t.Errorf("%s does not list %s", file, name)
			}
		}
	}
}

// TestReadmePolicyParses checks that the policy the README's policy section
// shows is one the bot reads.
func TestReadmePolicyParses(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	_, section, ok := strings.Cut(readme, "\n## The policy file\n")
	if !ok {
		t.Fatal("README.md has no section \"The policy file\"")
	}
	_, block, ok := strings.Cut(section, "\n```yaml\n")
	if !ok {
		t.Fatal("the policy section shows no YAML")
	}
	block, _, _ = strings.Cut(block, "\n```")
	if _, err := permissions.Parse([]byte(block), commands.Names()); err != nil {
		t.Errorf("the README's policy: %v", err)
	}
	if !strings.Contains(block, "\napprovals:") {
		t.Error("the README's policy shows no approval rules")
	}
}

// composeFile is the part of a compose file TestComposeFilesKeepBotsBehindTLS reads.
type composeFile struct {
	Services map[string]struct {
		Image       string
		Environment map[string]string
		Ports       []string
		Volumes     []string
	}
}

// TestComposeFilesKeepBotsBehindTLS checks that each compose file publishes
// only Caddy to the world: every bot's HTTP_ADDR stays inside the network
// and is reached through a Caddyfile that passes /callbacks/* to it, its
// PUBLIC_URL is HTTPS, and its /metrics is on METRICS_ADDR, published on
// loopback only.
func TestComposeFilesKeepBotsBehindTLS(t *testing.T) {
	for _, file := range []string{"docker-compose.yml", "docker-compose.sentinel.yml"} {
		t.Run(file, func(t *testing.T) {
			var c composeFile
			if err := yaml.Unmarshal([]byte(readRepoFile(t, file)), &c); err != nil {
				t.Fatal(err)
			}
			var bots []string
			for name, s := range c.Services {
				if s.Image != "switchboard:latest" {
					continue
				}
				bots = append(bots, name)
				if s.Environment["METRICS_ADDR"] == "" {
					t.Errorf("%s: METRICS_ADDR is unset, so /metrics is served on the callback port", name)
				}
				if !strings.HasPrefix(s.Environment["PUBLIC_URL"], "https://") {
					t.Errorf("%s: PUBLIC_URL = %q, want https://…", name, s.Environment["PUBLIC_URL"])
				}
				for _, p := range s.Ports {
					if !strings.HasPrefix(p, "127.0.0.1:") {
						t.Errorf("%s publishes %q on every interface; only loopback is allowed", name, p)
					}
					if strings.HasSuffix(p, ":8080") {
						t.Errorf("%s publishes its HTTP_ADDR (%q); EnCo reaches it through Caddy", name, p)
					}
				}
			}
			if len(bots) == 0 {
				t.Fatal("no bot service (image switchboard:latest)")
			}
			caddy, ok := c.Services["caddy"]
			if !ok {
				t.Fatal("no caddy service in front of the bots")
			}
			if !slices.Contains(caddy.Ports, "443:443") || !slices.Contains(caddy.Ports, "80:80") {
				t.Errorf("caddy publishes %v, want 80:80 and 443:443", caddy.Ports)
			}
			var caddyfile string
			for _, v := range caddy.Volumes {
				if src, dst, _ := strings.Cut(v, ":"); strings.HasPrefix(dst, "/etc/caddy/Caddyfile") {
					caddyfile = readRepoFile(t, strings.TrimPrefix(src, "./"))
				}
			}
			if !strings.Contains(caddyfile, "handle /callbacks/*") || !strings.Contains(caddyfile, "respond 404") {
				t.Errorf("the Caddyfile caddy mounts does not pass /callbacks/* alone:\n%s", caddyfile)
			}
			for _, bot := range bots {
				if !strings.Contains(caddyfile, bot+":8080") {
					t.Errorf("the Caddyfile caddy mounts does not pass callbacks to %s:8080", bot)
				}
			}
		})
	}
}

// TestREADMENamesTheGoVersion checks that the README's prerequisites name
// the Go version go.mod requires.
func TestREADMENamesTheGoVersion(t *testing.T) {
	var version string
	for _, line := range strings.Split(readRepoFile(t, "go.mod"), "\n") {
		if v, ok := strings.CutPrefix(line, "go "); ok {
			version = strings.TrimSpace(v)
		}
	}
	if version == "" {
		t.Fatal("go.mod has no go line")
	}
	readme := readRepoFile(t, "README.md")
	_, prereq, _ := strings.Cut(readme, "## Before you start")
	prereq, _, _ = strings.Cut(prereq, "\n## ")
	if !strings.Contains(prereq, "Go "+version+" or later") {
		t.Errorf("README's \"Before you start\" does not name Go %s or later (go.mod):\n%s", version, prereq)
	}
}
