package commands

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/state"
)

// notebook keeps what the Home tab shows besides schedules: a person's
// recent changes and the profiles read or set lately.
type notebook struct {
	store interface {
		NoteRecentOp(ctx context.Context, user string, op state.RecentOp) error
		CacheFMUProfile(ctx context.Context, msisdn, profile string, ttl time.Duration) error
	} // nil: nothing is kept
	now func() time.Time
	log *slog.Logger
}

// noteRecent adds a change to a person's recent operations.
func (nb *notebook) noteRecent(ctx context.Context, user, title, status string) {
	if nb.store == nil {
		return
	}
	if err := nb.store.NoteRecentOp(ctx, user, state.RecentOp{At: nb.now(), Title: title, Status: status}); err != nil {
		nb.log.Warn("note recent operation", "err", err, "user", user)
	}
}

// profileCacheTTL is how long a profile read or set is shown without asking
// EnCo again.
const profileCacheTTL = time.Minute

func (nb *notebook) cacheProfile(ctx context.Context, msisdn string, p enco.Profile) {
	if nb.store == nil {
		return
	}
	if err := nb.store.CacheFMUProfile(ctx, msisdn, string(p), profileCacheTTL); err != nil {
		nb.log.Warn("cache profile", "err", err)
	}
}
