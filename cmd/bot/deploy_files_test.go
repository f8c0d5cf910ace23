package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

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
	for _, key := range []string{"roles:", "channels:", "directory:", "trust_profile_phone:", "mask_numbers:", "require_approval:", "call:", "limits:"} {
		if !strings.Contains(text, "\n"+key) {
			t.Errorf("policy.example.yml does not show %s", key)
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
