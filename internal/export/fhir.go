// Package export writes a part of a patient's conversations (app.Export)
// as a file: a readable HTML page, or a FHIR R4 Bundle of Communication
// resources. It only encodes; what goes into a part, who may download it
// and its audit record are package app's.
package export

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
)

// The FHIR R4 elements this package writes, no more. No Go R4 model we
// could use encodes Communication.payload correctly (the generated models
// of samply/golang-fhir-models and its forks write all three content[x]
// choices on every payload, which R4 forbids) and Google's protos would
// triple a bootstrap; so these few types are checked instead against the
// official R4 JSON schema in this package's tests, and read back there with
// the samply model.
type (
	bundle struct {
		ResourceType string        `json:"resourceType"`
		Meta         meta          `json:"meta"`
		Type         string        `json:"type"`
		Timestamp    string        `json:"timestamp"`
		Link         []bundleLink  `json:"link,omitempty"`
		Entry        []bundleEntry `json:"entry"`
	}
	meta struct {
		LastUpdated string `json:"lastUpdated"`
	}
	bundleLink struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	}
	bundleEntry struct {
		FullURL  string        `json:"fullUrl"`
		Resource communication `json:"resource"`
	}
	communication struct {
		ResourceType string           `json:"resourceType"`
		ID           string           `json:"id"`
		Identifier   []identifier     `json:"identifier"`
		PartOf       []reference      `json:"partOf,omitempty"`
		InResponseTo []reference      `json:"inResponseTo,omitempty"`
		Status       string           `json:"status"`
		Subject      reference        `json:"subject"`
		Topic        *codeableConcept `json:"topic,omitempty"`
		Sent         string           `json:"sent"`
		Received     string           `json:"received"`
		Recipient    []reference      `json:"recipient"`
		Sender       reference        `json:"sender"`
		Payload      []payload        `json:"payload"`
	}
	reference struct {
		Reference  string      `json:"reference,omitempty"`
		Type       string      `json:"type,omitempty"`
		Identifier *identifier `json:"identifier,omitempty"`
		Display    string      `json:"display,omitempty"`
	}
	identifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	codeableConcept struct {
		Text string `json:"text"`
	}
	payload struct {
		ContentString string `json:"contentString"`
	}
)

// System is the base of the identifier systems: who and what the
// references name are this product's IDs (the chart has no FHIR server of
// its own to resolve them against).
const System = "https://pedsportal.dev/fhir/sid/"

// Identifier systems.
const (
	SysPatient      = System + "patient"
	SysPortalUser   = System + "portal-user"
	SysStaff        = System + "staff"
	SysPool         = System + "pool"
	SysMessage      = System + "message"
	SysConversation = System + "conversation"
)

// FHIRType is the media type of a FHIR JSON file.
const FHIRType = "application/fhir+json"

func ref(typ, system, id, display string) reference {
	return reference{Type: typ, Identifier: &identifier{system, id}, Display: display}
}

// Sender is who wrote m, as FHIR names them: staff are Practitioners, the
// automatic replies a Device, the patient's own account the Patient, and
// any other portal user (a guardian) a RelatedPerson of the patient.
func Sender(m domain.Message, patient domain.PatientRef) reference {
	switch {
	case m.Automatic:
		return reference{Type: "Device", Display: m.Author.Name}
	case m.Author.Side == domain.SideStaff:
		return ref("Practitioner", SysStaff, m.Author.ID, m.Author.Name)
	case m.Author.IsPatient():
		// The patient's own account (a teenager): the patient wrote it.
		return ref("Patient", SysPatient, patient.ID, patient.DisplayName)
	default:
		return ref("RelatedPerson", SysPortalUser, m.Author.ID, m.Author.Name)
	}
}

// recipient is whom m was written to: the family's messages go to the
// conversation's pool, the practice's to the family member of the
// conversation (who reads it with every other guardian linked).
func recipient(m domain.Message, c domain.Conversation) reference {
	if m.Author.Side == domain.SidePortal {
		return ref("HealthcareService", SysPool, c.Pool.ID, c.Pool.Name)
	}
	// A confidential conversation is the patient's own, and so is one the
	// patient started.
	if c.PortalUserID == "" || c.Audience == domain.AudienceConfidential || (c.StartedBy.ID == c.PortalUserID && c.StartedBy.IsPatient()) {
		return ref("Patient", SysPatient, c.Patient.ID, c.Patient.DisplayName)
	}
	name := ""
	if c.StartedBy.ID == c.PortalUserID {
		name = c.StartedBy.Name
	}
	return ref("RelatedPerson", SysPortalUser, c.PortalUserID, name)
}

// urn is the bundle-local URL of message id: its ULID as a UUID, so that
// partOf and inResponseTo resolve inside the bundle.
func urn(id string) string {
	u, err := ulid.ParseStrict(id)
	if err != nil {
		// Not a ULID (never for stored messages): still a stable URN.
		return "urn:pedsportal:message:" + id
	}
	h := hex.EncodeToString(u[:])
	return "urn:uuid:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// FHIR encodes e as a FHIR R4 Bundle (type collection) of one
// Communication per message, in chain order: each message is partOf the
// chain's first message and inResponseTo the one before it, so the chain
// can be rebuilt from the bundle alone. A stored message was delivered
// when it was stored, so received equals sent. next is the URL of the next
// part, "" on the last.
func FHIR(e app.Export, next string) ([]byte, error) {
	b := bundle{ResourceType: "Bundle", Meta: meta{instant(e.At)}, Type: "collection", Timestamp: instant(e.At), Entry: []bundleEntry{}}
	if next != "" {
		b.Link = []bundleLink{{Relation: "next", URL: next}}
	}
	subject := ref("Patient", SysPatient, e.Patient.ID, e.Patient.DisplayName)
	for _, x := range e.Conversations {
		c := x.Conversation
		prev := x.PreviousID
		for _, m := range x.Messages {
			r := communication{
				ResourceType: "Communication", ID: m.ID,
				Identifier: []identifier{{SysMessage, m.ID}, {SysConversation, c.ID}},
				Status:     "completed", Subject: subject, Topic: &codeableConcept{c.Subject},
				Sent: instant(m.CreatedAt), Received: instant(m.CreatedAt),
				Recipient: []reference{recipient(m, c)}, Sender: Sender(m, e.Patient),
				Payload: []payload{{m.Body}},
			}
			if m.ID != x.FirstID {
				r.PartOf = []reference{{Reference: urn(x.FirstID), Type: "Communication"}}
			}
			if prev != "" {
				r.InResponseTo = []reference{{Reference: urn(prev), Type: "Communication"}}
			}
			b.Entry = append(b.Entry, bundleEntry{FullURL: urn(m.ID), Resource: r})
			prev = m.ID
		}
	}
	return json.Marshal(b)
}
