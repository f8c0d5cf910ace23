package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/console"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/fleet"
	"github.com/switchboard-bot/switchboard/metrics"
	"github.com/switchboard-bot/switchboard/notify"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
	"github.com/switchboard-bot/switchboard/slacksocket"
	"github.com/switchboard-bot/switchboard/state"
)

// Main is the whole bot: Open wires it from Config, Run serves until its
// context ends, Close releases what Open took. Tests run this very type.
type Main struct {
	Config  Config
	Console bool
	// Stdin and Stdout are the console's terminal.
	Stdin  io.Reader
	Stdout io.Writer
	// ConsoleFiles is the directory where the console writes the files the
	// bot would attach in Slack (full lists); "" means switchboard-console
	// under the system's temporary directory.
	ConsoleFiles string
	// LogOutput receives the structured log (stderr when nil). In console
	// mode a nil LogOutput means a log file in ConsoleLogDir, so that the
	// terminal shows messages only; the console says where it is.
	LogOutput io.Writer
	// ConsoleLogDir is where the console's log file goes (os.TempDir() when empty).
	ConsoleLogDir string
	// ConsoleUser is who the console acts as at start: @name or a Slack user
	// ID (the -user flag); empty means @you.
	ConsoleUser string
	// KeyPrefix prefixes every Redis key (default "sb:"); tests use their own.
	KeyPrefix string
	// RouteRedisLog sends go-redis's own messages (a sentinel naming a new
	// primary, a pool failing to dial), which it writes through a logger
	// of the whole process, to this bot's log rather than as bare lines on
	// stderr. The command's one bot sets it.
	RouteRedisLog bool
	// Listener, when set, is the HTTP server's listener, bound by the caller
	// (tests bind 127.0.0.1:0 and so know the address before the bot
	// starts); nil means the bot listens on HTTP_ADDR.
	Listener net.Listener
	// Commands, when set, adjusts the commands' configuration before they
	// are wired (tests: a clock, a short approval deadline).
	Commands func(*commands.Config)

	Log      *slog.Logger
	Store    *state.Store
	Router   *commands.Router
	Server   *notify.Server
	Receiver *notify.Receiver
	Sandbox  *sandbox.Sandbox // when ENCO_SANDBOX=true or in console mode
	Enco     *enco.Client
	Metrics  *metrics.Metrics

	redis     *redis.Client
	reach     *redisReach
	embedded  *miniredis.Miniredis
	socket    *commands.Socket
	deliverer *slackpost.Deliverer
	expirer   *notify.Expirer
	scheduler *commands.Scheduler
	sender    *fleet.Sender
	console   *console.Console
	slackAPI  *slack.Client
	debug     *sideServer // when DEBUG_ADDR is set
	metrics   *sideServer // when METRICS_ADDR is set
	logBuf    *lineBuffer // when LOG_FLUSH_INTERVAL is set
	logFile   *os.File    // the console's log file
	closeOnce sync.Once
}

// Open wires the bot: logger, Redis, policy, EnCo client (or sandbox), the
// HTTP server (bound, not yet serving), Slack or the console.
func (m *Main) Open(ctx context.Context) error {
	c := &m.Config
	if err := c.Validate(m.Console); err != nil {
		return err
	}
	if m.Console {
		c.HTTPAddr = "127.0.0.1:0" // callbacks come from the in-process sandbox only
	}
	if err := m.openLog(); err != nil {
		return err
	}
	if err := m.openRedis(ctx); err != nil {
		return err
	}

	policy, err := m.loadPolicy()
	if err != nil {
		return err
	}

	if c.EncoSandbox || m.Console {
		sb, err := sandbox.Start("127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("start EnCo sandbox: %w", err)
		}
		m.Sandbox = sb
		c.EncoBaseURL, c.EncoTokenURL = sb.URL, strings.TrimRight(sb.URL, "/")+"/token"
		c.EncoClientID, c.EncoClientSecret, c.EncoToken, c.EncoM2MAPIKey = sb.ClientID, sb.ClientSecret, "", sb.APIKey
		if c.CallbackSecret == "" {
			c.CallbackSecret = state.NewHex(24)
		}
		if !m.Console { // the console says so in its banner
			m.Log.Warn("using the built-in EnCo sandbox: no real SIM card, number or call is touched", "url", sb.URL)
		}
	}
	var ts = enco.StaticTokenSource(c.EncoToken)
	if c.EncoToken == "" {
		ts = enco.NewTokenSource(context.WithoutCancel(ctx), c.EncoTokenURL, c.EncoClientID, c.EncoClientSecret, nil)
	}
	m.Metrics = metrics.New(metrics.Sources{
		QueueDepth:        m.Store.QueueDepth,
		PendingOperations: m.Store.PendingOperations,
		// Read at scrape time, once Open has made the socket.
		SocketConnected: func() bool { return m.socket != nil && m.socket.Connected() },
		RedisPing:       m.Store.Ping,
	}, commands.Names()...)
	m.Enco = &enco.Client{BaseURL: c.EncoBaseURL, HTTPClient: enco.NewHTTPClient(ts, nil), APIKey: c.EncoM2MAPIKey, Observe: m.Metrics.ObserveEnco}

	m.Receiver = &notify.Receiver{Store: m.Store, Secret: c.CallbackSecret, NotifyChannel: c.NotifyChannel, BulkThreshold: c.BulkThreshold, MaskNumbers: policy.MaskNumbers(), Log: m.Log, OnCallback: m.Metrics.OnCallback}
	m.Server = &notify.Server{Addr: c.HTTPAddr, Listener: m.Listener, Receiver: m.Receiver, Ready: m.Store.Ping, Log: m.Log}
	if c.MetricsAddr == "" {
		m.Server.Metrics = m.Metrics.Handler()
	}
	if err := m.Server.Open(); err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	if c.MetricsAddr != "" {
		ms, err := listenMetrics(c.MetricsAddr, m.Metrics.Handler())
		if err != nil {
			return err
		}
		m.metrics = ms
	}
	if c.DebugAddr != "" {
		d, err := listenDebug(c.DebugAddr)
		if err != nil {
			return err
		}
		m.debug = d
	}
	if c.PublicURL == "" {
		c.PublicURL = m.Server.URL()
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")

	var sl, routerSlack slackpost.Slack
	var steps interface {
		slackpost.Steps
		commands.DirectMessages
	}
	var groups permissions.Groups
	var phones permissions.ProfilePhones
	var people commands.People
	var home commands.HomePublisher
	var views commands.Views
	var files commands.SharedFiles
	if m.Console {
		if err := m.openConsole(); err != nil {
			return err
		}
		sl = m.console
		routerSlack = sl
		steps = m.console
		home = m.console
		views, files = m.console, m.console
	} else {
		// Every Web API call goes through the counting transport, so that a
		// 429 is counted whichever part of the bot made the call.
		webAPI := &http.Client{Transport: m.Metrics.SlackTransport(nil, c.SlackAPIURL)}
		m.slackAPI = slack.New(c.SlackBotToken, slack.OptionAPIURL(c.SlackAPIURL), slack.OptionAppLevelToken(c.SlackAppToken), slack.OptionHTTPClient(webAPI))
		api := &slackpost.SlackAPI{Client: m.slackAPI, APIURL: c.SlackAPIURL, Token: c.SlackBotToken,
			// Its own calls (response URLs, completing workflow steps) are counted too.
			HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: webAPI.Transport}}
		sl, steps = api, api
		groups = api
		// The router's own posts (an operation's first message) keep the
		// channel's pace too; the deliverer paces its posts itself.
		routerSlack = slackpost.PacedSlack{Slack: sl, Pacer: m.Store, Interval: c.SlackPostInterval}
		users := slackpost.NewProfiles(m.slackAPI)
		phones, people = users, users
		home = api
		views, files = api, api
	}

	var voice commands.VoiceAPI = m.Enco
	if c.VoiceOff() {
		voice = nil // /call says it is switched off
		m.Log.Info("ENCO_VOICE=off: /call is switched off")
	}
	checker := permissions.NewChecker(policy, groups)
	cfg := commands.Config{
		Checker:       checker,
		ApprovalRules: checker,
		Policy:        policy,
		State:         commands.Stores{AuditTrail: m.Store, Confirmations: m.Store, Operations: m.Store, Results: m.Store, Counters: m.Store, DirectoryOverrides: m.Store, NumberFreezes: m.Store, Schedules: m.Store, Approvals: m.Store},
		EnCo:          commands.EnCo{SIM: m.Enco, FMU: m.Enco, Voice: voice, Numbers: m.Enco},
		Slack:         commands.SlackParts{Slack: routerSlack, DMs: steps, Links: steps, Home: home, People: people},
		Directory:     permissions.NewDirectory(policy, m.Store, phones),
		Callbacks:     m.Receiver,
		PublicURL:     c.PublicURL,
		Log:           m.Log,
		Settings: commands.Settings{
			MaxTargets:  policy.MaxTargets(),
			MaskNumbers: policy.MaskNumbers(),
			OnAck:       m.Metrics.OnAck,
			OnCommand:   m.Metrics.OnCommand,
			OnUnaudited: m.Metrics.OnUnaudited,
		},
	}
	m.sender = &fleet.Sender{
		Store: m.Store, EnCo: m.Enco, Callbacks: m.Receiver, Owner: consumerName(),
		Batch: c.EncoM2MBatch, Rate: c.EncoM2MRate, PerCard: c.BulkThreshold,
		Rules:       render.PostRules{NotifyChannel: c.NotifyChannel, BulkThreshold: c.BulkThreshold},
		MaskNumbers: policy.MaskNumbers(), Log: m.Log,
	}
	cfg.Fleet = commands.Fleet{Sender: m.sender, Views: views, Files: files, MaxTargets: policy.MaxBulkTargets}
	if m.Commands != nil {
		m.Commands(&cfg)
	}
	m.Router = commands.New(cfg)
	m.scheduler = m.Router.Scheduler()
	m.scheduler.OnChange = m.Metrics.OnScheduledChange
	m.expirer = &notify.Expirer{Store: m.Store, MaskNumbers: policy.MaskNumbers(), NotifyChannel: c.NotifyChannel, Log: m.Log, OnExpired: m.Metrics.OnExpired}
	m.deliverer = &slackpost.Deliverer{Store: m.Store, Slack: sl, Steps: steps, Report: commands.FleetReport, Consumer: consumerName(), PaceInterval: c.SlackPostInterval, MaskNumbers: policy.MaskNumbers(), Log: m.Log, OnPost: m.Metrics.OnPost}
	if m.Console {
		m.deliverer.Block = 200 * time.Millisecond
		m.deliverer.PaceInterval = 0 // a terminal has no rate limit
	} else {
		client := slacksocket.New(m.slackAPI)
		client.Log = m.Log
		m.socket = &commands.Socket{Router: m.Router, Client: client, Acks: m.Store}
		m.socket.OnEvent(slackevents.FunctionExecuted, m.Router.OnFunctionExecuted)
		m.socket.OnEvent(slackevents.AppHomeOpened, func(ctx context.Context, e slackevents.EventsAPIEvent) {
			if ev, ok := e.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok && ev.Tab == "home" {
				m.Router.AppHomeOpened(ctx, ev.User)
			}
		})
		m.Server.Live = m.socket.Live
	}
	return nil
}

// openConsole makes the console that stands in for Slack.
func (m *Main) openConsole() error {
	cfg := console.Config{
		In: m.Stdin, Out: m.Stdout, FilesDir: m.ConsoleFiles, EncoURL: m.Config.EncoBaseURL,
		SIMs: func() []string {
			var out []string
			for _, sim := range m.Sandbox.SIMs() {
				out = append(out, fmt.Sprintf("%s (%s)", render.NumberLabel(sim.MSISDN, false), sim.State))
			}
			return out
		},
	}
	if m.ConsoleUser != "" {
		p, ok := console.PersonByName(m.ConsoleUser)
		if !ok {
			return fmt.Errorf("-user %s: name a demo person (@you, @alice, @bob, @carol) or a Slack user ID like U0123ABCD", m.ConsoleUser)
		}
		cfg.User = p
	}
	if m.logFile != nil {
		cfg.LogPath = m.logFile.Name()
	}
	m.console = console.New(cfg)
	return nil
}

// awaitConsoleResults waits, once the console's input has ended, for the
// results still on their way to it, or until ctx ends. By then every
// command, click and step has ended (the router has no work left), so
// results can only come from callbacks the sandbox is still to send for
// requests it answered, and from the delivery queue: it waits for the one,
// then for the other to empty, since an entry leaves the queue only once it
// is shown (or given up on).
func (m *Main) awaitConsoleResults(ctx context.Context) {
	if err := m.Sandbox.WaitSent(ctx); err != nil {
		return
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if depth, err := m.Store.QueueDepth(ctx); err == nil && depth == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Main) openLog() error {
	out := m.LogOutput
	if out == nil && m.Console {
		// The terminal shows the console's messages only.
		f, err := os.CreateTemp(m.ConsoleLogDir, "switchboard-console-*.log")
		if err != nil {
			return fmt.Errorf("console log file: %w", err)
		}
		m.logFile, out = f, f
	}
	if out == nil {
		out = os.Stderr
	}
	level, err := parseLevel(m.Config.LogLevel)
	if err != nil {
		return err
	}
	opts := &slog.HandlerOptions{Level: level}
	if m.Config.LogFlushInterval > 0 && !m.Console {
		m.logBuf = newLineBuffer(out, m.Config.LogFlushInterval)
		out = m.logBuf
	}
	var h slog.Handler
	if m.Console || m.Config.LogFormat == "text" {
		// The console's is read by people, in a file or with -v.
		h = slog.NewTextHandler(out, opts)
	} else {
		h = slog.NewJSONHandler(out, opts)
	}
	m.reach = &redisReach{log: slog.New(h)}
	m.Log = slog.New(quietOutage{h, m.reach})
	if m.RouteRedisLog {
		redis.SetLogger(redisLogger{m.Log, m.reach})
	}
	return nil
}

func (m *Main) openRedis(ctx context.Context) error {
	if m.Config.RedisURL == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("start embedded store: %w", err)
		}
		mr.ClockTTL(true) // expire keys on the wall clock, as Redis does
		m.embedded = mr
		m.redis = redis.NewClient(&redis.Options{Addr: mr.Addr()})
		if !m.Console {
			m.Log.Warn("REDIS_URL is unset: using the embedded in-memory store; state is lost on restart and cannot be shared by replicas")
		}
	} else {
		rdb, err := dialRedis(m.Config.RedisURL, m.keyPrefix(), m.Log)
		if err != nil {
			return err
		}
		rdb.AddHook(m.reach)
		m.redis = rdb
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		// Not fatal: go-redis reconnects, and commands answer "try again"
		// meanwhile. A Redis out of reach is said by m.reach. A Redis that
		// refuses the URL's user or password will refuse it again: that
		// stops start-up.
		err = m.redis.Ping(pctx).Err()
		switch {
		case refusedLogin(err):
			return fmt.Errorf("REDIS_URL: Redis refused the user name or password in it (%s); put the password as redis://:password@host:6379/0, or user:password@ for an ACL user", redisErrorCode(err))
		case err != nil && !m.reach.isDown():
			m.Log.Error("Redis does not answer yet; commands will ask users to retry until it does", "err", err)
		}
	}
	m.Store = state.New(m.redis, m.keyPrefix())
	m.Store.SetAuditRetention(m.Config.AuditMaxEntries, m.Config.AuditMaxAge)
	return nil
}

// keyPrefix prefixes every Redis key the bot writes.
func (m *Main) keyPrefix() string {
	if m.KeyPrefix == "" {
		return "sb:"
	}
	return m.KeyPrefix
}

func (m *Main) loadPolicy() (*permissions.Policy, error) {
	switch {
	case m.Config.PolicyFile != "":
		p, err := permissions.Load(m.Config.PolicyFile, commands.Names())
		if err != nil {
			return nil, fmt.Errorf("POLICY_FILE: %w", err)
		}
		m.Log.Info("policy loaded", "policy", p.Describe())
		return p, nil
	case m.Console:
		p, err := permissions.Parse([]byte(console.DemoPolicy), commands.Names())
		if err != nil {
			return nil, fmt.Errorf("demo policy: %w", err)
		}
		return p, nil
	}
	m.Log.Warn("POLICY_FILE is unset: every command is denied except help; see the README to write a policy")
	return permissions.DenyAll(), nil
}

// Run serves until ctx ends, then shuts down gracefully: no new commands,
// in-flight work finished, callbacks drained, queued posts delivered.
func (m *Main) Run(ctx context.Context) error {
	// One place for each sender: the servers, the callback set-up, the front.
	errc := make(chan error, 3+len(m.sideServers()))
	var wg sync.WaitGroup
	deliverCtx, stopDeliver := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDeliver()

	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := m.Server.Serve(); err != nil {
			errc <- fmt.Errorf("HTTP server: %w", err)
		}
	}()
	for _, side := range m.sideServers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := side.serve(m.Log); err != nil {
				errc <- fmt.Errorf("%s server: %w", side.what, err)
			}
		}()
	}
	var deliverDone sync.WaitGroup
	deliverDone.Add(1)
	go func() {
		defer deliverDone.Done()
		_ = m.deliverer.Run(deliverCtx)
	}()
	deliverDone.Add(1)
	go func() {
		defer deliverDone.Done()
		_ = m.expirer.Run(deliverCtx)
	}()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := m.configureCallbacks(runCtx); err != nil {
			errc <- err
		}
	}()

	// The scheduler makes scheduled FMU changes; it stops taking new ones
	// with the front and finishes those under way.
	var scheduling sync.WaitGroup
	scheduling.Go(func() { _ = m.scheduler.Run(runCtx) })
	// The M2M sender stops between two requests when the bot stops (the
	// console's, once its changes are sent).
	var sending sync.WaitGroup
	sendCtx, stopSending := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSending()
	sending.Go(func() { _ = m.sender.Run(sendCtx) })
	if a := m.Router.Approvals(); a != nil {
		scheduling.Go(func() { _ = a.Run(runCtx) })
	}

	// front takes commands: the Slack socket, or the console.
	var front sync.WaitGroup
	front.Add(1)
	go func() {
		defer front.Done()
		var err error
		if m.Console {
			err = m.console.Run(runCtx, m.Router)
			stopRun() // end of input ends the bot
		} else {
			err = slackTokenRefused(m.socket.Run(runCtx))
		}
		if err != nil {
			errc <- err
		}
	}()

	var runErr error
	select {
	case <-runCtx.Done():
	case runErr = <-errc:
	}
	stopRun()
	m.Log.Info("shutting down: finishing work in flight")
	if !m.Console {
		// The request under way finishes and is recorded; the next ones
		// are left to another replica, or to this one when it starts again.
		stopSending()
	}
	front.Wait() // no new command or click from here on
	scheduling.Wait()
	m.Router.Wait()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if m.console != nil {
		// Before the HTTP server closes: it takes the sandbox's callbacks.
		_ = m.sender.Idle(shutCtx)
		m.awaitConsoleResults(shutCtx)
	}
	stopSending()
	sending.Wait()
	if err := m.Server.Close(shutCtx); err != nil {
		m.Log.Warn("HTTP server shutdown", "err", err)
	}
	for _, side := range m.sideServers() {
		side.close()
	}
	stopDeliver()
	deliverDone.Wait()
	wg.Wait()
	return runErr
}

// configureCallbacks points EnCo's M2M callbacks at this bot, with the secret
// it must send back, retrying until EnCo accepts or ctx ends. It gives up at
// once, with an error naming the variable to fix, when EnCo refuses the
// bot's credentials: no retry cures that, only the operator can.
func (m *Main) configureCallbacks(ctx context.Context) error {
	url := m.Config.PublicURL + notify.PathM2M
	headers := map[string]string{"Authorization": "Bearer " + m.Config.CallbackSecret}
	backoff := time.Second
	for {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := m.Enco.ConfigureM2MCallback(cctx, url, headers)
		cancel()
		if err == nil {
			m.Log.Info("M2M callback URL configured", "url", url)
			return nil
		}
		if ctx.Err() != nil {
			// Shutting down: the attempt was cut short, not refused.
			m.Log.Info("M2M callback URL not configured: shutting down")
			return nil
		}
		if refused := m.credentialsRefused(err); refused != nil {
			return refused
		}
		m.Log.Error("configure M2M callback URL; retrying", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Minute)
	}
}

// credentialsRefused names the variable to fix when err is EnCo refusing the
// bot's credentials for good, and is nil for any other error. The
// credentials themselves are never repeated.
func (m *Main) credentialsRefused(err error) error {
	var apiErr *enco.Error
	if !errors.As(err, &apiErr) {
		return nil
	}
	switch {
	case errors.Is(err, enco.ErrCredentialsRefused) && m.Config.EncoToken != "":
		return fmt.Errorf("ENCO_TOKEN: EnCo refused the permanent token (HTTP %d); create a new one on the EnCo dashboard, or set ENCO_CLIENT_ID and ENCO_CLIENT_SECRET instead", apiErr.StatusCode)
	case errors.Is(err, enco.ErrCredentialsRefused),
		apiErr.Op == enco.TokenOp && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.Message == "invalid_client"):
		return fmt.Errorf("ENCO_CLIENT_ID, ENCO_CLIENT_SECRET: EnCo refused the client credentials (HTTP %d); copy them again from your application on the EnCo dashboard", apiErr.StatusCode)
	case apiErr.StatusCode == http.StatusForbidden:
		return fmt.Errorf("ENCO_M2M_API_KEY: EnCo's M2M API refused the key (HTTP %d); copy it again from the M2M Cockpit", apiErr.StatusCode)
	}
	return nil
}

// slackTokenRefused names SLACK_APP_TOKEN when the socket ended because
// Slack refused the app-level token, which slack-go reports as Slack's bare
// error code; other errors are returned as they are.
func slackTokenRefused(err error) error {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return err
	}
	switch se.Err {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked":
		return fmt.Errorf("SLACK_APP_TOKEN: Slack refused the app-level token (%s); create one with connections:write under Basic Information → App-Level Tokens of the app, and check that it belongs to the same app as SLACK_BOT_TOKEN", se.Err)
	}
	return err
}

// Close releases what Open took. It is safe to call more than once and after a failed Open.
func (m *Main) Close() {
	m.closeOnce.Do(func() {
		if m.Server != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = m.Server.Close(ctx)
			cancel()
		}
		for _, side := range m.sideServers() {
			side.close()
		}
		if m.Sandbox != nil {
			// The bot's EnCo client keeps connections to the sandbox in
			// http.DefaultTransport's pool; one dialled but never used counts
			// as busy for the sandbox's graceful shutdown, which would wait
			// seconds for it. Closing the pool's idle connections ends it.
			http.DefaultClient.CloseIdleConnections()
			m.Sandbox.Close()
		}
		if m.redis != nil {
			_ = m.redis.Close()
		}
		if m.embedded != nil {
			m.embedded.Close()
		}
		if m.logBuf != nil {
			m.logBuf.Close()
		}
		if m.logFile != nil {
			_ = m.logFile.Close()
		}
	})
}

func consumerName() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "bot"
	}
	return host + "-" + state.NewHex(4)
}

// sideServers are the listeners opened besides HTTP_ADDR.
func (m *Main) sideServers() []*sideServer {
	var out []*sideServer
	for _, s := range []*sideServer{m.metrics, m.debug} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}
