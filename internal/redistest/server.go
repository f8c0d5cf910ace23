package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	readyTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
)

// Server is a private redis-server for one test, which the test may stop and
// start again on the same port (for example to see how code behaves while
// Redis is down). It starts empty every time: persistence is off.
type Server struct {
	t    testing.TB
	path string
	dir  string
	port int

	mu sync.Mutex
	p  *process // nil while stopped
}

// StartServer starts a redis-server from PATH on a free loopback port, and
// stops it when the test ends. It skips the test when redis-server is not on
// PATH. Stop and Start end the test on failure, so call them from the test's
// own goroutine.
func StartServer(t testing.TB) *Server {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redistest: redis-server is not on PATH; this test needs a real server it can stop and restart")
	}
	s := &Server{t: t, path: path, dir: t.TempDir()}
	p, err := startOnFreePort(path, s.dir)
	if err != nil {
		t.Fatalf("redistest: start redis-server: %v", err)
	}
	s.p, s.port = p, p.port
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.p != nil {
			if err := s.p.stop(); err != nil {
				t.Errorf("redistest: stop redis-server: %v", err)
			}
			s.p = nil
		}
	})
	return s
}

// Addr returns the server's host:port; it stays the same across Stop and Start.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Stop shuts the server down and waits for it to exit. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == nil {
		return
	}
	err := s.p.stop()
	s.p = nil
	if err != nil {
		s.t.Fatalf("redistest: stop redis-server: %v", err)
	}
}

// Start starts a stopped server again on the same port and waits until it
// answers PING. Starting a running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		return
	}
	p, err := startProcess(s.path, s.dir, s.port)
	if err != nil {
		s.t.Fatalf("redistest: restart redis-server on port %d: %v", s.port, err)
	}
	s.p = p
}

// process is one running redis-server.
type process struct {
	port int
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed when the process has exited
}

func (p *process) addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))
}

// startOnFreePort starts redis-server on a free port (see onFreePort).
func startOnFreePort(path, dir string, extra ...string) (*process, error) {
	return onFreePort(func(port int) (*process, error) { return startProcess(path, dir, port, extra...) })
}

// onFreePort calls start with a port that was free a moment ago, trying
// again with another port if someone else took it in between.
func onFreePort(start func(port int) (*process, error)) (*process, error) {
	var errs []error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		p, err := start(port)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// startProcess runs redis-server on 127.0.0.1:port without persistence and
// returns once it answers PING.
// Extra arguments (such as "--replicaof") are appended to the defaults.
func startProcess(path, dir string, port int, extra ...string) (*process, error) {
	args := append([]string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
		"--loglevel", "warning",
	}, extra...)
	return startArgs(path, port, args)
}

// startArgs runs redis-server with args, listening on port, and returns once
// it answers PING.
func startArgs(path string, port int, args []string) (*process, error) {
	cmd := exec.Command(path, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{port: port, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status is reported through out and done
		close(p.done)
	}()
	if err := p.waitReady(); err != nil {
		stopErr := p.stop()
		return nil, errors.Join(err, stopErr)
	}
	return p, nil
}

// waitReady polls PING until the server answers, exits, or readyTimeout passes.
func (p *process) waitReady() error {
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if ping(p.addr()) == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("redis-server on port %d exited: %s", p.port, strings.TrimSpace(p.out.String()))
		case <-deadline.C:
			return fmt.Errorf("redis-server on port %d did not answer PING within %v", p.port, readyTimeout)
		case <-tick.C:
		}
	}
}

// kill ends the process with SIGKILL, as a crash would, and waits for the exit.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM, waits for the exit (killing the process if it lingers).
func (p *process) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Kill()
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("redis-server on port %d ignored SIGTERM for %v and was killed", p.port, stopTimeout)
	}
}

// ping sends one PING over a fresh connection.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// lockedBuffer collects the server's output, written by exec's copying
// goroutines and read when reporting a failure.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
