package attach

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// ScanResult is GuardDuty's verdict on one uploaded object.
type ScanResult struct {
	Bucket, Key string
	// Status is the scan result status (ScanClean, ScanThreats, …).
	Status string
	// EventID identifies the event, recorded as the audit record's
	// request ID.
	EventID string
}

// scanEventDetail is the detail of GuardDuty's "GuardDuty Malware
// Protection Object Scan Result" EventBridge event.
type scanEventDetail struct {
	ScanStatus      string `json:"scanStatus"`
	S3ObjectDetails struct {
		BucketName string `json:"bucketName"`
		ObjectKey  string `json:"objectKey"`
	} `json:"s3ObjectDetails"`
	ScanResultDetails struct {
		ScanResultStatus string `json:"scanResultStatus"`
	} `json:"scanResultDetails"`
}

// ScanEventType is the detail-type of GuardDuty's scan result events.
const ScanEventType = "GuardDuty Malware Protection Object Scan Result"

// ScanResultOf reads GuardDuty's EventBridge event.
func ScanResultOf(ev events.CloudWatchEvent) (ScanResult, error) {
	if ev.DetailType != ScanEventType {
		return ScanResult{}, fmt.Errorf("attach: not a scan result: %q", ev.DetailType)
	}
	var d scanEventDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return ScanResult{}, fmt.Errorf("attach: scan result detail: %w", err)
	}
	status := d.ScanResultDetails.ScanResultStatus
	if d.ScanStatus != "COMPLETED" && status == "" {
		status = ScanFailed
	}
	return ScanResult{Bucket: d.S3ObjectDetails.BucketName, Key: d.S3ObjectDetails.ObjectKey, Status: status, EventID: ev.ID}, nil
}

// ScanEvent builds the EventBridge event GuardDuty sends, for the local
// scanner and tests.
func ScanEvent(r ScanResult, at time.Time) events.CloudWatchEvent {
	var d scanEventDetail
	d.ScanStatus = "COMPLETED"
	d.S3ObjectDetails.BucketName, d.S3ObjectDetails.ObjectKey = r.Bucket, r.Key
	d.ScanResultDetails.ScanResultStatus = r.Status
	detail, _ := json.Marshal(d) // plain strings: cannot fail
	return events.CloudWatchEvent{
		Version: "0", ID: r.EventID, DetailType: ScanEventType, Source: "aws.guardduty", Time: at.UTC(), Detail: detail,
	}
}
