package domain

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits, in Unicode characters (runes), as a person counts them.
const (
	SubjectMax = 200
	BodyMax    = 5000
	PreviewLen = 140
)

// ValidateText checks a required plain-text field: valid UTF-8, not blank,
// at most max characters, and no control characters other than line breaks
// and tabs (they render unpredictably and hide content).
func ValidateText(field, s string, max int) error {
	// U+FFFD is what invalid UTF-8 becomes when a JSON layer upstream
	// repairs it; storing it would silently change what the user wrote.
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return Invalid(field, "%s is not valid UTF-8 text", field)
	}
	if strings.TrimSpace(s) == "" {
		return Invalid(field, "%s must not be empty", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Invalid(field, "%s is %d characters; the limit is %d", field, n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return Invalid(field, "%s contains a control character", field)
		}
	}
	return nil
}

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
// single spaces, at most PreviewLen characters, with an ellipsis when cut.
func Preview(body string) string {
	s := strings.Join(strings.Fields(body), " ")
	if utf8.RuneCountInString(s) <= PreviewLen {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:PreviewLen-1]), unicode.IsSpace) + "…"
}

var (
	// idRE is the format of directory IDs (patients, portal users, staff,
	// pools): no '#' or '|', which the storage keys use as separators.
	idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	// ulidRE is a ULID in Crockford base32, as the server assigns to
	// conversations and messages.
	ulidRE = regexp.MustCompile(`^[0-7][0-9A-HJKMNP-TV-Z]{25}$`)
)

// ValidID reports whether s is a well-formed directory ID.
func ValidID(s string) bool { return idRE.MatchString(s) }

// ValidConversationID reports whether s is a well-formed conversation ID.
func ValidConversationID(s string) bool { return ulidRE.MatchString(s) }
