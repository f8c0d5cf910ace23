package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLineBufferWritesLinesTogether(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	b := newLineBuffer(&out, time.Hour)
	for _, l := range []string{"one\n", "two\n", "three\n"} {
		if n, err := b.Write([]byte(l)); n != len(l) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", l, n, err)
		}
	}
	if got := out.String(); got != "" {
		t.Errorf("before the interval or Close: wrote %q, want nothing yet", got)
	}
	b.Close()
	if got, want := out.String(), "one\ntwo\nthree\n"; got != want {
		t.Errorf("after Close: got %q, want %q", got, want)
	}
	b.Write([]byte("late\n"))
	if got := out.String(); !strings.HasSuffix(got, "late\n") {
		t.Errorf("a line after Close: got %q, want it written at once", got)
	}
}

func TestLineBufferWritesWhenFull(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	b := newLineBuffer(&out, time.Hour)
	line := append(bytes.Repeat([]byte("x"), 1023), '\n')
	for range maxBufferedLog / len(line) {
		b.Write(line)
	}
	if got := len(out.String()); got != maxBufferedLog {
		t.Errorf("after %d bytes of lines: wrote %d bytes, want all of them without waiting", maxBufferedLog, got)
	}
	b.Close()
}

func TestLineBufferWritesAfterTheInterval(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	b := newLineBuffer(&out, 10*time.Millisecond)
	defer b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	wrote := func() string { return fmt.Sprintf("wrote %q", out.String()) }
	b.Write([]byte("first\n"))
	eventually(t, ctx, "the first line, with a 10 ms interval", func() bool { return out.String() == "first\n" }, wrote)
	// The next line starts a new interval.
	b.Write([]byte("second\n"))
	eventually(t, ctx, "the second line", func() bool { return out.String() == "first\nsecond\n" }, wrote)
}

func TestShutdownWritesOutBufferedLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(h *harness) { h.cfg.LogFlushInterval = time.Hour })
	h.shutdown()
	if got := h.logs.String(); !strings.Contains(got, `"msg":"shutting down: finishing work in flight"`) {
		t.Errorf("after shutdown the log holds:\n%s\nwant every line, the last ones included", got)
	}
}
