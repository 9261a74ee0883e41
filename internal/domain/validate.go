package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Limits, in user-perceived characters (extended grapheme clusters, as
// Unicode's UAX #29 defines them): a family emoji, a flag or an e with a
// combining accent is one character, as a person counts it and as the
// pages' counters (Intl.Segmenter) count it.
const (
	SubjectMax = 200
	BodyMax    = 5000
	PreviewLen = 140
)

// Characters that the invisible-character rule treats specially.
const (
	zwnj      = '\u200C'     // ZERO WIDTH NON-JOINER: Persian, Indic scripts
	zwj       = '\u200D'     // ZERO WIDTH JOINER: emoji ZWJ sequences, Indic scripts
	blackFlag = '\U0001F3F4' // the base of a subdivision flag (🏴󠁧󠁢󠁳󠁣󠁴󠁿)
	cancelTag = '\U000E007F' // CANCEL TAG: ends a flag's tag sequence
)

// ValidateText checks a required plain-text field: valid UTF-8, not blank,
// at most max characters (grapheme clusters), no control characters other
// than line breaks and tabs, and no invisible or direction-changing
// characters (Unicode categories Cf, Zl and Zp: bidi overrides and
// isolates, zero-width spaces, byte-order marks, soft hyphens, tag
// characters, line and paragraph separators). They render unpredictably,
// hide content from the reader, or make text read differently from what
// was stored. The joiners U+200C and U+200D stay allowed because emoji
// sequences and several scripts need them, and tag characters are allowed
// only inside a subdivision flag.
func ValidateText(field, s string, max int) error {
	// U+FFFD is what invalid UTF-8 becomes when a JSON layer upstream
	// repairs it; storing it would silently change what the user wrote.
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return Invalid(field, "%s is not valid UTF-8 text", field)
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\n' || r == '\r' || r == '\t':
		case unicode.IsControl(r):
			return Invalid(field, "%s contains a control character (U+%04X); remove it", field, r)
		case r == blackFlag:
			i += flagTags(s[i:]) // a valid flag's tags, skipped; others are refused below
		case r == zwj || r == zwnj:
		case unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			return Invalid(field, "%s contains an invisible or direction-changing character (U+%04X); remove it", field, r)
		}
	}
	if strings.TrimFunc(s, blank) == "" {
		return Invalid(field, "%s must not be empty", field)
	}
	if n := uniseg.GraphemeClusterCount(s); n > max {
		return Invalid(field, "%s is %d characters; the limit is %d", field, n, max)
	}
	return nil
}

// flagTags returns the length in bytes of the tag sequence that follows a
// black flag at the start of s — tag characters spelling a CLDR subdivision
// code (3 to 7 lowercase letters and digits, such as "gbsct") and then
// CANCEL TAG — or 0 when s does not start with one. Anything looser would
// let tag characters, which mirror ASCII and show nothing, carry hidden
// text behind a flag.
func flagTags(s string) int {
	n := 0
	for i, r := range s {
		switch {
		case r == cancelTag && n >= 3:
			return i + utf8.RuneLen(r)
		case n < 7 && (r >= '\U000E0030' && r <= '\U000E0039' || r >= '\U000E0061' && r <= '\U000E007A'):
			n++
		default:
			return 0
		}
	}
	return 0
}

// blank reports whether r shows nothing on its own: white space, the
// allowed joiners, variation selectors, and the other default-ignorable
// code points such as U+034F and the Hangul fillers. A text of only these
// is empty.
func blank(r rune) bool {
	return unicode.IsSpace(r) || r == zwj || r == zwnj ||
		unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// CharCount counts s in user-perceived characters (grapheme clusters), as
// the pages' counters do.
func CharCount(s string) int { return uniseg.GraphemeClusterCount(s) }

// ValidateSubject checks a conversation subject (1–200 characters, one line).
func ValidateSubject(s string) error {
	if err := ValidateText("subject", s, SubjectMax); err != nil {
		return err
	}
	if strings.ContainsAny(s, "\r\n") {
		return Invalid("subject", "subject must be a single line")
	}
	return nil
}

// ValidateBody checks a message body (1–5,000 characters).
func ValidateBody(s string) error { return ValidateText("body", s, BodyMax) }

// Preview returns the start of body for list screens: whitespace folded to
// single spaces, at most PreviewLen characters (grapheme clusters), with an
// ellipsis when cut. It cuts only between clusters, so an emoji sequence or
// an accented letter is never split.
func Preview(body string) string {
	s := strings.Join(strings.Fields(body), " ")
	cut, n, state := 0, 0, -1
	for rest := s; rest != ""; {
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		n++
		if n == PreviewLen {
			cut = len(s) - len(rest) - len(c) // after PreviewLen-1 clusters
		} else if n > PreviewLen {
			return strings.TrimRightFunc(s[:cut], unicode.IsSpace) + "…"
		}
	}
	return s
}

// ValidID reports whether s is a well-formed directory ID (patients, portal
// users, staff, pools): 1–128 ASCII letters, digits, '.', '_', ':' and '-',
// starting with a letter or digit; no '#' or '|', which the storage keys
// use as separators. It is the regexp ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$,
// written out because compiling regexps at start-up slows a cold start.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 128 || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '_' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

// ValidConversationID reports whether s is a well-formed conversation ID: a
// ULID in upper-case Crockford base32 (no I, L, O or U), as the server
// assigns to conversations and messages. It is the regexp
// ^[0-7][0-9A-HJKMNP-TV-Z]{25}$, written out like ValidID.
func ValidConversationID(s string) bool {
	if len(s) != 26 || s[0] < '0' || s[0] > '7' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}
