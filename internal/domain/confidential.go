package domain

import (
	"slices"
	"time"
)

// DefaultConfidentialAge is the age from which a patient's own account may
// keep a conversation from their guardians when the practice sets none:
// where most pediatric portals limit a guardian's proxy access.
const DefaultConfidentialAge = 12

// ConfidentialAge is the practice's age for confidential conversations.
func (p Practice) ConfidentialAge() int {
	if p.ConfidentialFromAge > 0 {
		return p.ConfidentialFromAge
	}
	return DefaultConfidentialAge
}

// ConfidentialPool reports whether a conversation in pool may be
// confidential at this practice.
func (p Practice) ConfidentialPool(poolID string) bool {
	return slices.Contains(p.ConfidentialPools, poolID)
}

// AgeOn is the age in whole years, on the calendar date that at falls on in
// loc, of someone born on dob (YYYY-MM-DD). A birthday on 29 February
// counts from 1 March in other years. ok is false for a malformed date.
// Nothing stores an age: it is computed at each request, so access changes
// on the birthday itself without any job.
func AgeOn(dob string, at time.Time, loc *time.Location) (age int, ok bool) {
	b, err := time.Parse(time.DateOnly, dob)
	if err != nil {
		return 0, false
	}
	y, m, d := at.In(loc).Date()
	age = y - b.Year()
	if m < b.Month() || (m == b.Month() && d < b.Day()) {
		age--
	}
	return age, age >= 0
}

// ConfidentialAgeRule decides whether a conversation about a patient born
// on dob may be confidential at at: from the practice's age. Staff who
// start or move one are held to it. Errors: EInvalid naming the field, in
// words a nurse can act on.
func ConfidentialAgeRule(p Practice, loc *time.Location, dob string, at time.Time) error {
	age, ok := AgeOn(dob, at, loc)
	if !ok || age < p.ConfidentialAge() {
		return Invalid("audience", "conversations only the care team sees are available from age %d", p.ConfidentialAge())
	}
	return nil
}

// ConfidentialRule is ConfidentialAgeRule for a patient writing in pool,
// which must also be one the practice lets patients write to
// confidentially (the doctor, the nurse line; not billing).
func ConfidentialRule(p Practice, loc *time.Location, dob, poolID string, at time.Time) error {
	if err := ConfidentialAgeRule(p, loc, dob, at); err != nil {
		return err
	}
	if !p.ConfidentialPool(poolID) {
		return Invalid("audience", "this recipient does not take conversations only the care team sees; choose the doctor or the nurse line")
	}
	return nil
}
