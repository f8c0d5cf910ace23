package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// runToItsEnd opens the bot with the fakes' configuration, changed by
// change, and runs it until Run returns by itself; it returns Run's error
// and the harness, and fails the test when Run is still going after 15 s.
func runToItsEnd(t *testing.T, change func(*Config)) (error, *harness) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	_, prefix := redistest.New(t)
	h := newFakes(t, ctx, prefix)
	ln := listenLoopback(t)
	h.cfg.HTTPAddr = ln.Addr().String()
	h.cfg.PublicURL = "http://" + h.cfg.HTTPAddr
	withPolicy(testPolicy)(h)
	change(&h.cfg)
	m := &Main{Config: h.cfg, Listener: ln, LogOutput: h.logs, KeyPrefix: prefix}
	t.Cleanup(m.Close)
	if err := m.Open(ctx); err != nil {
		return err, h
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	select {
	case err := <-done:
		return err, h
	case <-time.After(15 * time.Second):
		stop()
		<-done
		t.Fatalf("the bot still runs 15 s after start; logs:\n%s", h.logs)
		return nil, h
	}
}

// Credentials that EnCo or Slack refuse end start-up with one line naming
// the variable to fix, rather than a retry loop that never ends, and
// without repeating the credential.
func TestRefusedCredentialsEndStartUpNamingTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Config)
		want   string
		secret string
	}{
		{"permanent token EnCo refuses", func(c *Config) {
			c.EncoClientID, c.EncoClientSecret, c.EncoToken = "", "", "not-the-permanent-token"
		}, "ENCO_TOKEN: EnCo refused the permanent token", "not-the-permanent-token"},
		{"client secret EnCo refuses", func(c *Config) { c.EncoClientSecret = "not-the-client-secret" },
			"ENCO_CLIENT_ID, ENCO_CLIENT_SECRET: EnCo refused the client credentials", "not-the-client-secret"},
		{"M2M key EnCo refuses", func(c *Config) { c.EncoM2MAPIKey = "not-the-m2m-key" },
			"ENCO_M2M_API_KEY: EnCo's M2M API refused the key", "not-the-m2m-key"},
		{"app token Slack refuses", func(c *Config) { c.SlackAppToken = "xapp-not-the-app-token" },
			"SLACK_APP_TOKEN: Slack refused the app-level token (invalid_auth)", "xapp-not-the-app-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err, h := runToItsEnd(t, tt.change)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("the bot ended with %v, want an error starting %q; logs:\n%s", err, tt.want, h.logs)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q is not one line free of the credential", err)
			}
			if n := len(h.encoCalls("/m2m/1.0.0/configure/callback")); n > 1 {
				t.Errorf("EnCo was asked %d times to set the callback URL; a refusal must not be retried", n)
			}
		})
	}
}

// A missing M2M key stops the bot before it starts anything.
func TestMissingM2MKeyStopsStartUp(t *testing.T) {
	t.Parallel()
	err, h := runToItsEnd(t, func(c *Config) { c.EncoM2MAPIKey = "" })
	if err == nil || !strings.HasPrefix(err.Error(), "ENCO_M2M_API_KEY: required") {
		t.Fatalf("Open = %v, want an error naming ENCO_M2M_API_KEY", err)
	}
	if n := len(h.enco.Requests()); n != 0 {
		t.Errorf("EnCo got %d requests from a bot that should not have started", n)
	}
}

// A password Redis refuses ends start-up with one line naming REDIS_URL,
// without the password, rather than a bot that says Redis "does not
// answer" and asks everyone to try again forever.
func TestRefusedRedisPasswordStopsStartUp(t *testing.T) {
	t.Parallel()
	const password = "not-the-redis-password"
	err, h := runToItsEnd(t, func(c *Config) {
		c.RedisURL = "redis://nosuchuser:" + password + "@" + redistest.Addr(t) + "/0"
	})
	const want = "REDIS_URL: Redis refused the user name or password in it (WRONGPASS)"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("the bot ended with %v, want an error starting %q; logs:\n%s", err, want, h.logs)
	}
	if strings.Contains(err.Error(), password) || strings.Contains(h.logs.String(), password) {
		t.Errorf("the password is in the error %q or the log:\n%s", err, h.logs)
	}
	if n := len(h.enco.Requests()); n != 0 {
		t.Errorf("EnCo got %d requests from a bot that should not have started", n)
	}
}
