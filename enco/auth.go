package enco

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// earlyExpiry is how long before its expiry a token is renewed, so that a
// request does not set off with a token about to lapse.
const earlyExpiry = 10 * time.Second

// NewTokenSource returns the OAuth2 client-credentials token source for an
// EnCo application: client id and secret go as form parameters with scope
// "openid" to tokenURL, through hc (nil means a plain client with a 15s
// timeout). ctx bounds every token request for the life of the source.
//
// Create one source per process and share it. EnCo keeps a single active
// token per application and hands the same one back until it expires, so a
// renewal attempted shortly before expiry returns the token already held;
// the source then keeps that token until its real expiry instead of asking
// again on every call. A failed renewal is not reported while the held
// token is still valid.
func NewTokenSource(ctx context.Context, tokenURL, clientID, clientSecret string, hc *http.Client) oauth2.TokenSource {
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	cfg := &clientcredentials.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		TokenURL:     tokenURL,
		Scopes:       []string{"openid"},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	fetchCtx := context.WithValue(ctx, oauth2.HTTPClient, hc)
	return &tokenSource{
		fetch: func() (*oauth2.Token, error) { return cfg.Token(fetchCtx) },
		now:   time.Now,
	}
}

// StaticTokenSource returns a source for a permanent token created on the
// EnCo dashboard. It is never renewed: a 401 is returned to the caller.
func StaticTokenSource(token string) oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})
}

// refresher is a token source that can be told its token was refused.
type refresher interface {
	// refresh fetches a new token unless the one held already differs
	// from stale (another request renewed it meanwhile).
	refresh(stale string) (*oauth2.Token, error)
}

// tokenSource caches the application's token; see NewTokenSource.
type tokenSource struct {
	fetch func() (*oauth2.Token, error)
	now   func() time.Time

	mu     sync.Mutex
	tok    *oauth2.Token
	expiry time.Time // by now(); zero when the token does not expire
	// settled is set when a renewal in the early-expiry window brought
	// back the token already held (or failed): it is used until expiry.
	settled bool
}

// Token returns the cached token, renewing it when it is about to expire.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.tok != nil {
		if s.expiry.IsZero() || now.Before(s.expiry.Add(-earlyExpiry)) {
			return s.tok, nil
		}
		if s.settled && now.Before(s.expiry) {
			return s.tok, nil
		}
	}
	t, err := s.fetch()
	if err != nil {
		if s.tok != nil && now.Before(s.expiry) {
			s.settled = true
			return s.tok, nil
		}
		return nil, tokenError(err)
	}
	same := s.tok != nil && s.tok.AccessToken == t.AccessToken
	s.store(t, now)
	s.settled = same
	return s.tok, nil
}

func (s *tokenSource) refresh(stale string) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.tok != nil && s.tok.AccessToken != stale && (s.expiry.IsZero() || now.Before(s.expiry)) {
		return s.tok, nil
	}
	t, err := s.fetch()
	if err != nil {
		return nil, tokenError(err)
	}
	s.store(t, now)
	s.settled = false
	return s.tok, nil
}

// store keeps t, measuring its expiry on the source's own clock.
func (s *tokenSource) store(t *oauth2.Token, now time.Time) {
	s.expiry = time.Time{}
	if !t.Expiry.IsZero() {
		s.expiry = now.Add(time.Until(t.Expiry))
	}
	s.tok = &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: s.expiry}
}

// tokenError turns a token endpoint refusal into an *Error (so that a 5xx
// counts as temporary) and names the operation on anything else.
func tokenError(err error) error {
	const op = "enco token"
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	e := newError(op, re.Response.StatusCode, re.Response.Header, re.Body, time.Now())
	if re.ErrorCode != "" {
		e.Message = capText(re.ErrorCode)
		e.Description = capText(re.ErrorDescription)
	}
	return e
}

// NewHTTPClient returns an HTTP client that sends ts's token as a bearer
// token on every request through base (nil means http.DefaultTransport).
// When an API answers 401, it fetches a fresh token once, bypassing the
// cache, and replays the request once; a second 401 is returned as is, and
// a failed renewal is returned as the request's error. Only
// sources from NewTokenSource can be renewed that way. Redirects to another
// host are not followed, so the token stays with EnCo.
func NewHTTPClient(ts oauth2.TokenSource, base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{
		Transport:     &transport{ts: ts, base: base},
		CheckRedirect: sameHostRedirects,
	}
}

// transport adds the bearer token and renews it once on a 401.
type transport struct {
	ts   oauth2.TokenSource
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.ts.Token()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	res, err := t.send(req, tok)
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		return res, err
	}
	r, ok := t.ts.(refresher)
	if !ok {
		return res, nil
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable {
		return res, nil
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	fresh, err := r.refresh(tok.AccessToken)
	if err != nil {
		return nil, err
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("replay request body: %w", err)
		}
		retry.Body = body
	}
	return t.send(retry, fresh)
}

func (t *transport) send(req *http.Request, tok *oauth2.Token) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return t.base.RoundTrip(out)
}
