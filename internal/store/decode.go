package store

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/domain"
)

// Lists decode up to a page of conversation headers per request, and
// attributevalue's reflection was half of a list's CPU. decodeHeader reads
// the same attributes by hand; a test holds it to attributevalue's result
// on the demo data and on generated headers, so the two cannot drift.

// Header attribute names beside the ones expressions use (items.go).
var (
	aConvID        = attr(headerAttrs{}, "ID")
	aPatient       = attr(headerAttrs{}, "Patient")
	aSubject       = attr(headerAttrs{}, "Subject")
	aStartedBy     = attr(headerAttrs{}, "StartedBy")
	aPortalUserID  = attr(headerAttrs{}, "PortalUserID")
	aCreatedAt     = attr(headerAttrs{}, "CreatedAt")
	aHeaderPractID = attr(headerAttrs{}, "PracticeID")
	aRefID         = attr(poolRefAttrs{}, "ID")
	aRefName       = attr(poolRefAttrs{}, "Name")
	aPatientName   = attr(patientRefAttrs{}, "DisplayName")
	aPartyID       = attr(partyAttrs{}, "ID")
	aPartyName     = attr(partyAttrs{}, "Name")
	aPartyRole     = attr(partyAttrs{}, "Role")
	aPartySide     = attr(partyAttrs{}, "Side")
	aPartyRel      = attr(partyAttrs{}, "Relationship")
	aAudience      = attr(headerAttrs{}, "Audience")
)

// decoder reads attributes of one item, keeping the first error.
type decoder struct {
	m   map[string]types.AttributeValue
	err error
}

func (d *decoder) fail(name, want string) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %s: not %s", name, want)
	}
}

// str reads a string attribute; a missing one is "", as attributevalue
// leaves it.
func (d *decoder) str(name string) string {
	switch v := d.m[name].(type) {
	case nil:
		return ""
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberNULL:
		return ""
	}
	d.fail(name, "a string")
	return ""
}

func (d *decoder) int(name string) int {
	switch v := d.m[name].(type) {
	case nil, *types.AttributeValueMemberNULL:
		return 0
	case *types.AttributeValueMemberN:
		n, err := strconv.Atoi(v.Value)
		if err != nil {
			d.fail(name, "an integer")
		}
		return n
	}
	d.fail(name, "a number")
	return 0
}

// time reads a time as attributevalue writes it (RFC 3339, nanoseconds).
func (d *decoder) time(name string) time.Time {
	s := d.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.fail(name, "an RFC 3339 time")
	}
	return t
}

func (d *decoder) timePtr(name string) *time.Time {
	if _, ok := d.m[name].(*types.AttributeValueMemberS); !ok {
		return nil
	}
	t := d.time(name)
	return &t
}

// sub returns a decoder over a map attribute, nil when it is absent.
func (d *decoder) sub(name string) *decoder {
	switch v := d.m[name].(type) {
	case nil, *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberM:
		return &decoder{m: v.Value}
	}
	d.fail(name, "a map")
	return nil
}

func (d *decoder) party(name string) (domain.Party, bool) {
	s := d.sub(name)
	if s == nil {
		return domain.Party{}, false
	}
	p := domain.Party{ID: s.str(aPartyID), Name: s.str(aPartyName), Role: s.str(aPartyRole), Side: domain.Side(s.str(aPartySide)), Relationship: domain.Relationship(s.str(aPartyRel))}
	if s.err != nil && d.err == nil {
		d.err = fmt.Errorf("%s: %w", name, s.err)
	}
	return p, true
}

func (d *decoder) ref(name, nameAttr string) (id, display string) {
	s := d.sub(name)
	if s == nil {
		return "", ""
	}
	id, display = s.str(aRefID), s.str(nameAttr)
	if s.err != nil && d.err == nil {
		d.err = fmt.Errorf("%s: %w", name, s.err)
	}
	return id, display
}

// decodeHeader is attributevalue.UnmarshalMap into a convItem followed by
// its conversation(), without reflection.
func decodeHeader(m map[string]types.AttributeValue) (domain.Conversation, error) {
	d := &decoder{m: m}
	c := domain.Conversation{
		ID: d.str(aConvID), PracticeID: d.str(aHeaderPractID), Subject: d.str(aSubject),
		Status: domain.Status(d.str(aStatus)), Audience: domain.Audience(d.str(aAudience)).OrFamily(), PortalUserID: d.str(aPortalUserID),
		AssignedAt: d.timePtr(aAssignedAt), Awaiting: domain.Awaiting(d.str(aAwaiting)), AwaitingSince: d.time(aAwaitingSince),
		OverdueAt: d.timePtr(aOverdueAt), AckedWindow: d.timePtr(aAckedWindow),
		CreatedAt: d.time(aCreatedAt), LastActivityAt: d.time(aLastActivityAt), MessageCount: d.int(aMessageCount),
		Preview: d.str(aPreview), PortalUnread: d.int(aPortalUnread), StaffUnread: d.int(aStaffUnread),
		PortalReadAt: d.timePtr(aPortalReadAt), StaffReadAt: d.timePtr(aStaffReadAt), Version: d.int(aVersion),
	}
	c.Patient.ID, c.Patient.DisplayName = d.ref(aPatient, aPatientName)
	c.Pool.ID, c.Pool.Name = d.ref(aPool, aRefName)
	c.StartedBy, _ = d.party(aStartedBy)
	if a, ok := d.party(aAssignee); ok {
		c.Assignee = &a
	}
	if d.err != nil {
		return domain.Conversation{}, fmt.Errorf("decode conversation: %w", d.err)
	}
	return c, nil
}
