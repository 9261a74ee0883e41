package linktoken_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/linktoken"
)

var (
	key     = bytes.Repeat([]byte{7}, 32)
	now     = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	expires = now.Add(90 * 24 * time.Hour)
)

const user = "22222222-0000-4000-8000-000000000001"

func signer(t *testing.T, k []byte) *linktoken.Signer {
	t.Helper()
	s, err := linktoken.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewNeedsALongEnoughKey(t *testing.T) {
	for _, n := range []int{0, 16, 31} {
		if _, err := linktoken.New(make([]byte, n)); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
	if _, err := linktoken.New(make([]byte, 32)); err != nil {
		t.Errorf("New refused a 32-byte key: %v", err)
	}
}

// flip changes one character of s at i to another of the base64url
// alphabet.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestVerify(t *testing.T) {
	s := signer(t, key)
	tok := s.Sign("unsubscribe", user, expires)
	payload, sig, _ := strings.Cut(tok, ".")
	other := signer(t, bytes.Repeat([]byte{8}, 32))
	// A token whose payload names another user, re-signed with nothing:
	// the signature of the first one.
	forged := base64.RawURLEncoding.EncodeToString([]byte("1900000000.22222222-0000-4000-8000-000000000002")) + "." + sig
	tests := []struct {
		name    string
		purpose string
		token   string
		at      time.Time
		want    string // "" for ErrInvalid
	}{
		{"valid", "unsubscribe", tok, now, user},
		{"valid at the second it expires", "unsubscribe", tok, expires, user},
		{"expired a second later", "unsubscribe", tok, expires.Add(time.Second), ""},
		{"another purpose", "login", tok, now, ""},
		{"purpose differs only in case", "Unsubscribe", tok, now, ""},
		{"no purpose", "", tok, now, ""},
		{"another key", "unsubscribe", other.Sign("unsubscribe", user, expires), now, ""},
		{"payload tampered", "unsubscribe", flip(payload, 3) + "." + sig, now, ""},
		{"signature tampered", "unsubscribe", payload + "." + flip(sig, 5), now, ""},
		{"another subject with the old signature", "unsubscribe", forged, now, ""},
		{"signature truncated", "unsubscribe", payload + "." + sig[:len(sig)-2], now, ""},
		{"signature missing", "unsubscribe", payload, now, ""},
		{"empty", "unsubscribe", "", now, ""},
		{"only a dot", "unsubscribe", ".", now, ""},
		{"padded base64", "unsubscribe", payload + "." + sig + "=", now, ""},
		{"trailing data", "unsubscribe", tok + ".x", now, ""},
		{"too long", "unsubscribe", tok + strings.Repeat("A", linktoken.MaxTokenLen), now, ""},
		{"not base64", "unsubscribe", "!!!." + sig, now, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Verify(tt.purpose, tt.token, tt.at)
			if tt.want == "" {
				if !errors.Is(err, linktoken.ErrInvalid) || got != "" {
					t.Fatalf("Verify = %q, %v; want ErrInvalid", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Verify = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// A token is a plain query value: no escaping changes it, and it stays
// within the length the verifier reads even for the longest subject.
func TestTokensAreURLSafeAndBounded(t *testing.T) {
	s := signer(t, key)
	for _, subject := range []string{"u", user, strings.Repeat("x", linktoken.MaxSubjectLen)} {
		tok := s.Sign("unsubscribe", subject, expires)
		if tok == "" {
			t.Fatalf("no token for a %d-character subject", len(subject))
		}
		if url.QueryEscape(tok) != tok || url.PathEscape(tok) != tok {
			t.Errorf("token %q needs escaping", tok)
		}
		if len(tok) > linktoken.MaxTokenLen {
			t.Errorf("token of %d characters, over %d", len(tok), linktoken.MaxTokenLen)
		}
		if got, err := s.Verify("unsubscribe", tok, now); err != nil || got != subject {
			t.Errorf("round trip of %d characters: %q, %v", len(subject), got, err)
		}
	}
}

func TestSignRefusesWhatItCannotBind(t *testing.T) {
	s := signer(t, key)
	for _, tc := range []struct{ purpose, subject string }{
		{"", user},
		{"unsubscribe", ""},
		{"unsubscribe", strings.Repeat("x", linktoken.MaxSubjectLen+1)},
		{strings.Repeat("p", linktoken.MaxPurposeLen+1), user},
	} {
		if tok := s.Sign(tc.purpose, tc.subject, expires); tok != "" {
			t.Errorf("Sign(%q, %d characters) = %q, want \"\"", tc.purpose, len(tc.subject), tok)
		}
	}
}

// Subjects may hold the separator: the expiry is cut off first.
func TestSubjectWithDots(t *testing.T) {
	s := signer(t, key)
	tok := s.Sign("unsubscribe", "a.b.c", expires)
	if got, err := s.Verify("unsubscribe", tok, now); err != nil || got != "a.b.c" {
		t.Fatalf("Verify = %q, %v", got, err)
	}
}

// The cursor codec and the link signer share one secret. Neither's
// signature is the other's: the signer never signs with the raw key.
func TestDomainSeparationFromCursors(t *testing.T) {
	s := signer(t, key)
	tok := s.Sign("unsubscribe", user, expires)
	payload, sig, _ := strings.Cut(tok, ".")
	// What a MAC under the raw key over the same bytes would be.
	raw := hmac.New(sha256.New, key)
	raw.Write([]byte{byte(len("unsubscribe"))})
	raw.Write([]byte("unsubscribe" + payload))
	if base64.RawURLEncoding.EncodeToString(raw.Sum(nil)) == sig {
		t.Fatal("the link token is signed with the raw key")
	}
	// A cursor made with the same key is no link token, and a link token
	// is no cursor.
	codec, err := cursor.New(key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := codec.Encode(cursor.Binding("unsubscribe"), map[string]string{"PK": user})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify("unsubscribe", c, now); err == nil {
		t.Error("a cursor verified as a link token")
	}
	if _, err := codec.Decode(cursor.Binding("unsubscribe"), tok); err == nil {
		t.Error("a link token decoded as a cursor")
	}
}
