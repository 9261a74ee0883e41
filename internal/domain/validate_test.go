package domain

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

const (
	family   = "👨\u200d👩\u200d👧"                                               // ZWJ sequence: one character
	scotland = "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F" // flag tag sequence
	redHeart = "❤\ufe0f"                                                       // with VS16 (Mn, not Cf)
	eAcute   = "e\u0301"                                                       // e + combining acute: one character
)

func TestValidateSubjectAndBody(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"subject ok", ValidateSubject, "Rash after amoxicillin", true},
		{"subject 200 runes of 4 bytes", ValidateSubject, strings.Repeat("😀", SubjectMax), true},
		{"subject 201", ValidateSubject, strings.Repeat("a", SubjectMax+1), false},
		{"subject 200 families", ValidateSubject, strings.Repeat(family, SubjectMax), true},
		{"subject 201 families", ValidateSubject, strings.Repeat(family, SubjectMax+1), false},
		{"subject empty", ValidateSubject, "", false},
		{"subject blank", ValidateSubject, "  \t ", false},
		{"subject newline", ValidateSubject, "a\nb", false},
		{"subject U+2028", ValidateSubject, "a\u2028b", false},
		{"subject RLO", ValidateSubject, "invoice \u202Efdp.exe", false},
		{"body ok with lines", ValidateBody, "line one\nline two\ttab", true},
		{"body 5000", ValidateBody, strings.Repeat("é", BodyMax), true},
		{"body 5001", ValidateBody, strings.Repeat("é", BodyMax+1), false},
		{"body 5000 families", ValidateBody, strings.Repeat(family, BodyMax), true},
		{"body 5001 families", ValidateBody, strings.Repeat(family, BodyMax+1), false},
		{"body 5000 combining accents", ValidateBody, strings.Repeat(eAcute, BodyMax), true},
		{"body 5001 combining accents", ValidateBody, strings.Repeat(eAcute, BodyMax+1), false},
		{"body invalid utf-8", ValidateBody, "ok \xff\xfe", false},
		{"body replacement char", ValidateBody, "ok \uFFFD", false},
		{"body NUL", ValidateBody, "a\x00b", false},
		{"body ESC", ValidateBody, "a\x1bb", false},
		{"body NEL", ValidateBody, "a\u0085b", false},

		// Invisible and direction-changing characters (Cf, Zl, Zp).
		{"RLO U+202E", ValidateBody, "take \u202E2 pills", false},
		{"LRO U+202D", ValidateBody, "a\u202Db", false},
		{"PDF U+202C", ValidateBody, "a\u202Cb", false},
		{"LRI U+2066", ValidateBody, "a\u2066b\u2069", false},
		{"PDI U+2069", ValidateBody, "a\u2069b", false},
		{"RLM U+200F", ValidateBody, "a\u200Fb", false},
		{"ALM U+061C", ValidateBody, "a\u061Cb", false},
		{"ZWSP U+200B", ValidateBody, "dose\u200B 5 ml", false},
		{"word joiner U+2060", ValidateBody, "a\u2060b", false},
		{"BOM U+FEFF", ValidateBody, "\uFEFFhello", false},
		{"soft hyphen U+00AD", ValidateBody, "amoxi\u00ADcillin", false},
		{"Mongolian vowel separator U+180E", ValidateBody, "a\u180Eb", false},
		{"line separator U+2028", ValidateBody, "a\u2028b", false},
		{"paragraph separator U+2029", ValidateBody, "a\u2029b", false},
		{"bare tag characters", ValidateBody, "hi\U000E0069\U000E0067\U000E006E", false},
		{"bare cancel tag", ValidateBody, "hi\U000E007F", false},
		{"language tag U+E0001", ValidateBody, "\U000E0001\U000E0065\U000E006Ehi", false},
		{"tags before a flag", ValidateBody, "\U000E0067🏴", false},
		{"flag tags unterminated", ValidateBody, "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074", false},
		{"flag tags too short", ValidateBody, "🏴\U000E0067\U000E0062\U000E007F", false},
		{"flag tags too long (hidden text)", ValidateBody, "🏴\U000E0069\U000E0067\U000E006E\U000E006F\U000E0072\U000E0065\U000E0061\U000E006C\U000E006C\U000E007F", false},
		{"flag tags upper case", ValidateBody, "🏴\U000E0047\U000E0042\U000E0053\U000E0043\U000E0054\U000E007F", false},
		{"flag tags with space", ValidateBody, "🏴\U000E0067\U000E0020\U000E0062\U000E0073\U000E007F", false},
		{"tags after a valid flag", ValidateBody, scotland + "\U000E0078", false},

		// Allowed: what emoji and scripts need.
		{"family ZWJ sequence", ValidateBody, "Our " + family + " says hi", true},
		{"flag tag sequence", ValidateBody, "Back from " + scotland, true},
		{"two flags in a row", ValidateBody, scotland + scotland, true},
		{"plain black flag", ValidateBody, "🏴 pirate day", true},
		{"heart with VS16", ValidateBody, "Thanks " + redHeart, true},
		{"text-style VS15", ValidateBody, "☺\ufe0e", true},
		{"Persian with ZWNJ", ValidateBody, "می\u200Cخواهم وقت بگیرم", true},
		{"Devanagari with ZWJ", ValidateBody, "क्\u200Dष", true},
		{"skin tone", ValidateBody, "👋🏽", true},
		{"keycap", ValidateBody, "1\ufe0f\u20e3", true},
		{"Hebrew", ValidateBody, "שלום", true},
		{"combining accent", ValidateBody, "Caf" + eAcute, true},

		// Empty once the allowed invisible characters are set aside.
		{"only ZWJs and spaces", ValidateBody, "\u200D \u200D\u200D \n", false},
		{"only ZWNJ", ValidateSubject, "\u200C", false},
		{"only variation selectors", ValidateBody, "\ufe0f\ufe0f", false},
		{"only Hangul fillers", ValidateBody, "\u3164 \uFFA0", false},
		{"only a combining grapheme joiner", ValidateBody, "\u034F", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check(tc.in)
			if got := err == nil; got != tc.ok {
				t.Fatalf("valid = %v, want %v (err %v)", got, tc.ok, err)
			}
			if err != nil && ErrorCode(err) != EInvalid {
				t.Fatalf("code = %s, want %s", ErrorCode(err), EInvalid)
			}
		})
	}
}

// TestValidateTextMessages checks what a person is told: the field, the
// offending code point, and the count in characters as they see them.
func TestValidateTextMessages(t *testing.T) {
	for _, tc := range []struct{ name, field, in, want string }{
		{"RLO", "body", "a\u202Eb", "body contains an invisible or direction-changing character (U+202E); remove it"},
		{"LRI", "subject", "a\u2066b", "subject contains an invisible or direction-changing character (U+2066); remove it"},
		{"BOM", "body", "\uFEFFa", "body contains an invisible or direction-changing character (U+FEFF); remove it"},
		{"U+2029", "body", "a\u2029b", "body contains an invisible or direction-changing character (U+2029); remove it"},
		{"tag", "body", "a\U000E0041", "body contains an invisible or direction-changing character (U+E0041); remove it"},
		{"control", "body", "a\x07b", "body contains a control character (U+0007); remove it"},
		{"empty", "body", "\u200D \u200D", "body must not be empty"},
		{"families", "body", strings.Repeat(family, 11), "body is 11 characters; the limit is 10"},
		{"accents", "body", strings.Repeat(eAcute, 11), "body is 11 characters; the limit is 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateText(tc.field, tc.in, 10)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a domain error", err)
			}
			if got := e.Message; got != tc.want {
				t.Errorf("message = %q, want %q", got, tc.want)
			}
			if got := e.Field; got != tc.field {
				t.Errorf("field = %q, want %q", got, tc.field)
			}
		})
	}
}

func TestPreview(t *testing.T) {
	long := strings.Repeat("word ", 100)
	for _, tc := range []struct{ in, want string }{
		{"short  text\n\nhere", "short text here"},
		{"", ""},
		{strings.Repeat("a", PreviewLen), strings.Repeat("a", PreviewLen)},
		{strings.Repeat("a", PreviewLen+1), strings.Repeat("a", PreviewLen-1) + "…"},
		{strings.Repeat(family, PreviewLen), strings.Repeat(family, PreviewLen)},
		{strings.Repeat(family, PreviewLen+1), strings.Repeat(family, PreviewLen-1) + "…"},
		{strings.Repeat(eAcute, PreviewLen+5), strings.Repeat(eAcute, PreviewLen-1) + "…"},
		{strings.Repeat("a", PreviewLen-2) + " " + strings.Repeat("b", 10), strings.Repeat("a", PreviewLen-2) + "…"},
	} {
		if got := Preview(tc.in); got != tc.want {
			t.Errorf("Preview(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	p := Preview(long)
	if n := uniseg.GraphemeClusterCount(p); n > PreviewLen || !strings.HasSuffix(p, "…") {
		t.Errorf("Preview(long) = %d characters %q; want <= %d ending in …", n, p, PreviewLen)
	}
	if p := Preview(strings.Repeat("🙂", 300)); utf8.RuneCountInString(p) != PreviewLen || !utf8.ValidString(p) {
		t.Errorf("Preview cut a multi-byte rune: %d runes", utf8.RuneCountInString(p))
	}
	// A cut anywhere in a run of mixed clusters leaves only whole clusters.
	mixed := strings.Repeat("a"+family+eAcute+scotland+redHeart+"👋🏽", 60)
	p = Preview(mixed)
	want, g := "", uniseg.NewGraphemes(mixed)
	for range PreviewLen - 1 {
		g.Next()
		want += g.Str()
	}
	if want += "…"; p != want {
		t.Errorf("Preview(mixed) = %q, want the first %d whole clusters %q", p, PreviewLen-1, want)
	}
}

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"p-mateo", true},
		{"A", true},
		{"9", true},
		{"pool:nurse_line.v2", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"-p", false},
		{".p", false},
		{"_p", false},
		{":p", false},
		{"p#1", false},
		{"p|1", false},
		{"p 1", false},
		{"p/1", false},
		{"p\n", false},
		{"é", false},
		{"pé", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := ValidID(tc.in); got != tc.want {
				t.Errorf("ValidID(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidConversationID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"01J9Z8Q4V6X0M3K5N7P9R1T2W4", true},
		{"7ZZZZZZZZZZZZZZZZZZZZZZZZZ", true},
		{"00000000000000000000000000", true},
		{"8ZZZZZZZZZZZZZZZZZZZZZZZZZ", false},  // overflows 128 bits
		{"01J9Z8Q4V6X0M3K5N7P9R1T2W", false},   // 25
		{"01J9Z8Q4V6X0M3K5N7P9R1T2W45", false}, // 27
		{"01J9Z8Q4V6X0M3K5N7P9R1T2WI", false},
		{"01J9Z8Q4V6X0M3K5N7P9R1T2WL", false},
		{"01J9Z8Q4V6X0M3K5N7P9R1T2WO", false},
		{"01J9Z8Q4V6X0M3K5N7P9R1T2WU", false},
		{"01j9z8q4v6x0m3k5n7p9r1t2w4", false},
		{"01J9Z8Q4V6X0M3K5N7P9R1T2W\n", false},
		{"", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := ValidConversationID(tc.in); got != tc.want {
				t.Errorf("ValidConversationID(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// TestIDsMatchTheOldRegexps proves the hand-written loops answer exactly as
// the regexps they replaced, over every string of up to two bytes, and over
// every byte in every position of strings at and around the length limits.
func TestIDsMatchTheOldRegexps(t *testing.T) {
	idRE := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	ulidRE := regexp.MustCompile(`^[0-7][0-9A-HJKMNP-TV-Z]{25}$`)
	check := func(s string) {
		t.Helper()
		if got, want := ValidID(s), idRE.MatchString(s); got != want {
			t.Fatalf("ValidID(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := ValidConversationID(s), ulidRE.MatchString(s); got != want {
			t.Fatalf("ValidConversationID(%q) = %v, regexp says %v", s, got, want)
		}
	}
	check("")
	for a := range 256 {
		check(string([]byte{byte(a)}))
		for b := range 256 {
			check(string([]byte{byte(a), byte(b)}))
		}
	}
	bases := []string{"01J9Z8Q4V6X0M3K5N7P9R1T2W4", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "0123456789ABCDEFGHJKMNPQRS"}
	for _, n := range []int{25, 26, 27, 127, 128, 129} {
		bases = append(bases, strings.Repeat("a", n), strings.Repeat("Z9._:-", n)[:n])
	}
	for _, base := range bases {
		check(base)
		for i := range len(base) {
			b := []byte(base)
			for c := range 256 {
				b[i] = byte(c)
				check(string(b))
			}
		}
	}
}

func TestErrorCode(t *testing.T) {
	if got := ErrorCode(Invalid("f", "x")); got != EInvalid {
		t.Errorf("got %s", got)
	}
	if got := ErrorCode(errors.ErrUnsupported); got != EInternal {
		t.Errorf("plain error: got %s, want internal", got)
	}
}
