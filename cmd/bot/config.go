package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/switchboard-bot/switchboard/state"
)

// Config is the bot's whole configuration, read once from the environment.
// The variable names are the bot's public interface (see the README).
type Config struct {
	SlackBotToken     string        `envconfig:"SLACK_BOT_TOKEN" desc:"bot token (xoxb-…); required in Slack mode"`
	SlackAppToken     string        `envconfig:"SLACK_APP_TOKEN" desc:"app-level token (xapp-…) for socket mode; required in Slack mode"`
	SlackAPIURL       string        `envconfig:"SLACK_API_URL" default:"https://slack.com/api/" desc:"Slack Web API base URL (ends with /)"`
	EncoBaseURL       string        `envconfig:"ENCO_BASE_URL" default:"https://api.enco.io" desc:"EnCo API base URL"`
	EncoTokenURL      string        `envconfig:"ENCO_TOKEN_URL" desc:"OAuth2 token URL (default: ENCO_BASE_URL/token)"`
	EncoClientID      string        `envconfig:"ENCO_CLIENT_ID" desc:"OAuth2 client id"`
	EncoClientSecret  string        `envconfig:"ENCO_CLIENT_SECRET" desc:"OAuth2 client secret"`
	EncoToken         string        `envconfig:"ENCO_TOKEN" desc:"a permanent EnCo token, instead of client credentials"`
	EncoM2MAPIKey     string        `envconfig:"ENCO_M2M_API_KEY" desc:"M2M Cockpit API key (x-api-key); required unless sandbox"`
	EncoVoice         string        `envconfig:"ENCO_VOICE" default:"on" desc:"off: switch /call off, for an account without EnCo's Voice Call-out API (EnCo labels it retired); /call then says so and calls nothing"`
	EncoM2MBatch      int           `envconfig:"ENCO_M2M_BATCH" default:"500" desc:"most SIM cards in one M2M request; larger changes go as several requests"`
	EncoM2MRate       float64       `envconfig:"ENCO_M2M_RATE" default:"5" desc:"most M2M requests a second, all replicas together"`
	EncoSandbox       bool          `envconfig:"ENCO_SANDBOX" default:"false" desc:"true: run the built-in EnCo sandbox in process and use it"`
	RedisURL          string        `envconfig:"REDIS_URL" desc:"Redis URL (redis:// or rediss://; with ?master_name=…, the sentinels of a Sentinel-managed primary); unset: embedded in-memory store (one replica, nothing kept)"`
	HTTPAddr          string        `envconfig:"HTTP_ADDR" default:":8080" desc:"listen address of the callback, health and metrics server"`
	PublicURL         string        `envconfig:"PUBLIC_URL" desc:"externally reachable base URL of that server, for callback URLs; required unless sandbox"`
	CallbackSecret    string        `envconfig:"CALLBACK_SECRET" desc:"secret EnCo sends back on M2M callbacks; required unless sandbox"`
	PolicyFile        string        `envconfig:"POLICY_FILE" desc:"path of the roles and permissions YAML; unset: deny everything but help"`
	NotifyChannel     string        `envconfig:"NOTIFY_CHANNEL" desc:"channel ID that also receives every callback result"`
	SlackPostInterval time.Duration `envconfig:"SLACK_POST_INTERVAL" default:"1100ms" desc:"least time between two posts to one Slack channel, across replicas"`
	BulkThreshold     int           `envconfig:"BULK_THRESHOLD" default:"20" desc:"changes with more targets than this reply in the thread only for failures"`
	AuditMaxEntries   int64         `envconfig:"AUDIT_MAX_ENTRIES" default:"100000" desc:"audit stream: entries kept at most"`
	AuditMaxAge       time.Duration `envconfig:"AUDIT_MAX_AGE" default:"2160h" desc:"audit stream: entries older than this are dropped (0 keeps them)"`
	MetricsAddr       string        `envconfig:"METRICS_ADDR" desc:"listen address of /metrics on its own listener, e.g. 127.0.0.1:9090; unset: /metrics is served on HTTP_ADDR"`
	DebugAddr         string        `envconfig:"DEBUG_ADDR" desc:"listen address of the Go profiler (net/http/pprof), e.g. 127.0.0.1:6060; unset: off. Never expose it"`
	LogLevel          string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat         string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or text"`
	LogFlushInterval  time.Duration `envconfig:"LOG_FLUSH_INTERVAL" default:"50ms" desc:"log lines are written out together at most this long after they happen (0: each at once)"`
}

// LoadConfig reads the environment. A malformed value is reported in one line
// naming the variable; the value itself is not repeated (it may be a secret).
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return c, fmt.Errorf("%s: not a valid %s", pe.KeyName, pe.TypeName)
		}
		return c, err
	}
	return c, nil
}

// Validate checks what the chosen mode needs. console relaxes the Slack
// and EnCo requirements (it uses neither).
func (c *Config) Validate(console bool) error {
	if c.EncoTokenURL == "" {
		c.EncoTokenURL = strings.TrimRight(c.EncoBaseURL, "/") + "/token"
	}
	if !console {
		if c.SlackBotToken == "" {
			return errors.New("SLACK_BOT_TOKEN: required (the bot token, xoxb-…); or run with -console to try the bot without Slack")
		}
		if !strings.HasPrefix(c.SlackBotToken, "xoxb-") {
			return errors.New("SLACK_BOT_TOKEN: must be a bot token starting with xoxb-")
		}
		if c.SlackAppToken == "" {
			return errors.New("SLACK_APP_TOKEN: required (the app-level token, xapp-…, with connections:write)")
		}
		if !strings.HasPrefix(c.SlackAppToken, "xapp-") {
			return errors.New("SLACK_APP_TOKEN: must be an app-level token starting with xapp-")
		}
		if !strings.HasSuffix(c.SlackAPIURL, "/") {
			return errors.New("SLACK_API_URL: must end with /")
		}
		if err := checkURL("SLACK_API_URL", c.SlackAPIURL); err != nil {
			return err
		}
	}
	if !c.EncoSandbox && !console {
		if err := checkURL("ENCO_BASE_URL", c.EncoBaseURL); err != nil {
			return err
		}
		if err := checkURL("ENCO_TOKEN_URL", c.EncoTokenURL); err != nil {
			return err
		}
		if c.EncoToken == "" && (c.EncoClientID == "" || c.EncoClientSecret == "") {
			return errors.New("ENCO_CLIENT_ID: required with ENCO_CLIENT_SECRET (or set ENCO_TOKEN, or ENCO_SANDBOX=true)")
		}
		if c.EncoM2MAPIKey == "" {
			return errors.New("ENCO_M2M_API_KEY: required (the M2M Cockpit API key, sent as x-api-key; the bot sets its callback URL with it at start), unless ENCO_SANDBOX=true")
		}
		if c.PublicURL == "" {
			return errors.New("PUBLIC_URL: required (the URL EnCo reaches this bot's HTTP_ADDR at), unless ENCO_SANDBOX=true")
		}
		if c.CallbackSecret == "" {
			return errors.New("CALLBACK_SECRET: required (a long random string EnCo sends back on callbacks), unless ENCO_SANDBOX=true")
		}
		if len(c.CallbackSecret) < 16 {
			return errors.New("CALLBACK_SECRET: too short; use at least 16 random characters")
		}
	}
	switch strings.ToLower(c.EncoVoice) {
	case "", "on", "off":
	default:
		return errors.New("ENCO_VOICE: must be on or off")
	}
	if c.PublicURL != "" {
		if err := checkURL("PUBLIC_URL", c.PublicURL); err != nil {
			return err
		}
	}
	if c.RedisURL != "" {
		if _, _, err := parseRedisURL(c.RedisURL); err != nil {
			return err
		}
	}
	if c.NotifyChannel != "" && !isChannelID(c.NotifyChannel) {
		return errors.New("NOTIFY_CHANNEL: must be a channel ID like C0123456789 (not a #name)")
	}
	if c.SlackPostInterval < 0 {
		return errors.New("SLACK_POST_INTERVAL: must not be negative")
	}
	if c.EncoM2MBatch < 0 {
		return errors.New("ENCO_M2M_BATCH: must be at least 1 (0 means the default, 500)")
	}
	if c.EncoM2MRate < 0 {
		return errors.New("ENCO_M2M_RATE: must be more than 0 (0 means the default, 5)")
	}
	if c.BulkThreshold < 0 {
		return errors.New("BULK_THRESHOLD: must not be negative")
	}
	if c.AuditMaxEntries < 0 {
		return errors.New("AUDIT_MAX_ENTRIES: must not be negative")
	}
	if c.AuditMaxEntries == 0 {
		c.AuditMaxEntries = state.DefaultAuditMaxLen
	}
	if c.AuditMaxAge < 0 {
		return errors.New("AUDIT_MAX_AGE: must not be negative")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.LogFlushInterval < 0 {
		return errors.New("LOG_FLUSH_INTERVAL: must not be negative")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return errors.New("LOG_FORMAT: must be json or text")
	}
	return nil
}

// VoiceOff reports whether ENCO_VOICE switches /call off.
func (c *Config) VoiceOff() bool { return strings.EqualFold(c.EncoVoice, "off") }

func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: must be an http(s) URL", name)
	}
	return nil
}

func isChannelID(s string) bool {
	if len(s) < 9 || (s[0] != 'C' && s[0] != 'G') {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, errors.New("LOG_LEVEL: must be debug, info, warn or error")
	}
	return l, nil
}

// PrintUsage writes every variable with its default and meaning.
func PrintUsage(w io.Writer) {
	tw := tabwriter.NewWriter(w, 1, 0, 2, ' ', 0)
	fmt.Fprintln(w, "Switchboard reads its configuration from these environment variables:")
	fmt.Fprintln(w)
	_ = envconfig.Usagef("", &Config{}, tw, "VARIABLE\tDEFAULT\tMEANING\n{{range .}}{{usage_key .}}\t{{if usage_default .}}{{usage_default .}}{{else}}-{{end}}\t{{usage_description .}}\n{{end}}")
	tw.Flush()
}
