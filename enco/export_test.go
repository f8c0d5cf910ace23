package enco

import (
	"time"

	"golang.org/x/oauth2"
)

// SetTokenClock replaces the clock of a source made by NewTokenSource, so
// that tests can move a token towards its expiry without waiting.
func SetTokenClock(ts oauth2.TokenSource, now func() time.Time) {
	s := ts.(*tokenSource)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}
