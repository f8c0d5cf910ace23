// Command bot runs Switchboard, the Slack chat-ops bot for the Proximus EnCo
// telecom APIs. Configuration comes from the environment (bot -h lists it);
// bot -console runs it in a terminal with the built-in EnCo sandbox.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	fs := flag.NewFlagSet("bot", flag.ContinueOnError)
	console := fs.Bool("console", false, "run in this terminal instead of Slack, with the EnCo sandbox and the embedded store")
	verbose := fs.Bool("v", false, "with -console: show the bot's log in the terminal instead of writing it to a file")
	user := fs.String("user", "", "with -console: act as this person (@alice, @bob, @carol, or a Slack user ID); /as switches later")
	healthcheck := fs.Bool("healthcheck", false, "ask the bot on HTTP_ADDR whether it is healthy (exit 0) or not (exit 1), for Docker's HEALTHCHECK")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: bot [-console [-v] [-user @name] | -healthcheck]")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output())
		PrintUsage(fs.Output())
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	cfg, err := LoadConfig()
	if *healthcheck {
		if err != nil {
			fmt.Fprintln(os.Stderr, "healthcheck: "+err.Error())
			os.Exit(1)
		}
		os.Exit(Healthcheck(context.Background(), cfg.HTTPAddr, os.Stderr))
	}
	if err == nil {
		err = cfg.Validate(*console)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bot: "+err.Error())
		os.Exit(2)
	}

	tuneGC(os.LookupEnv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Config: cfg, RouteRedisLog: true, Console: *console, ConsoleUser: *user, Stdin: os.Stdin, Stdout: os.Stdout, LogOutput: os.Stderr}
	if *console && !*verbose {
		m.LogOutput = nil // a log file, named when the console starts
	}
	if err := m.Open(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bot: "+err.Error())
		m.Close()
		os.Exit(1)
	}
	err = m.Run(ctx)
	m.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bot: "+err.Error())
		os.Exit(1)
	}
}
