// Package redact takes secrets out of errors before they are logged or
// shown. Go's HTTP client puts the whole request URL in its errors
// (Get "https://…?callback_url=…/callbacks/fmu/<token>": dial tcp …), and the
// URLs the bot calls can carry credentials: a callback URL with its token in
// a query, a Slack response_url whose path is itself the secret.
package redact

import (
	"errors"
	"net/url"
)

// URLs returns err with the URL of the *url.Error in it cut down to its
// scheme and host ("https://api.enco.io/…"). The operation, the host and
// the cause stay, which is what a reader of the log needs; the path and the
// query, which may hold a token, go. When err is the *url.Error itself it is
// changed in place; when something wrapped it already (its text was fixed
// then), the result is the *url.Error alone, redacted, since the wrapper's
// text holds the URL too.
func URLs(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	ue.URL = Host(ue.URL)
	return ue
}

// Host returns scheme://host/… for a URL, or "…" when it cannot be read.
func Host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "…"
	}
	out := u.Scheme + "://" + u.Host
	if u.Path != "" || u.RawQuery != "" {
		out += "/…"
	}
	return out
}
