// Command enco-sandbox runs the EnCo sandbox (a fake of the FMU, M2M, voice
// call-out and FlexIO number management APIs, with OAuth2 and callbacks) on
// a local address, for trying the bot against it by hand.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	callbackDelay := flag.Duration("callback-delay", time.Second, "delay before callbacks are sent")
	tokenTTL := flag.Duration("token-ttl", time.Hour, "lifetime of an access token")
	flag.Parse()

	sb, err := sandbox.Start(*addr, sandbox.WithCallbackDelay(*callbackDelay), sandbox.WithTokenTTL(*tokenTTL))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("EnCo sandbox listening on %s\n", sb.URL)
	fmt.Printf("  ENCO_BASE_URL=%s\n", sb.URL)
	fmt.Printf("  ENCO_TOKEN_URL=%s/token\n", sb.URL)
	fmt.Printf("  ENCO_CLIENT_ID=%s\n", sb.ClientID)
	fmt.Printf("  ENCO_CLIENT_SECRET=%s\n", sb.ClientSecret)
	fmt.Printf("  ENCO_M2M_API_KEY=%s\n", sb.APIKey)
	fmt.Printf("permanent token, usable instead of the client credentials:\n")
	fmt.Printf("  ENCO_TOKEN=%s\n", sb.PermanentToken)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Println("shutting down")
	sb.Close()
}
