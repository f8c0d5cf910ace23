package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// sideServer serves operators' endpoints on their own listener, apart from
// the callback server that EnCo reaches, so that they can be bound to
// loopback or a private network, or left off: the Go profiler on
// DEBUG_ADDR, the metrics on METRICS_ADDR.
type sideServer struct {
	what string // for the log: "profiler", "metrics"
	srv  *http.Server
	ln   net.Listener
}

// listenSide binds addr (named by the variable env in errors) for h.
func listenSide(env, what, addr string, h http.Handler) (*sideServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env, err)
	}
	return &sideServer{what: what, ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// listenMetrics binds addr and returns a server for /metrics alone.
func listenMetrics(addr string, metrics http.Handler) (*sideServer, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	return listenSide("METRICS_ADDR", "metrics", addr, mux)
}

// listenDebug binds addr and returns a server for the profiler's endpoints
// under /debug/pprof/.
func listenDebug(addr string) (*sideServer, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return listenSide("DEBUG_ADDR", "profiler", addr, mux)
}

// serve runs until close; it logs where it listens.
func (d *sideServer) serve(log *slog.Logger) error {
	log.Info(d.what+" listening", "addr", d.ln.Addr().String())
	if err := d.srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// close stops the server at once (a profile under way is cut short) and
// frees the address, whether or not serve ran.
func (d *sideServer) close() {
	_ = d.srv.Close()
	_ = d.ln.Close()
}
