package envvar

// Settings are one environment's values, from which each function is given
// only its own share. The CDK app fills them with CloudFormation tokens,
// the local stack with its loopback issuer, clients and table names.
type Settings struct {
	PortalIssuer, StaffIssuer     string
	PortalClientID, StaffClientID string
	// CursorSecretARN names the cursor signing key's secret.
	CursorSecretARN string
	// TableName returns a logical table's physical name.
	TableName func(logical string) string
	// What a function that sends notifications is told: the sender
	// address (and, in AWS, its SES identity ARN and configuration set),
	// the SMS origination identity ("" sends no texts), and the API's base
	// URL, which one-click unsubscribe links point to.
	MailFrom, MailFromARN, SESConfigurationSet, SMSOrigin, APIURL string
}

// Function returns one function's environment: both issuers and app
// clients, the physical names of the given tables only (the tables it is
// granted; the others stay unset), the cursor secret only when it pages,
// and the sender settings only when it sends. The CDK stack and the local stack both call it, so a function
// sees the same variables in both.
func Function(tables []string, pages, sends bool, s Settings) map[string]string {
	env := map[string]string{
		PortalIssuer:   s.PortalIssuer,
		StaffIssuer:    s.StaffIssuer,
		PortalClientID: s.PortalClientID,
		StaffClientID:  s.StaffClientID,
	}
	for _, t := range tables {
		env[Table(t)] = s.TableName(t)
	}
	if pages {
		env[CursorSecret] = s.CursorSecretARN
	}
	if sends {
		for k, v := range map[string]string{
			MailFrom: s.MailFrom, MailFromARN: s.MailFromARN, SESConfigurationSet: s.SESConfigurationSet,
			SMSOrigin: s.SMSOrigin, APIURL: s.APIURL,
		} {
			if v != "" {
				env[k] = v
			}
		}
	}
	return env
}
