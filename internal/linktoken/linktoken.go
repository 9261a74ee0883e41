// Package linktoken signs the tokens that links in e-mails carry, so that a
// link can act for one person without a sign-in: the one-click unsubscribe
// of RFC 8058 is the first. A token names a purpose, a subject (a portal
// user ID, say) and an expiry, and is signed with HMAC-SHA256.
//
// A token is URL-safe (base64url without padding and one "."), at most
// MaxTokenLen characters, and verifies only for the purpose it was signed
// for: a token made for "unsubscribe" is refused for any other purpose.
// Verification compares in constant time and says nothing of why a token
// failed.
//
// The signing key may be shared with another HMAC use (the pagination
// cursors share theirs): New derives the key it signs with from the one
// it is given, under a label of this package's own, so that no cursor
// signature is ever a valid link token nor the other way round.
package linktoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
)

// MinKeyLen is the shortest key New accepts.
const MinKeyLen = 32

// Limits of a token. A subject is an ID, far shorter than MaxSubjectLen;
// MaxTokenLen bounds what Verify reads before it decodes anything.
const (
	MaxSubjectLen = 200
	MaxPurposeLen = 64
	MaxTokenLen   = 512
)

// derivationLabel separates this package's signing key from every other
// use of the key New is given. Changing it invalidates every token.
const derivationLabel = "pedsportal linktoken v1"

// ErrInvalid is the one answer for a token that does not verify: forged,
// altered, expired, malformed, too long or made for another purpose.
var ErrInvalid = errors.New("linktoken: the link is invalid or expired")

// Signer signs and verifies link tokens. It is safe for concurrent use.
type Signer struct {
	key []byte // derived from the key New was given
}

// New returns a Signer for key, which must be at least MinKeyLen bytes.
func New(key []byte) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("linktoken: the key must be at least 32 bytes")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(derivationLabel))
	return &Signer{key: m.Sum(nil)}, nil
}

// Sign returns a token binding subject to purpose until expires (to the
// second). It returns "" when purpose is empty or longer than
// MaxPurposeLen, or subject is empty or longer than MaxSubjectLen: a caller
// that gets "" has no link to send (the flusher then sends no e-mail).
func (s *Signer) Sign(purpose, subject string, expires time.Time) string {
	if purpose == "" || len(purpose) > MaxPurposeLen || subject == "" || len(subject) > MaxSubjectLen {
		return ""
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(expires.Unix(), 10) + "." + subject))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(purpose, payload))
}

// Verify checks token for purpose at now and returns its subject. A token
// is valid up to and including the second it expires. Errors: ErrInvalid,
// whatever the reason.
func (s *Signer) Verify(purpose, token string, now time.Time) (string, error) {
	if purpose == "" || len(purpose) > MaxPurposeLen || len(token) > MaxTokenLen {
		return "", ErrInvalid
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", ErrInvalid
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(purpose, payload)) {
		return "", ErrInvalid
	}
	// Signed by us: what follows can only fail for a token of a format
	// this version does not know.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return "", ErrInvalid
	}
	exp, subject, ok := strings.Cut(string(raw), ".")
	if !ok || subject == "" {
		return "", ErrInvalid
	}
	expires, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() > expires {
		return "", ErrInvalid
	}
	return subject, nil
}

// mac signs payload for purpose. The purpose is length-prefixed, so no
// purpose and payload pair signs like another.
func (s *Signer) mac(purpose, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	var n [binary.MaxVarintLen64]byte
	m.Write(n[:binary.PutUvarint(n[:], uint64(len(purpose)))])
	m.Write([]byte(purpose))
	m.Write([]byte(payload))
	return m.Sum(nil)
}
