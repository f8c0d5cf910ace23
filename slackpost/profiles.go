package slackpost

import (
	"context"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Profiles reads people's Slack profiles (the phone field, the time zone)
// with users.info, keeping each answer for a few minutes: a command, a Home
// tab or a schedule may ask for both, and for the same people again soon.
// Like user-group members, a profile edit shows after at most userCacheTTL.
type Profiles struct {
	api *slack.Client
	now func() time.Time // nil: time.Now

	mu    sync.Mutex
	users map[string]cachedUser
}

type cachedUser struct {
	user *slack.User // nil: Slack knows no such user
	at   time.Time
}

const (
	userCacheTTL  = 5 * time.Minute
	userCacheSize = 10000 // past this, the cache starts afresh
)

// NewProfiles returns Profiles that ask Slack through api.
func NewProfiles(api *slack.Client) *Profiles {
	return &Profiles{api: api, users: map[string]cachedUser{}}
}

// user returns userID's profile, nil when Slack knows no such user.
func (s *Profiles) user(ctx context.Context, userID string) (*slack.User, error) {
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	s.mu.Lock()
	c, ok := s.users[userID]
	s.mu.Unlock()
	if ok && now().Sub(c.at) < userCacheTTL {
		return c.user, nil
	}
	u, err := s.api.GetUserInfoContext(ctx, userID)
	if SlackErrorCode(err) == "user_not_found" {
		u, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.users) >= userCacheSize {
		clear(s.users)
	}
	s.users[userID] = cachedUser{user: u, at: now()}
	s.mu.Unlock()
	return u, nil
}

// ProfilePhone implements permissions' profile phone lookup.
func (s *Profiles) ProfilePhone(ctx context.Context, userID string) (string, error) {
	u, err := s.user(ctx, userID)
	if err != nil || u == nil {
		return "", err
	}
	return u.Profile.Phone, nil
}

// TimeZone implements commands.People; a person Slack does not know has no
// zone, and the default applies.
func (s *Profiles) TimeZone(ctx context.Context, userID string) (string, error) {
	u, err := s.user(ctx, userID)
	if err != nil || u == nil {
		return "", err
	}
	return u.TZ, nil
}
