// Package notify is the bot's side of EnCo's callbacks: the HTTP server that
// receives them (and answers health checks), the receiver that authenticates
// and records each one together with the Slack posts it causes (queued for
// slackpost's Deliverer, worded by render), and the expirer that closes the
// operations whose callbacks never came.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Server is the HTTP server on HTTP_ADDR: callbacks, /healthz, /readyz and,
// unless it has a listener of its own (METRICS_ADDR), /metrics. Open binds the listener (so a bad address fails at once); Serve
// serves until Close.
type Server struct {
	Addr string
	// Listener, when set, is the listener to serve on, bound by the caller
	// (a test binds 127.0.0.1:0 and knows the address before the bot
	// starts); Addr is then only its name.
	Listener net.Listener
	Receiver *Receiver
	// Live reports whether this replica can do its job (e.g. its Slack socket
	// is connected); nil means always. /healthz answers 503 when it fails.
	Live func() error
	// Ready reports whether dependencies answer (Redis); nil means always.
	Ready func(ctx context.Context) error
	// Metrics, when set, is served on /metrics.
	Metrics http.Handler
	Log     *slog.Logger

	ln  net.Listener
	srv *http.Server
}

// Open binds the listener (or takes Listener).
func (s *Server) Open() error {
	ln := s.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", s.Addr, err)
		}
	}
	s.ln = ln
	mux := http.NewServeMux()
	if s.Receiver != nil {
		s.Receiver.Routes(mux)
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	return nil
}

// URL is the base URL of the bound listener (e.g. http://127.0.0.1:41234);
// a listener on every interface is reached through loopback.
func (s *Server) URL() string {
	addr := s.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// Serve serves until Close; it returns nil after a clean Close.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops accepting requests and waits for those in flight, until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// The health answers say yes or no and nothing else: they are on the port
// EnCo reaches, and an error's text (a Redis address, a Slack error) is for
// the log.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.Live != nil {
		if err := s.Live(); err != nil {
			s.log().Warn("health check failed", "check", "live", "err", err)
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if s.Live != nil {
		if err := s.Live(); err != nil {
			s.log().Warn("readiness check failed", "check", "live", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
	}
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			s.log().Warn("readiness check failed", "check", "state store", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}
