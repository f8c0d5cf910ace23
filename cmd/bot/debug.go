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

// debugServer serves the Go profiler on its own listener (DEBUG_ADDR), apart
// from the callback server that EnCo reaches, so that it can be bound to
// loopback or left off.
type debugServer struct {
	srv *http.Server
	ln  net.Listener
}

// listenDebug binds addr and returns a server for the profiler's endpoints
// under /debug/pprof/.
func listenDebug(addr string) (*debugServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("DEBUG_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &debugServer{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// serve runs until close; it logs where it listens.
func (d *debugServer) serve(log *slog.Logger) error {
	log.Info("profiler listening", "addr", d.ln.Addr().String())
	if err := d.srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// close stops the server at once (a profile under way is cut short) and
// frees the address, whether or not serve ran.
func (d *debugServer) close() {
	_ = d.srv.Close()
	_ = d.ln.Close()
}

// addr is where it listens.
func (d *debugServer) addr() string { return d.ln.Addr().String() }
