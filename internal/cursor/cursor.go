// Package cursor makes pagination cursors opaque and tamper-proof. A cursor
// carries the last key of a page, bound to the caller and to the list it
// came from (patient, conversation, filters) and signed with HMAC-SHA256, so
// it cannot be forged, edited, or replayed by someone else or elsewhere. A
// raw LastEvaluatedKey never comes back in as a key.
package cursor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// MinKeyLen is the shortest signing key accepted.
const MinKeyLen = 32

// MaxAge is how long a cursor stays valid.
const MaxAge = 24 * time.Hour

// ErrInvalid is returned for any cursor that fails to verify; the reason is
// not disclosed.
var ErrInvalid = errors.New("cursor is invalid or expired")

// Codec signs and verifies cursors.
type Codec struct {
	key []byte
	now func() time.Time
}

// New returns a Codec with the given signing key.
func New(key []byte) (*Codec, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("cursor key must be at least 32 bytes")
	}
	return &Codec{key: append([]byte(nil), key...), now: time.Now}, nil
}

type payload struct {
	Key     map[string]string `json:"k"`
	Expires int64             `json:"e"`
}

// Binding names where a cursor may be used: the caller and the list, e.g.
// Binding("portal", sub, "conversations", patientID, "open"). The parts are
// JSON-encoded, so no two lists of parts give the same binding.
func Binding(parts ...string) string {
	b, _ := json.Marshal(parts) // a []string always marshals
	return string(b)
}

// Encode returns the cursor for key within binding, or "" for a nil key
// (the last page).
func (c *Codec) Encode(binding string, key map[string]string) (string, error) {
	if key == nil {
		return "", nil
	}
	body, err := json.Marshal(payload{Key: key, Expires: c.now().Add(MaxAge).Unix()})
	if err != nil {
		return "", err
	}
	b := base64.RawURLEncoding.EncodeToString(body)
	return b + "." + base64.RawURLEncoding.EncodeToString(c.mac(binding, b)), nil
}

// Decode verifies s within binding and returns the key it carries. An empty
// s is the first page and returns nil.
func (c *Codec) Decode(binding, s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	b, sig, ok := strings.Cut(s, ".")
	if !ok || len(s) > 2048 {
		return nil, ErrInvalid
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.mac(binding, b)) {
		return nil, ErrInvalid
	}
	body, err := base64.RawURLEncoding.DecodeString(b)
	if err != nil {
		return nil, ErrInvalid
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil || len(p.Key) == 0 {
		return nil, ErrInvalid
	}
	if c.now().Unix() > p.Expires {
		return nil, ErrInvalid
	}
	return p.Key, nil
}

func (c *Codec) mac(binding, body string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(binding))
	m.Write([]byte{0})
	m.Write([]byte(body))
	return m.Sum(nil)
}
