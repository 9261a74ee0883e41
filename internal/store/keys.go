package store

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/domain"
)

// Key prefixes. Every item of a patient shares the patient's partition, so
// one Query serves a list or a whole chain.
const (
	pfxPatient    = "PATIENT#"
	pfxPortalUser = "PORTALUSER#"
	pfxStaff      = "STAFF#"
	pfxPractice   = "PRACTICE#"
	pfxLink       = "LINK#"
	pfxPool       = "POOL#"
	pfxConv       = "CONV#"
	pfxMsg        = "#MSG#"
	pfxIdem       = "IDEM#"
	pfxCount      = "COUNT#"
	pfxActor      = "ACTOR#"
	skProfile     = "PROFILE"
)

// keyTime is a fixed-width UTC time, so that keys sort by time as strings.
// (RFC 3339 with trimmed fractions does not.)
const keyTime = "2006-01-02T15:04:05.000000Z"

func timeKey(t time.Time) string { return t.UTC().Format(keyTime) }

type key struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
}

func (k key) av() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		aPK: &types.AttributeValueMemberS{Value: k.PK},
		aSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

func patientKey(patientID string) key { return key{pfxPatient + patientID, skProfile} }
func linkKey(patientID, portalUserID string) key {
	return key{pfxPatient + patientID, pfxLink + portalUserID}
}
func staffKey(staffID string) key           { return key{pfxStaff + staffID, skProfile} }
func portalUserKey(portalUserID string) key { return key{pfxPortalUser + portalUserID, skProfile} }
func poolKey(poolID string) key             { return key{pfxPool + poolID, skProfile} }
func rosterPoolKey(practiceID, poolID string) key {
	return key{pfxPractice + practiceID, pfxPool + poolID}
}
func practiceKey(practiceID string) key { return key{pfxPractice + practiceID, skProfile} }

// pkPractices is the registry partition: one item per practice, so that
// scheduled work can list the practices without a scan.
const pkPractices = "PRACTICES"

func practiceRegistryKey(practiceID string) key { return key{pkPractices, practiceID} }

// registryItem lists a practice in the registry: its key and owner only,
// so that it never holds a stale copy of the practice's settings.
type registryItem struct {
	key
	PracticeID string `dynamodbav:"practiceId"`
}

func rosterPatientKey(practiceID, patientID string) key {
	return key{pfxPractice + practiceID, pfxPatient + patientID}
}
func rosterStaffKey(practiceID, staffID string) key {
	return key{pfxPractice + practiceID, pfxStaff + staffID}
}

// Messages table: the partition key is the bare patient ID for the
// family's conversations and the patient ID with sfxConfidential for
// conversations only the patient and the care team see. A read names its
// partition from the audiences its grant reaches (chartPK), so no list,
// chain or header read of a guardian can return a confidential item.
const sfxConfidential = "#CONFIDENTIAL"

func chartPK(patientID string, a domain.Audience) string {
	if a == domain.AudienceConfidential {
		return patientID + sfxConfidential
	}
	return patientID
}

func convKey(patientID string, a domain.Audience, convID string) key {
	return key{chartPK(patientID, a), pfxConv + convID}
}
func msgKey(patientID string, a domain.Audience, convID, msgID string) key {
	return key{chartPK(patientID, a), pfxConv + convID + pfxMsg + msgID}
}

// Worklog table: a conversation's notes and events, in time order.
func entryKey(patientID, convID, entryID string) key {
	return key{patientID, pfxConv + convID + "#" + entryID}
}

// Idempotency table: records and daily counters, keyed by patient too.
func idemKey(patientID, callerID, idemKey string) key {
	return key{patientID, pfxIdem + callerID + "#" + idemKey}
}
func counterKey(patientID, callerID, day string) key {
	return key{patientID, pfxCount + callerID + "#" + day}
}

// marshal is attributevalue.MarshalMap for item structs, which cannot fail
// for the plain structs used here; an error is still returned, not hidden.
func marshal(v any) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(v)
}
