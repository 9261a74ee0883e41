package attach

import (
	"bytes"
	"strings"
)

// ScanTag is the object tag GuardDuty Malware Protection for S3 writes on
// every object it scans in a protected bucket; the local scanner writes
// the same tag. Only ScanClean lets a file go on.
const ScanTag = "GuardDutyMalwareScanStatus"

// Scan results, as GuardDuty writes them in the tag and in its EventBridge
// event's scanResultDetails.scanResultStatus.
const (
	ScanClean       = "NO_THREATS_FOUND"
	ScanThreats     = "THREATS_FOUND"
	ScanUnsupported = "UNSUPPORTED"
	ScanDenied      = "ACCESS_DENIED"
	ScanFailed      = "FAILED"
)

// eicar is the EICAR anti-virus test file's signature, which every scanner
// reports as a threat; the local scanner recognises it as GuardDuty does.
// Kept in two halves so that this source file is not itself flagged.
const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-` + `STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// EICAR returns the EICAR test file.
func EICAR() []byte { return []byte(eicar) }

// ScanLocal is the local stand-in for GuardDuty's scan: THREATS_FOUND for
// anything holding the EICAR signature, NO_THREATS_FOUND otherwise.
func ScanLocal(data []byte) string {
	if bytes.Contains(data, []byte(eicar)) {
		return ScanThreats
	}
	return ScanClean
}

// BlockedReason turns a scan result other than clean into the reason
// stored with a blocked attachment.
func BlockedReason(result string) string {
	switch strings.ToUpper(result) {
	case ScanThreats:
		return "malware"
	case ScanClean:
		return ""
	}
	return "unscanned"
}
