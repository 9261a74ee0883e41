// Package envvar names the environment variables the functions read. The
// CDK app sets them and the functions' composition reads them, so it is
// kept free of the SDK and of handler code.
package envvar

import "strings"

// Variables every function reads.
const (
	PortalIssuer   = "PORTAL_ISSUER"
	StaffIssuer    = "STAFF_ISSUER"
	PortalClientID = "PORTAL_CLIENT_ID"
	StaffClientID  = "STAFF_CLIENT_ID"
	// CursorSecret is the ARN of the cursor signing key's secret, set only
	// for functions that page.
	CursorSecret = "CURSOR_KEY_SECRET_ARN"
	// DailyWriteLimit, optional, is how many messages one portal user may
	// write about one patient in a day (default 50).
	DailyWriteLimit = "DAILY_WRITE_LIMIT"
	// For the functions that send notifications.
	MailFrom            = "MAIL_FROM"
	MailFromARN         = "MAIL_FROM_ARN"
	SESConfigurationSet = "SES_CONFIGURATION_SET"
	SMSOrigin           = "SMS_ORIGINATION_IDENTITY"
	APIURL              = "API_URL"
	// The attachment buckets, for the functions with routes.Function.Blobs.
	UploadsBucket = "UPLOADS_BUCKET"
	ChartBucket   = "CHART_BUCKET"
)

// Table names the variable that carries a table's physical name, e.g.
// TABLE_MESSAGES for the logical table "Messages". It is set only for the
// tables a function is granted.
func Table(logical string) string { return "TABLE_" + strings.ToUpper(logical) }
