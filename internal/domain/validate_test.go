package domain

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
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
		{"subject empty", ValidateSubject, "", false},
		{"subject blank", ValidateSubject, "  \t ", false},
		{"subject newline", ValidateSubject, "a\nb", false},
		{"body ok with lines", ValidateBody, "line one\nline two\ttab", true},
		{"body 5000", ValidateBody, strings.Repeat("é", BodyMax), true},
		{"body 5001", ValidateBody, strings.Repeat("é", BodyMax+1), false},
		{"body invalid utf-8", ValidateBody, "ok \xff\xfe", false},
		{"body replacement char", ValidateBody, "ok \uFFFD", false},
		{"body NUL", ValidateBody, "a\x00b", false},
		{"body bidi-free control", ValidateBody, "a\x1bb", false},
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

func TestPreview(t *testing.T) {
	long := strings.Repeat("word ", 100)
	for _, tc := range []struct{ in, want string }{
		{"short  text\n\nhere", "short text here"},
		{"", ""},
	} {
		if got := Preview(tc.in); got != tc.want {
			t.Errorf("Preview(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	p := Preview(long)
	if n := utf8.RuneCountInString(p); n > PreviewLen || !strings.HasSuffix(p, "…") {
		t.Errorf("Preview(long) = %d runes %q; want <= %d ending in …", n, p, PreviewLen)
	}
	if p := Preview(strings.Repeat("🙂", 300)); utf8.RuneCountInString(p) != PreviewLen || !utf8.ValidString(p) {
		t.Errorf("Preview cut a multi-byte rune: %d runes", utf8.RuneCountInString(p))
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
