package cursor

import (
	"strings"
	"testing"
	"time"
)

func newCodec(t *testing.T) *Codec {
	t.Helper()
	c, err := New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	c := newCodec(t)
	key := map[string]string{"PK": "pat-1", "SK": "CONV#x"}
	s, err := c.Encode("b", key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode("b", s)
	if err != nil {
		t.Fatal(err)
	}
	if got["PK"] != "pat-1" || got["SK"] != "CONV#x" || len(got) != 2 {
		t.Fatalf("got %v, want %v", got, key)
	}
}

func TestRejects(t *testing.T) {
	c := newCodec(t)
	good, _ := c.Encode(Binding("portal", "u1", "pat-1"), map[string]string{"PK": "pat-1"})
	body, sig, _ := strings.Cut(good, ".")
	other, _ := New([]byte(strings.Repeat("z", 32)))
	forged, _ := other.Encode(Binding("portal", "u1", "pat-1"), map[string]string{"PK": "pat-2"})
	flipped := []byte(body)
	flipped[3] ^= 1
	expired := newCodec(t)
	expired.now = func() time.Time { return time.Now().Add(-MaxAge - time.Minute) }
	old, _ := expired.Encode(Binding("portal", "u1", "pat-1"), map[string]string{"PK": "pat-1"})

	for name, tc := range map[string]struct{ binding, cursor string }{
		"other caller":  {Binding("portal", "u2", "pat-1"), good},
		"other patient": {Binding("portal", "u1", "pat-2"), good},
		"edited body":   {Binding("portal", "u1", "pat-1"), string(flipped) + "." + sig},
		"other key":     {Binding("portal", "u1", "pat-1"), forged},
		"no signature":  {Binding("portal", "u1", "pat-1"), body},
		"garbage":       {Binding("portal", "u1", "pat-1"), "!!!.???"},
		"expired":       {Binding("portal", "u1", "pat-1"), old},
		"raw key as-is": {Binding("portal", "u1", "pat-1"), `{"PK":"pat-1"}`},
		"empty sig":     {Binding("portal", "u1", "pat-1"), body + "."},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.Decode(tc.binding, tc.cursor); err != ErrInvalid {
				t.Fatalf("Decode = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("New accepted a 5-byte key")
	}
}

func TestBindingIsUnambiguous(t *testing.T) {
	if Binding("x|y", "z") == Binding("x", "y|z") || Binding("a", "") == Binding("a") {
		t.Fatal("different parts give the same binding")
	}
}
