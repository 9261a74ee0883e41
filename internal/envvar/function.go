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
}

// Function returns one function's environment: both issuers and app
// clients, the physical names of the given tables only (the tables it is
// granted; the others stay unset), and the cursor secret only when it
// pages. The CDK stack and the local stack both call it, so a function
// sees the same variables in both.
func Function(tables []string, pages bool, s Settings) map[string]string {
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
	return env
}
