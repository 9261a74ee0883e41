package streams

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// lambdaRecord is one record as Lambda's event source mapping writes it
// into the event's Records array (see the DynamoDB Streams event in the
// Lambda developer guide).
type lambdaRecord struct {
	EventID        string        `json:"eventID"`
	EventName      string        `json:"eventName"`
	EventVersion   string        `json:"eventVersion"`
	EventSource    string        `json:"eventSource"`
	AWSRegion      string        `json:"awsRegion"`
	Change         lambdaChange  `json:"dynamodb"`
	EventSourceARN string        `json:"eventSourceARN"`
	UserIdentity   *lambdaUserID `json:"userIdentity,omitempty"`
}

type lambdaChange struct {
	// Seconds since the epoch, as a JSON number.
	ApproximateCreationDateTime int64          `json:"ApproximateCreationDateTime,omitempty"`
	Keys                        map[string]any `json:"Keys,omitempty"`
	NewImage                    map[string]any `json:"NewImage,omitempty"`
	OldImage                    map[string]any `json:"OldImage,omitempty"`
	SequenceNumber              string         `json:"SequenceNumber"`
	SizeBytes                   int64          `json:"SizeBytes"`
	StreamViewType              string         `json:"StreamViewType"`
}

type lambdaUserID struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
}

// record is one stream record ready to be put into an event.
type record struct {
	eventID string
	seq     string
	json    json.RawMessage
}

// convert turns a GetRecords record into the JSON Lambda would deliver.
func convert(r types.Record, streamARN, region string) (record, error) {
	if r.Dynamodb == nil || aws.ToString(r.Dynamodb.SequenceNumber) == "" {
		return record{}, fmt.Errorf("streams: record %s has no sequence number", aws.ToString(r.EventID))
	}
	sr := r.Dynamodb
	lr := lambdaRecord{
		EventID:      aws.ToString(r.EventID),
		EventName:    string(r.EventName),
		EventVersion: aws.ToString(r.EventVersion),
		EventSource:  "aws:dynamodb",
		// DynamoDB Local names a region of its own ("ddblocal"); Lambda
		// gives the table's.
		AWSRegion:      region,
		EventSourceARN: streamARN,
		Change: lambdaChange{
			SequenceNumber: aws.ToString(sr.SequenceNumber),
			SizeBytes:      aws.ToInt64(sr.SizeBytes),
			StreamViewType: string(sr.StreamViewType),
		},
	}
	if lr.EventVersion == "" {
		lr.EventVersion = "1.1"
	}
	if sr.ApproximateCreationDateTime != nil {
		lr.Change.ApproximateCreationDateTime = sr.ApproximateCreationDateTime.Unix()
	}
	if id := r.UserIdentity; id != nil {
		lr.UserIdentity = &lambdaUserID{Type: aws.ToString(id.Type), PrincipalID: aws.ToString(id.PrincipalId)}
	}
	var err error
	if lr.Change.Keys, err = imageJSON(sr.Keys); err != nil {
		return record{}, err
	}
	if lr.Change.NewImage, err = imageJSON(sr.NewImage); err != nil {
		return record{}, err
	}
	if lr.Change.OldImage, err = imageJSON(sr.OldImage); err != nil {
		return record{}, err
	}
	b, err := json.Marshal(lr)
	if err != nil {
		return record{}, fmt.Errorf("streams: marshal record: %w", err)
	}
	return record{eventID: lr.EventID, seq: lr.Change.SequenceNumber, json: b}, nil
}

func imageJSON(img map[string]types.AttributeValue) (map[string]any, error) {
	if img == nil {
		return nil, nil
	}
	out := make(map[string]any, len(img))
	for k, v := range img {
		j, err := attrJSON(v)
		if err != nil {
			return nil, fmt.Errorf("streams: attribute %q: %w", k, err)
		}
		out[k] = j
	}
	return out, nil
}

// attrJSON is v in DynamoDB's JSON form ({"S": "x"}, {"N": "1"}, binary as
// base64, ...), which events.DynamoDBAttributeValue reads.
func attrJSON(v types.AttributeValue) (any, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]string{"S": v.Value}, nil
	case *types.AttributeValueMemberN:
		return map[string]string{"N": v.Value}, nil
	case *types.AttributeValueMemberB:
		return map[string][]byte{"B": v.Value}, nil // []byte marshals as base64
	case *types.AttributeValueMemberBOOL:
		return map[string]bool{"BOOL": v.Value}, nil
	case *types.AttributeValueMemberNULL:
		return map[string]bool{"NULL": true}, nil
	case *types.AttributeValueMemberSS:
		return map[string][]string{"SS": v.Value}, nil
	case *types.AttributeValueMemberNS:
		return map[string][]string{"NS": v.Value}, nil
	case *types.AttributeValueMemberBS:
		return map[string][][]byte{"BS": v.Value}, nil
	case *types.AttributeValueMemberL:
		l := make([]any, 0, len(v.Value))
		for _, e := range v.Value {
			j, err := attrJSON(e)
			if err != nil {
				return nil, err
			}
			l = append(l, j)
		}
		return map[string][]any{"L": l}, nil
	case *types.AttributeValueMemberM:
		m, err := imageJSON(v.Value)
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = map[string]any{}
		}
		return map[string]map[string]any{"M": m}, nil
	default:
		return nil, fmt.Errorf("unsupported attribute value %T", v)
	}
}
