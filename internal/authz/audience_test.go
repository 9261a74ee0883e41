package authz

import (
	"slices"
	"testing"

	"github.com/pedsportal/messaging/internal/domain"
)

// The decision is where a guardian's reach ends: whatever the reads found,
// a guardian's grant reaches the family's conversations only, and a
// confidential header in the facts is a missing conversation.
func TestAudiencesOfTheDecision(t *testing.T) {
	const pat, practice = "pt-1", "prac-1"
	user := func(id string) *domain.PortalUser {
		return &domain.PortalUser{ID: id, PracticeID: practice, Active: true}
	}
	link := func(id string, rel domain.Relationship) *domain.Link {
		return &domain.Link{PatientID: pat, PortalUserID: id, Relationship: rel}
	}
	private := &domain.Conversation{ID: "01KSEED0000000000000000001", Patient: domain.PatientRef{ID: pat}, PracticeID: practice, Audience: domain.AudienceConfidential}
	family := &domain.Conversation{ID: "01KSEED0000000000000000002", Patient: domain.PatientRef{ID: pat}, PracticeID: practice}
	guardian, teen := Principal{ID: "mom", Side: domain.SidePortal}, Principal{ID: "teen", Side: domain.SidePortal}
	staff := Principal{ID: "nurse", Side: domain.SideStaff}

	for _, tc := range []struct {
		name    string
		p       Principal
		f       Facts
		conv    string
		want    []domain.Audience
		admits  *domain.Conversation
		pending bool
	}{
		{"guardian, family conversation", guardian, Facts{PortalUser: user("mom"), Link: link("mom", domain.RelParent), LinkPracticeID: practice, Conversation: family}, family.ID, familyOnly, family, false},
		{"guardian, confidential header in the facts", guardian, Facts{PortalUser: user("mom"), Link: link("mom", domain.RelParent), LinkPracticeID: practice, Conversation: private}, private.ID, nil, nil, false},
		{"guardian, no header found", guardian, Facts{PortalUser: user("mom"), Link: link("mom", domain.RelGuardian), LinkPracticeID: practice}, private.ID, nil, nil, false},
		{"teen, confidential header", teen, Facts{PortalUser: user("teen"), Link: link("teen", domain.RelSelf), LinkPracticeID: practice, Conversation: private}, private.ID, allAudiences, private, false},
		{"teen, header not in the family's partition", teen, Facts{PortalUser: user("teen"), Link: link("teen", domain.RelSelf), LinkPracticeID: practice}, private.ID, allAudiences, nil, true},
		{"staff, confidential header", staff, Facts{Staff: &domain.StaffMember{ID: "nurse", PracticeID: practice, Active: true}, Patient: &domain.Patient{ID: pat, PracticeID: practice}, Conversation: private}, private.ID, allAudiences, private, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := DecidePatient(tc.p, pat, Extra{ConversationID: tc.conv}, &tc.f)
			if tc.want == nil {
				if domain.ErrorCode(err) != domain.ENotFound {
					t.Fatalf("DecidePatient = %+v, %v; want ENotFound", g, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.Audiences, tc.want) || g.Conversation != tc.admits || g.ConversationPending != tc.pending {
				t.Fatalf("grant audiences %v, conversation %v, pending %v", g.Audiences, g.Conversation, g.ConversationPending)
			}
			if tc.pending {
				if _, err := ConfidentialQuery(g, tc.conv); err != nil {
					t.Fatal(err)
				}
				if err := g.Admit(family); err != nil || g.ConversationPending {
					t.Fatalf("Admit(family) = %v", err)
				}
			}
		})
	}
	// Before the decision a portal caller's reads name the family's
	// partition only, unless this caller was decided to be the patient.
	if got := PreAudiences(guardian, false); !slices.Equal(got, familyOnly) {
		t.Errorf("PreAudiences(portal) = %v", got)
	}
	if got := PreAudiences(teen, true); !slices.Equal(got, allAudiences) {
		t.Errorf("PreAudiences(remembered patient) = %v", got)
	}
	q, _ := PatientQuery(guardian, pat, Extra{ConversationID: private.ID})
	if q.Confidential {
		t.Error("a portal caller's access read names the confidential header")
	}
	if q, _ := PatientQuery(staff, pat, Extra{ConversationID: private.ID}); !q.Confidential {
		t.Error("a staff access read does not name the confidential header")
	}
	g := &Grant{Patient: domain.PatientRef{ID: pat}, Audiences: familyOnly}
	if _, err := ConfidentialQuery(g, private.ID); domain.ErrorCode(err) != domain.ENotFound {
		t.Errorf("ConfidentialQuery for a guardian's grant: %v, want ENotFound", err)
	}
}
