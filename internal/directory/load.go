// Package directory loads a practice's directory (practice, pools, staff,
// patients, portal users and their links) from a JSON file into the
// Directory table. It is how a deployed practice is onboarded and kept in
// step with its practice-management system; it writes through the same
// store code the handlers read with.
package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/hours"
)

// File is the JSON document Load reads. IDs of staff and portal users are
// their Cognito subs.
type File struct {
	Practice    domain.Practice `json:"practice"`
	Pools       []Pool          `json:"pools"`
	Staff       []Staff         `json:"staff"`
	Patients    []Patient       `json:"patients"`
	PortalUsers []PortalUser    `json:"portalUsers"`
	Links       []Link          `json:"links"`
	// Templates are the practice's quick replies; one with a poolId is
	// that pool's. Staff keep their own in the app.
	Templates []Template `json:"templates,omitempty"`
}

// Template is a practice or pool quick-reply template. Its body may use
// the variables of domain.TemplateVariables, written {childFirstName},
// which the server resolves for one patient when staff pick it.
type Template struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	PoolID string `json:"poolId,omitempty"`
}

// Pool is a recipient pool. ResponseTarget is how soon it answers: "4h"
// (business hours), "90m", "1d" (business days); empty is 1 business day.
type Pool struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	DoctorID       string `json:"doctorId,omitempty"`
	ResponseTarget string `json:"responseTarget,omitempty"`
}

// Staff is a staff member. Active defaults to true; set false to revoke
// access at once without deleting the record.
type Staff struct {
	ID          string           `json:"id"`
	DisplayName string           `json:"displayName"`
	Role        domain.StaffRole `json:"role"`
	Active      *bool            `json:"active,omitempty"`
	// Email receives a digest of new messages in NotifyPools.
	Email       string   `json:"email,omitempty"`
	NotifyPools []string `json:"notifyPools,omitempty"`
}

// Patient is a directory entry.
type Patient struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	DateOfBirth string `json:"dateOfBirth"`
}

// PortalUser is a portal login.
type PortalUser struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// Active false cuts the account off at its next request (default true).
	Active *bool `json:"active,omitempty"`
	// Email and Phone (E.164, e.g. +15555550123) are where notifications
	// go. Notify is the starting choice: "email" (the default when an
	// e-mail is given), "sms", "both" or "none"; the family changes it in
	// the portal, and a reload keeps their choice.
	Email  string `json:"email,omitempty"`
	Phone  string `json:"phone,omitempty"`
	Notify string `json:"notify,omitempty"`
}

// channels is the starting choice of notification channels of u.
func (u PortalUser) channels() domain.Channels {
	switch u.Notify {
	case "both":
		return domain.Channels{Email: true, SMS: true}
	case "sms":
		return domain.Channels{SMS: true}
	case "none":
		return domain.Channels{}
	}
	return domain.Channels{Email: u.Email != ""}
}

// Link lets a portal user act for a patient.
type Link struct {
	PatientID    string              `json:"patientId"`
	PortalUserID string              `json:"portalUserId"`
	Relationship domain.Relationship `json:"relationship"`
}

// Writer is what loading needs from the store.
type Writer interface {
	PutPractice(ctx context.Context, p domain.Practice) error
	PutPatient(ctx context.Context, p domain.Patient) error
	PutStaff(ctx context.Context, m domain.StaffMember) error
	PutPool(ctx context.Context, p domain.Pool) error
	PutPortalUser(ctx context.Context, u domain.PortalUser) error
	PutLink(ctx context.Context, practiceID string, l domain.Link, rec audit.Record) error
	PutPracticeTemplate(ctx context.Context, t domain.Template) error
	PracticeTemplates(ctx context.Context, practiceID string) ([]domain.Template, error)
	DeletePracticeTemplate(ctx context.Context, practiceID, id string) error
}

var (
	dobRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	// phoneRE is a phone number as families are shown it: E.164 or a
	// display form of digits, spaces, dots, dashes and parentheses.
	phoneRE = regexp.MustCompile(`^\+?[0-9(][0-9 ().-]*[0-9]$`)
)

// checkPhone accepts a displayable phone number of 7 to 15 digits.
func checkPhone(s string) bool {
	if len(s) > 30 || !phoneRE.MatchString(s) {
		return false
	}
	digits := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	return digits >= 7 && digits <= 15
}

func checkEmail(who, addr string) error {
	if addr == "" {
		return nil
	}
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || a.Name != "" {
		return fmt.Errorf("%s: email %q is not a plain e-mail address", who, addr)
	}
	return nil
}

// Parse reads and validates a directory file: unknown fields, missing
// names, bad IDs, roles, dates and links to unknown people are refused
// before anything is written.
func Parse(r io.Reader) (*File, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("directory file: %w", err)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("directory file: %w", err)
	}
	return &f, nil
}

func (f *File) validate() error {
	check := func(what, id, name string) error {
		if !domain.ValidID(id) {
			return fmt.Errorf("%s %q: id must be 1-128 letters, digits or ._:-", what, id)
		}
		if name == "" {
			return fmt.Errorf("%s %s: a name is required", what, id)
		}
		return nil
	}
	if err := check("practice", f.Practice.ID, f.Practice.Name); err != nil {
		return err
	}
	if u := f.Practice.PortalURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Hostname() != "127.0.0.1" && pu.Hostname() != "localhost") || pu.Host == "" {
			return fmt.Errorf("practice %s: portalUrl must be the portal's https:// address", f.Practice.ID)
		}
	}
	// The calendar is checked as package hours reads it, so a stored
	// practice always has one: officeHours, holidays, timeZone.
	if _, err := hours.ForPractice(f.Practice); err != nil {
		return fmt.Errorf("practice %s: %w", f.Practice.ID, err)
	}
	if n := f.Practice.NurseLine; n != "" && !checkPhone(n) {
		return fmt.Errorf(`practice %s: nurseLine %q is not a phone number; write it as families should see it, e.g. "+1 555-555-0100" or "(555) 555-0100"`, f.Practice.ID, n)
	}
	pools := map[string]bool{}
	for _, p := range f.Pools {
		if err := check("pool", p.ID, p.Name); err != nil {
			return err
		}
		if _, err := hours.ParseTarget(p.ResponseTarget); err != nil {
			return fmt.Errorf("pool %s: %w", p.ID, err)
		}
		pools[p.ID] = true
	}
	if a := f.Practice.ConfidentialFromAge; a != 0 && (a < 10 || a > 18) {
		return fmt.Errorf("practice %s: confidentialFromAge %d must be between 10 and 18 (default %d)", f.Practice.ID, a, domain.DefaultConfidentialAge)
	}
	for _, id := range f.Practice.ConfidentialPools {
		if !pools[id] {
			return fmt.Errorf("practice %s: confidentialPools names %q, which is not a pool of this file", f.Practice.ID, id)
		}
	}
	for _, s := range f.Staff {
		if err := check("staff member", s.ID, s.DisplayName); err != nil {
			return err
		}
		if !s.Role.Valid() {
			return fmt.Errorf("staff member %s: role %q is not doctor, nurse, frontdesk or admin", s.ID, s.Role)
		}
		if err := checkEmail("staff member "+s.ID, s.Email); err != nil {
			return err
		}
		for _, p := range s.NotifyPools {
			if !pools[p] {
				return fmt.Errorf("staff member %s: notifyPools names %q, which is not a pool in the file", s.ID, p)
			}
		}
		if len(s.NotifyPools) > 0 && s.Email == "" {
			return fmt.Errorf("staff member %s: notifyPools needs an email", s.ID)
		}
	}
	patients := map[string]bool{}
	for _, p := range f.Patients {
		if err := check("patient", p.ID, p.DisplayName); err != nil {
			return err
		}
		if _, err := time.Parse(time.DateOnly, p.DateOfBirth); err != nil || !dobRE.MatchString(p.DateOfBirth) {
			return fmt.Errorf("patient %s: dateOfBirth must be YYYY-MM-DD", p.ID)
		}
		patients[p.ID] = true
	}
	users := map[string]bool{}
	for _, u := range f.PortalUsers {
		if err := check("portal user", u.ID, u.DisplayName); err != nil {
			return err
		}
		if err := checkEmail("portal user "+u.ID, u.Email); err != nil {
			return err
		}
		if u.Phone != "" && !e164RE.MatchString(u.Phone) {
			return fmt.Errorf("portal user %s: phone must be E.164, e.g. +15555550123", u.ID)
		}
		switch ch := u.channels(); {
		case u.Notify != "" && u.Notify != "email" && u.Notify != "sms" && u.Notify != "both" && u.Notify != "none":
			return fmt.Errorf("portal user %s: notify must be email, sms, both or none", u.ID)
		case ch.Email && u.Email == "":
			return fmt.Errorf("portal user %s: notify by email needs an email", u.ID)
		case ch.SMS && u.Phone == "":
			return fmt.Errorf("portal user %s: notify by sms needs a phone", u.ID)
		}
		users[u.ID] = true
	}
	templates := map[string]bool{}
	for _, t := range f.Templates {
		if !domain.ValidID(t.ID) || strings.HasPrefix(t.ID, domain.PersonalTemplatePrefix) {
			return fmt.Errorf("template %q: id must be 1-128 letters, digits or ._:- and not start with %q (staff's own templates do)", t.ID, domain.PersonalTemplatePrefix)
		}
		if templates[t.ID] {
			return fmt.Errorf("template %s: the id is used twice", t.ID)
		}
		templates[t.ID] = true
		if t.PoolID != "" && !pools[t.PoolID] {
			return fmt.Errorf("template %s: poolId %q is not a pool in the file", t.ID, t.PoolID)
		}
		if err := domain.ValidateTemplate(t.Title, t.Body); err != nil {
			var de *domain.Error
			if errors.As(err, &de) {
				err = errors.New(de.Message)
			}
			return fmt.Errorf("template %s: %w", t.ID, err)
		}
	}
	for _, l := range f.Links {
		if !patients[l.PatientID] || !users[l.PortalUserID] {
			return fmt.Errorf("link %s–%s: both the patient and the portal user must be in the file", l.PatientID, l.PortalUserID)
		}
		if !l.Relationship.Valid() {
			return fmt.Errorf("link %s–%s: relationship must be parent, guardian or self", l.PatientID, l.PortalUserID)
		}
	}
	// A patient's own account opens their confidential conversations: one
	// per patient, for one patient only, and never also a guardian's link.
	ownOf, ownerOf, linked := map[string]string{}, map[string]string{}, map[[2]string]int{}
	for _, l := range f.Links {
		linked[[2]string{l.PatientID, l.PortalUserID}]++
		if linked[[2]string{l.PatientID, l.PortalUserID}] > 1 {
			return fmt.Errorf("link %s–%s: listed twice; give one relationship", l.PatientID, l.PortalUserID)
		}
		if l.Relationship != domain.RelSelf {
			continue
		}
		if other, ok := ownOf[l.PatientID]; ok {
			return fmt.Errorf("link %s–%s: patient %s already has an own account (%s); a patient has at most one", l.PatientID, l.PortalUserID, l.PatientID, other)
		}
		if other, ok := ownerOf[l.PortalUserID]; ok {
			return fmt.Errorf("link %s–%s: portal user %s is already patient %s's own account; an own account belongs to one patient", l.PatientID, l.PortalUserID, l.PortalUserID, other)
		}
		ownOf[l.PatientID], ownerOf[l.PortalUserID] = l.PortalUserID, l.PatientID
	}
	return nil
}

// Load writes f. Every write is a put of the whole record, so loading the
// same file twice changes nothing, and loading an edited file updates
// names, roles and links in place. progress is told of each section.
func Load(ctx context.Context, w Writer, f *File, by string, progress func(string, int)) error {
	pid := f.Practice.ID
	if err := w.PutPractice(ctx, f.Practice); err != nil {
		return err
	}
	for _, p := range f.Pools {
		if err := w.PutPool(ctx, domain.Pool{ID: p.ID, PracticeID: pid, Name: p.Name, DoctorID: p.DoctorID, ResponseTarget: p.ResponseTarget}); err != nil {
			return err
		}
	}
	progress("pools", len(f.Pools))
	for _, s := range f.Staff {
		active := s.Active == nil || *s.Active
		m := domain.StaffMember{ID: s.ID, PracticeID: pid, DisplayName: s.DisplayName, Role: s.Role, Active: active, Email: s.Email, NotifyPools: s.NotifyPools}
		if err := w.PutStaff(ctx, m); err != nil {
			return err
		}
	}
	progress("staff", len(f.Staff))
	patients := map[string]Patient{}
	for _, p := range f.Patients {
		patients[p.ID] = p
		if err := w.PutPatient(ctx, domain.Patient{ID: p.ID, PracticeID: pid, DisplayName: p.DisplayName, DateOfBirth: p.DateOfBirth}); err != nil {
			return err
		}
	}
	progress("patients", len(f.Patients))
	users := map[string]PortalUser{}
	for _, u := range f.PortalUsers {
		users[u.ID] = u
		active := u.Active == nil || *u.Active
		pu := domain.PortalUser{ID: u.ID, PracticeID: pid, DisplayName: u.DisplayName, Active: active, Email: u.Email, Phone: u.Phone, Notify: u.channels()}
		if err := w.PutPortalUser(ctx, pu); err != nil {
			return err
		}
	}
	progress("portal users", len(f.PortalUsers))
	now := time.Now().UTC()
	for _, l := range f.Links {
		p, u := patients[l.PatientID], users[l.PortalUserID]
		// A link grants access to a chart, so loading one is audited like
		// an admin's link, in the same transaction.
		err := w.PutLink(ctx, pid, domain.Link{
			PatientID: p.ID, PortalUserID: u.ID, Relationship: l.Relationship,
			PatientName: p.DisplayName, PatientDOB: p.DateOfBirth, PortalUserName: u.DisplayName,
			EmailKey: domain.EmailKey(u.Email), LinkedAt: now, LinkedBy: by,
		}, audit.Record{
			PatientID: p.ID, At: now, ActorID: by, ActorSide: "operator", ActorRole: "directory-loader",
			Action: audit.Link, Outcome: audit.Success, Status: 200, RequestID: "directory-load-" + now.Format(time.RFC3339),
		})
		if err != nil {
			return err
		}
	}
	progress("links", len(f.Links))
	// Templates are the file's: those it no longer lists are removed.
	keep := map[string]bool{}
	for _, t := range f.Templates {
		keep[t.ID] = true
		scope := domain.ScopePractice
		if t.PoolID != "" {
			scope = domain.ScopePool
		}
		if err := w.PutPracticeTemplate(ctx, domain.Template{ID: t.ID, Scope: scope, PracticeID: pid, PoolID: t.PoolID, Title: t.Title, Body: t.Body}); err != nil {
			return err
		}
	}
	stored, err := w.PracticeTemplates(ctx, pid)
	if err != nil {
		return err
	}
	for _, t := range stored {
		if !keep[t.ID] {
			if err := w.DeletePracticeTemplate(ctx, pid, t.ID); err != nil {
				return err
			}
		}
	}
	progress("templates", len(f.Templates))
	return nil
}
