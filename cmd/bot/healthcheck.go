package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckTimeout bounds the whole check; Docker's HEALTHCHECK has its own
// timeout too, but a check should end by itself.
const healthcheckTimeout = 3 * time.Second

// Healthcheck asks the bot listening on httpAddr (HTTP_ADDR) whether it is
// alive: GET /healthz on loopback. It returns the exit status for
// `bot -healthcheck`: 0 when the bot answers 200, 1 otherwise, with one line
// on out saying why. The runtime image has no shell and no curl, so Docker's
// HEALTHCHECK runs the bot binary itself in this mode.
func Healthcheck(ctx context.Context, httpAddr string, out io.Writer) int {
	url, err := healthzURL(httpAddr)
	if err != nil {
		fmt.Fprintln(out, "healthcheck: "+err.Error())
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(out, "healthcheck: "+err.Error())
		return 1
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(out, "healthcheck: %s does not answer: %v\n", url, err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(out, "healthcheck: %s answered %d: %s\n", url, resp.StatusCode, body)
		return 1
	}
	return 0
}

// healthzURL turns a listen address into the URL of /healthz on it: a
// listener on every interface (":8080", "0.0.0.0:8080", "[::]:8080") is
// reached through 127.0.0.1.
func healthzURL(httpAddr string) (string, error) {
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil || port == "" {
		return "", fmt.Errorf("HTTP_ADDR %q is not host:port", httpAddr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
