package enco

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// earlyExpiry is how long before its expiry a token is renewed, so that a
// request does not set off with a token about to lapse.
const earlyExpiry = 10 * time.Second

// NewTokenSource returns the OAuth2 client-credentials token source for an
// EnCo application: client id and secret go as form parameters (in the
// request body, never in the URL) with scope "openid" to tokenURL, through
// hc (nil means a plain client with a 15s timeout). ctx bounds every token
// request for the life of the source.
//
// Create one source per process and share it. EnCo keeps a single active
// token per application and hands the same one back until it expires or is
// revoked, so a renewal attempted shortly before expiry returns the token
// already held; the source then keeps that token until its real expiry
// instead of asking again on every call. A failed renewal is not reported
// while the held token is still valid. When an API refuses the token (see
// NewHTTPClient), the source revokes it at the "revoke" endpoint beside
// tokenURL (https://api.enco.io/revoke for https://api.enco.io/token) before
// asking for a new one, since asking alone would bring the refused token
// back.
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
	rv := revoker{ctx: ctx, url: revokeURL(tokenURL), clientID: clientID, clientSecret: clientSecret, hc: hc}
	return &tokenSource{
		fetch:  func() (*oauth2.Token, error) { return cfg.Token(fetchCtx) },
		revoke: rv.revoke,
		now:    time.Now,
	}
}

// revokeURL is the revoke endpoint that sits beside a token endpoint.
func revokeURL(tokenURL string) string {
	u, err := url.Parse(tokenURL)
	if err != nil {
		return tokenURL
	}
	return u.ResolveReference(&url.URL{Path: "revoke"}).String()
}

// revoker calls EnCo's POST /revoke.
type revoker struct {
	ctx                    context.Context
	url                    string
	clientID, clientSecret string
	hc                     *http.Client
}

// revoke asks EnCo to revoke token: form token, client_id, client_secret in
// the body, as the documentation shows.
func (r revoker) revoke(token string) error {
	const op = "enco revoke"
	form := url.Values{"token": {token}, "client_id": {r.clientID}, "client_secret": {r.clientSecret}}
	ctx, cancel := context.WithTimeout(r.ctx, defaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := r.hc.Do(req)
	if err != nil {
		// The URL carries no secret, but a transport error may quote it.
		return fmt.Errorf("%s: %w", op, errors.Unwrap(err))
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorText+1))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return newError(op, res.StatusCode, res.Header, body, time.Now())
	}
	return nil
}

// StaticTokenSource returns a source for a permanent token created on the
// EnCo dashboard. It is never renewed: when an API refuses it, the request
// fails with an error wrapping ErrCredentialsRefused.
func StaticTokenSource(token string) oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})
}

// TokenOp is the Op of an *Error from the token endpoint (the client
// credentials were refused, or the endpoint failed).
const TokenOp = "enco token"

// ErrCredentialsRefused is wrapped by the error of a call EnCo refused with
// 401 although the bot had done all it can: the permanent token (which
// cannot be renewed) was refused, or a freshly renewed token was refused
// too. Only an operator can fix it, by giving the bot valid credentials.
var ErrCredentialsRefused = errors.New("EnCo refused the bot's credentials")

// refresher is a token source that can be told its token was refused.
type refresher interface {
	// refresh revokes stale and fetches a new token, unless the one held
	// already differs from stale (another request renewed it meanwhile).
	// Concurrent calls for the same stale token share one renewal.
	refresh(stale string) (*oauth2.Token, error)
}

// tokenSource caches the application's token; see NewTokenSource.
type tokenSource struct {
	fetch  func() (*oauth2.Token, error)
	revoke func(token string) error
	now    func() time.Time

	// renewMu lets one renewal run at a time: the requests refused with
	// the same token wait for it and take its result, so that a burst of
	// 401s costs one revoke and one fetch. It is held across network
	// calls; mu, which Token needs, is not.
	renewMu sync.Mutex

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
	s.renewMu.Lock()
	defer s.renewMu.Unlock()
	if tok, ok := s.renewedSince(stale); ok {
		return tok, nil
	}
	// A revoke that fails (a passing 5xx, or EnCo refusing to revoke a
	// token that has expired already, the usual cause of a 401) does not
	// stop the renewal: a fresh token may come all the same.
	revokeErr := s.revoke(stale)
	t, err := s.fetch()
	if err != nil {
		return nil, tokenError(err)
	}
	if t.AccessToken == stale {
		if revokeErr != nil {
			return nil, fmt.Errorf("renew refused token: %w", revokeErr)
		}
		return nil, &Error{Op: TokenOp, StatusCode: http.StatusUnauthorized, Message: "the token endpoint handed the revoked token back", Err: ErrCredentialsRefused}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store(t, s.now())
	s.settled = false
	return s.tok, nil
}

// renewedSince returns the token held when it is a live one other than
// stale: a renewal finished since stale was sent.
func (s *tokenSource) renewedSince(stale string) (*oauth2.Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken != stale && (s.expiry.IsZero() || s.now().Before(s.expiry)) {
		return s.tok, true
	}
	return nil, false
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
	const op = TokenOp
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
// When an API answers 401 and ts comes from NewTokenSource, it revokes the
// refused token, fetches a new one and replays the request once; requests
// refused together share that one renewal. A 401 that renewal cannot cure
// (a permanent token, or a fresh token refused again) fails the request
// with an *Error wrapping ErrCredentialsRefused, without further attempts. A
// failed renewal is returned as the request's error. Redirects to another
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
		return nil, refused(res, "the permanent token cannot be renewed")
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable {
		return res, nil
	}
	drain(res)
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
	res, err = t.send(retry, fresh)
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		return res, err
	}
	return nil, refused(res, "a freshly renewed token was refused too")
}

// refused turns a 401 that renewal cannot cure into an *Error wrapping
// ErrCredentialsRefused, keeping the gateway's fault; the client names the
// operation.
func refused(res *http.Response, why string) error {
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorText+1))
	e := newError("", res.StatusCode, res.Header, body, time.Now())
	e.Err = ErrCredentialsRefused
	if e.Description == "" {
		e.Description = why
	}
	return e
}

func drain(res *http.Response) {
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
}

func (t *transport) send(req *http.Request, tok *oauth2.Token) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return t.base.RoundTrip(out)
}
