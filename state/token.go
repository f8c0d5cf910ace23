package state

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// tokenRecord is what a callback token's key holds. The key is named after
// the first half of the token's SHA-256 (the selector) and the record keeps
// the second half (the verifier): finding the key can leak through timing at
// most the selector, and the verifier is compared in constant time. Neither
// the raw token nor its full digest is ever a key.
type tokenRecord struct {
	OperationID string `json:"op"`
	Verifier    string `json:"v"` // hex of the second half of SHA-256(token)
}

// splitToken derives a token's selector (names the key) and verifier (stored).
func splitToken(token string) (selector, verifier string) {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16]), hex.EncodeToString(sum[16:])
}

// BindToken binds a callback token to an operation for ttl. Binding the same
// token again replaces the binding.
func (s *Store) BindToken(ctx context.Context, token, opID string, ttl time.Duration) error {
	if token == "" || opID == "" {
		return errors.New("bind token: empty token or operation id")
	}
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("bind token: %w", err)
	}
	sel, ver := splitToken(token)
	b, err := json.Marshal(tokenRecord{OperationID: opID, Verifier: ver})
	if err != nil {
		return fmt.Errorf("bind token: %w", err)
	}
	if err := s.rdb.Set(ctx, s.key("tok", sel), b, ttl).Err(); err != nil {
		return fmt.Errorf("bind token: %w", err)
	}
	return nil
}

// OperationForToken returns the operation a callback token is bound to; ok is
// false for an unknown, expired or empty token.
func (s *Store) OperationForToken(ctx context.Context, token string) (opID string, ok bool, err error) {
	if token == "" {
		return "", false, nil
	}
	sel, ver := splitToken(token)
	raw, found, err := s.getString(ctx, s.key("tok", sel))
	if err != nil {
		return "", false, fmt.Errorf("look up token: %w", err)
	}
	if !found {
		return "", false, nil
	}
	var rec tokenRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return "", false, fmt.Errorf("look up token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(rec.Verifier), []byte(ver)) != 1 {
		return "", false, nil
	}
	return rec.OperationID, true, nil
}
