package main

import (
	"io"
	"sync"
	"time"
)

// maxBufferedLog is how many bytes of log lines wait at most before they
// are written out at once.
const maxBufferedLog = 64 << 10

// lineBuffer gathers log lines and writes them out together, at most
// every interval after the first line waiting, sooner when maxBufferedLog
// bytes wait, and at Close. Under load this turns one write system call per
// line (a line per callback) into one per interval; the cost is that a
// crash loses the lines of its last interval. Each Write must be whole
// lines, as slog's handlers write them.
type lineBuffer struct {
	out      io.Writer
	interval time.Duration

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer // armed while lines wait
	closed bool
}

func newLineBuffer(out io.Writer, interval time.Duration) *lineBuffer {
	return &lineBuffer{out: out, interval: interval}
}

// Write implements io.Writer. After Close it writes through.
func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.out.Write(p)
	}
	b.buf = append(b.buf, p...)
	switch {
	case len(b.buf) >= maxBufferedLog:
		b.flushLocked()
	case b.timer == nil:
		b.timer = time.AfterFunc(b.interval, b.Flush)
	}
	return len(p), nil
}

// Flush writes out the lines waiting.
func (b *lineBuffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *lineBuffer) flushLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.buf) == 0 {
		return
	}
	// A log that cannot be written has nowhere to report it.
	_, _ = b.out.Write(b.buf)
	if cap(b.buf) > 4*maxBufferedLog {
		b.buf = nil // let a burst's buffer go
	} else {
		b.buf = b.buf[:0]
	}
}

// Close writes out the lines waiting; later lines are written at once.
func (b *lineBuffer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	b.closed = true
}
