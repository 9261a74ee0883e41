package domain

import (
	"strings"
	"time"
	"unicode"
)

// Directory search: staff find patients by name or date of birth, and
// admins find portal users by name or e-mail address, through index items
// keyed by normalized tokens (package store), never by reading a roster.
// This file is the one definition of what a token is, so that what is
// stored and what is asked for are normalized alike.

// Search limits.
const (
	// MaxNameTokens caps the tokens of one name: a name of more parts is
	// found by its first ones.
	MaxNameTokens = 12
	// MaxSearchTerms caps the terms of one query.
	MaxSearchTerms = 6
	// MinPrefix is the shortest prefix a search may start from: one letter
	// would read a good part of a roster.
	MinPrefix = 2
)

// fold maps lower-case Latin letters with diacritics (Latin-1 Supplement,
// Latin Extended-A, and the Romanian comma letters) to their base letters,
// so that "José Müller" is found as "jose muller". Letters outside this
// table are kept as they are (and still match themselves); combining marks
// are dropped, so a decomposed "e" + U+0301 folds to "e" too.
var fold = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'æ': "ae", 'œ': "oe", 'þ': "th", 'ĳ': "ij", 'ŉ': "n"}
	for base, letters := range map[string]string{
		"a": "àáâãäåāăą", "c": "çćĉċč", "d": "ďđð", "e": "èéêëēĕėęě", "g": "ĝğġģ",
		"h": "ĥħ", "i": "ìíîïĩīĭįı", "j": "ĵ", "k": "ķĸ", "l": "ĺļľŀł", "n": "ñńņň",
		"o": "òóôõöøōŏő", "r": "ŕŗř", "s": "śŝşšș", "t": "ţťŧț", "u": "ùúûüũūŭůűų",
		"w": "ŵ", "y": "ýÿŷ", "z": "źżž",
	} {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()

// FoldLower lower-cases s and folds accented Latin letters to their base
// letters ("Zoë Núñez" → "zoe nunez").
func FoldLower(s string) string {
	var b strings.Builder
	for _, r := range s {
		r = unicode.ToLower(r)
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if f, ok := fold[r]; ok {
			b.WriteString(f)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isApostrophe(r rune) bool { return r == '\'' || r == '’' || r == 'ʼ' }

// NameTokens are the search tokens of a name: each part, folded and
// lower-cased, split at spaces, hyphens and other punctuation. An
// apostrophe joins ("O'Brien" → "obrien") and its pieces count too
// ("brien"). Duplicates are dropped; at most MaxNameTokens.
func NameTokens(name string) []string {
	var out []string
	add := func(t string) {
		if t != "" && len(out) < MaxNameTokens && !contains(out, t) {
			out = append(out, t)
		}
	}
	words := strings.FieldsFunc(FoldLower(name), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !isApostrophe(r)
	})
	for _, w := range words {
		add(strings.Map(func(r rune) rune {
			if isApostrophe(r) {
				return -1
			}
			return r
		}, w))
		if strings.IndexFunc(w, isApostrophe) >= 0 {
			for _, piece := range strings.FieldsFunc(w, isApostrophe) {
				if len([]rune(piece)) >= MinPrefix {
					add(piece)
				}
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// EmailToken is the search token of an e-mail address: the whole address,
// folded and lower-cased.
func EmailToken(addr string) string { return FoldLower(strings.TrimSpace(addr)) }

// ParseDate reads a date of birth as staff type it: YYYY-MM-DD, or the US
// form MM/DD/YYYY (one-digit month and day allowed). It returns
// YYYY-MM-DD, the stored form.
func ParseDate(s string) (string, bool) {
	for _, layout := range []string{"2006-01-02", "1/2/2006", "01/02/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly), true
		}
	}
	return "", false
}

// SearchQuery is a parsed directory search. A result must match every
// term: each name term is a prefix of one of its name tokens, the e-mail
// term a prefix of its address, the date its date of birth.
type SearchQuery struct {
	Names []string
	Email string
	DOB   string
}

// SearchKind says what a search may be asked for.
type SearchKind int

// Search kinds.
const (
	// SearchPatients takes name parts and a date of birth.
	SearchPatients SearchKind = iota
	// SearchPortalUsers takes name parts and an e-mail address (a term
	// holding "@").
	SearchPortalUsers
)

// ParseSearch parses what a person typed into a search box. Terms are
// separated by spaces; a term holding "@" is an e-mail address (portal
// users), a term that reads as a date is a date of birth (patients); every
// other term is split into name tokens as names are. Errors: EInvalid
// naming "query".
func ParseSearch(q string, kind SearchKind) (SearchQuery, error) {
	var sq SearchQuery
	hint := "part of a name, or a date of birth as YYYY-MM-DD or MM/DD/YYYY"
	if kind == SearchPortalUsers {
		hint = "part of a name, or an e-mail address"
	}
	if n := CharCount(strings.TrimSpace(q)); n < MinPrefix || n > 100 {
		return sq, Invalid("query", "query must be %d to 100 characters: %s", MinPrefix, hint)
	}
	if err := ValidateText("query", q, 100); err != nil {
		return sq, err
	}
	fields := strings.Fields(q)
	if len(fields) > MaxSearchTerms {
		return sq, Invalid("query", "query has %d words; use at most %d", len(fields), MaxSearchTerms)
	}
	for _, f := range fields {
		if d, ok := ParseDate(f); ok && kind == SearchPatients {
			if sq.DOB != "" && sq.DOB != d {
				return sq, Invalid("query", "query names two dates of birth; use one")
			}
			sq.DOB = d
			continue
		}
		if strings.Contains(f, "@") {
			if kind != SearchPortalUsers {
				return sq, Invalid("query", "patients are found by %s", hint)
			}
			if sq.Email != "" {
				return sq, Invalid("query", "query names two e-mail addresses; use one")
			}
			sq.Email = EmailToken(f)
			continue
		}
		for _, t := range NameTokens(f) {
			if !contains(sq.Names, t) {
				sq.Names = append(sq.Names, t)
			}
		}
	}
	if sq.DOB == "" && sq.Email == "" {
		if len(sq.Names) == 0 {
			return sq, Invalid("query", "query must hold %s", hint)
		}
		if _, driver := sq.Driver(); len([]rune(driver)) < MinPrefix {
			return sq, Invalid("query", "query needs a word of at least %d letters", MinPrefix)
		}
	}
	return sq, nil
}

// Search index kinds: which index a driver term is looked up in.
const (
	ByName  = "name"
	ByEmail = "email"
	ByDOB   = "dob"
)

// Driver is the term a search looks up in the index: the date of birth or
// the e-mail address when given (exact enough), else the longest name term
// (the most selective prefix). The other terms filter what it finds.
func (q SearchQuery) Driver() (kind, term string) {
	switch {
	case q.DOB != "":
		return ByDOB, q.DOB
	case q.Email != "":
		return ByEmail, q.Email
	}
	for _, n := range q.Names {
		if len([]rune(n)) > len([]rune(term)) {
			term = n
		}
	}
	return ByName, term
}

// MatchesNames reports whether every name term is a prefix of one of
// tokens: the filter applied to what the driver found.
func (q SearchQuery) MatchesNames(tokens []string) bool {
	for _, n := range q.Names {
		found := false
		for _, t := range tokens {
			if strings.HasPrefix(t, n) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// MaskEmail shows enough of an address for an admin to confirm it with
// the family ("a•••@example.com") without listing parents' addresses on
// a front-desk screen. "" stays "".
func MaskEmail(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if addr == "" {
		return ""
	}
	if !ok || local == "" {
		return "•••"
	}
	first := []rune(local)[0]
	return string(first) + "•••@" + domain
}
