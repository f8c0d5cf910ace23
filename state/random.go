package state

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

// Every identifier, reference, token and secret of the bot is made here,
// from crypto/rand, in the encoding its use needs.

// randomBytes returns n bytes from crypto/rand. Read never fails (since Go
// 1.24 it crashes the program rather than return fewer bytes).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// NewHex returns n random bytes in lower-case hex: 16 for the ids of
// operations and confirmations (the hexadecimal ids /sim audit reads), 4 for
// the references error messages quote and for replica names, 24 for a
// generated callback secret.
func NewHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// NewID returns a random, URL-safe identifier of 128 bits, for the members
// of rate-limit windows. The error is always nil.
func NewID() (string, error) { return base64.RawURLEncoding.EncodeToString(randomBytes(16)), nil }

// NewToken returns an unguessable callback token: 32 bytes from crypto/rand,
// base64url without padding. The error is always nil.
func NewToken() (string, error) { return base64.RawURLEncoding.EncodeToString(randomBytes(32)), nil }
