package main

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/state"
)

// envNames lists every variable of the operator contract (design.md).
var envNames = []string{
	"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL", "ENCO_BASE_URL", "ENCO_TOKEN_URL",
	"ENCO_CLIENT_ID", "ENCO_CLIENT_SECRET", "ENCO_TOKEN", "ENCO_M2M_API_KEY", "ENCO_SANDBOX",
	"REDIS_URL", "HTTP_ADDR", "PUBLIC_URL", "CALLBACK_SECRET", "POLICY_FILE", "NOTIFY_CHANNEL",
	"SLACK_POST_INTERVAL", "BULK_THRESHOLD", "AUDIT_MAX_ENTRIES", "AUDIT_MAX_AGE", "DEBUG_ADDR", "LOG_LEVEL", "LOG_FORMAT", "LOG_FLUSH_INTERVAL",
}

func clearEnv(t *testing.T) {
	for _, n := range envNames {
		t.Setenv(n, "") // restores the variable after the test
		os.Unsetenv(n)
	}
}

func TestUsageListsEveryVariable(t *testing.T) {
	var b bytes.Buffer
	PrintUsage(&b)
	for _, n := range envNames {
		if !strings.Contains(b.String(), n) {
			t.Errorf("usage does not mention %s:\n%s", n, b.String())
		}
	}
	for _, want := range []string{"https://slack.com/api/", ":8080", "json"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("usage does not show the default %q", want)
		}
	}
}

// The environment's default audit size is the store's own: a store made
// without the setting keeps as much as the bot does.
func TestAuditDefaultIsTheStores(t *testing.T) {
	clearEnv(t)
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.AuditMaxEntries != state.DefaultAuditMaxLen {
		t.Errorf("AUDIT_MAX_ENTRIES default: got %d, want state.DefaultAuditMaxLen (%d)", c.AuditMaxEntries, state.DefaultAuditMaxLen)
	}
	c.AuditMaxEntries = 0
	if err := c.Validate(true); err != nil {
		t.Fatal(err)
	}
	if c.AuditMaxEntries != state.DefaultAuditMaxLen {
		t.Errorf("AUDIT_MAX_ENTRIES=0: got %d, want state.DefaultAuditMaxLen (%d)", c.AuditMaxEntries, state.DefaultAuditMaxLen)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	clearEnv(t)
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{SlackAPIURL: "https://slack.com/api/", EncoBaseURL: "https://api.enco.io", HTTPAddr: ":8080", LogLevel: "info", LogFormat: "json",
		AuditMaxEntries: 100000, AuditMaxAge: 90 * 24 * time.Hour, SlackPostInterval: 1100 * time.Millisecond, BulkThreshold: 20, EncoM2MBatch: 500, EncoM2MRate: 5, LogFlushInterval: 50 * time.Millisecond, EncoVoice: "on"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults = %+v, want %+v", c, want)
	}
	if err := c.Validate(true); err != nil {
		t.Errorf("console mode needs no variable, got %v", err)
	}
	if c.EncoTokenURL != "https://api.enco.io/token" {
		t.Errorf("ENCO_TOKEN_URL default = %q, want ENCO_BASE_URL/token", c.EncoTokenURL)
	}
}

func TestLoadConfigMalformedNamesTheVariable(t *testing.T) {
	clearEnv(t)
	t.Setenv("ENCO_SANDBOX", "yes please")
	_, err := LoadConfig()
	if err == nil || !strings.HasPrefix(err.Error(), "ENCO_SANDBOX:") || strings.Contains(err.Error(), "yes please") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error = %v, want one line naming ENCO_SANDBOX without echoing the value", err)
	}
}

func TestValidateNamesTheVariable(t *testing.T) {
	good := Config{
		SlackBotToken: "xoxb-1", SlackAppToken: "xapp-1", SlackAPIURL: "https://slack.com/api/",
		EncoBaseURL: "https://api.enco.io", EncoClientID: "id", EncoClientSecret: "secret-value",
		EncoM2MAPIKey: "m2m-key", PublicURL: "https://bot.example.com", CallbackSecret: "0123456789abcdef0123", HTTPAddr: ":8080",
		LogLevel: "info", LogFormat: "json", AuditMaxEntries: 10,
	}
	if err := good.Validate(false); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no bot token", func(c *Config) { c.SlackBotToken = "" }, "SLACK_BOT_TOKEN:"},
		{"user token as bot token", func(c *Config) { c.SlackBotToken = "xoxp-1" }, "SLACK_BOT_TOKEN:"},
		{"no app token", func(c *Config) { c.SlackAppToken = "" }, "SLACK_APP_TOKEN:"},
		{"api url without slash", func(c *Config) { c.SlackAPIURL = "https://slack.com/api" }, "SLACK_API_URL:"},
		{"no credentials", func(c *Config) { c.EncoClientID = "" }, "ENCO_CLIENT_ID:"},
		{"no m2m api key", func(c *Config) { c.EncoM2MAPIKey = "" }, "ENCO_M2M_API_KEY:"},
		{"no public url", func(c *Config) { c.PublicURL = "" }, "PUBLIC_URL:"},
		{"bad public url", func(c *Config) { c.PublicURL = "bot.example.com" }, "PUBLIC_URL:"},
		{"no callback secret", func(c *Config) { c.CallbackSecret = "" }, "CALLBACK_SECRET:"},
		{"short callback secret", func(c *Config) { c.CallbackSecret = "abc" }, "CALLBACK_SECRET:"},
		{"bad redis url", func(c *Config) { c.RedisURL = "localhost:6379" }, "REDIS_URL:"},
		{"channel name instead of id", func(c *Config) { c.NotifyChannel = "#ops" }, "NOTIFY_CHANNEL:"},
		{"negative audit entries", func(c *Config) { c.AuditMaxEntries = -1 }, "AUDIT_MAX_ENTRIES:"},
		{"bad log level", func(c *Config) { c.LogLevel = "loud" }, "LOG_LEVEL:"},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, "LOG_FORMAT:"},
		{"voice neither on nor off", func(c *Config) { c.EncoVoice = "false" }, "ENCO_VOICE:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			err := c.Validate(false)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error starting with %s", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), "secret-value") || strings.Contains(err.Error(), "0123456789abcdef0123")) {
				t.Errorf("error %q repeats a secret", err)
			}
		})
	}
	// The sandbox needs neither EnCo credentials nor a public URL.
	c := good
	c.EncoSandbox, c.EncoClientID, c.EncoM2MAPIKey, c.PublicURL, c.CallbackSecret = true, "", "", "", ""
	if err := c.Validate(false); err != nil {
		t.Errorf("sandbox config refused: %v", err)
	}
}
