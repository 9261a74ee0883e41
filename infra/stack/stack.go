package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

// messaging holds the stack's parts while they are wired together.
type messaging struct {
	stack awscdk.Stack
	props Props

	key              awskms.Key
	tables           map[string]awsdynamodb.Table
	backupSelection  awsbackup.BackupSelection
	cursorSecret     awssecretsmanager.Secret
	pools            map[routes.Audience]*pool
	functions        map[string]awslambda.Function
	functionPolicies map[string]awsiam.ManagedPolicy
	logBucket        awss3.Bucket
	siteBucket       awss3.Bucket
	distribution     awscloudfront.Distribution
	siteDeployment   awss3deployment.BucketDeployment
	configDeployment awss3deployment.BucketDeployment
	siteURL          *string
	api              awsapigatewayv2.HttpApi
	apiDomain        awsapigatewayv2.DomainName
	stage            awsapigatewayv2.HttpStage
	apiURL           *string
	alarmTopic       awssns.Topic
	// logGroupNames are the names, or name patterns, of the stack's log
	// groups, for the key policy.
	logGroupNames []string
	// publicRoutes are the routes without an authorizer, by route key.
	publicRoutes map[string]awsapigatewayv2.HttpRoute
	// notify holds the notification path (notifications.go).
	notify notifications
	// attach holds the attachment buckets (attachments.go).
	attach attachments
}

// NewMessagingStack builds the whole product in one stack. It returns an
// error for settings that cannot deploy (missing bootstrap binaries, bad
// context values) rather than failing later in CloudFormation.
func NewMessagingStack(scope constructs.Construct, id string, props Props) (awscdk.Stack, error) {
	if err := props.validate(); err != nil {
		return nil, err
	}
	props.withDefaults()
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("Patient-portal messaging: API, functions, tables, identity, pages")
	}
	m := &messaging{
		stack:            awscdk.NewStack(scope, jsii.String(id), &sp),
		props:            props,
		functionPolicies: map[string]awsiam.ManagedPolicy{},
	}
	if err := m.build(); err != nil {
		return nil, fmt.Errorf("stack %s: %w", id, err)
	}
	return m.stack, nil
}

func (m *messaging) build() error {
	if m.props.WAF {
		if r := *m.stack.Region(); !*awscdk.Token_IsUnresolved(jsii.String(r)) && r != "us-east-1" {
			return fmt.Errorf("waf=true needs the stack in us-east-1 (CloudFront web ACLs live there), not %s", r)
		}
	}
	if err := m.checkBuilds(); err != nil {
		return err
	}
	m.newKey()
	m.newTables()
	m.newBackups()
	m.newCursorSecret()
	if err := m.newUserPools(); err != nil {
		return err
	}
	m.newSiteBuckets()
	if err := m.newDistribution(); err != nil {
		return err
	}
	// The buckets' CORS names the pages' origin; the functions are told
	// the buckets' names.
	m.newAttachmentBuckets()
	m.newClients()
	// The API (without its routes) and the notification resources come
	// before the functions, which are told the API's URL, the sender
	// identities and the queues; the functions come after the app clients,
	// whose IDs each checks every token against.
	if err := m.newAPI(); err != nil {
		return err
	}
	if err := m.newNotificationResources(); err != nil {
		return err
	}
	if err := m.newFunctions(); err != nil {
		return err
	}
	if err := m.newRoutes(); err != nil {
		return err
	}
	if err := m.newTriggers(); err != nil {
		return err
	}
	if err := m.deploySite(); err != nil {
		return err
	}
	m.newAlarms()
	m.allowLogsToUseKey()
	m.outputs()
	m.suppressNagFindings()
	return nil
}

// Output names.
const (
	OutAPIURL           = "ApiUrl"
	OutSiteURL          = "SiteUrl"
	OutSiteDNSTarget    = "SiteDnsTarget"
	OutAPIDNSTarget     = "ApiDnsTarget"
	OutAlarmTopic       = "AlarmTopicArn"
	OutDirectoryTable   = "DirectoryTableName"
	outUserPoolSuffix   = "UserPoolId"
	outClientSuffix     = "ClientId"
	outAuthDomainSuffix = "AuthDomain"
)

func (m *messaging) outputs() {
	s := m.stack
	out := func(id string, value *string, description string) {
		awscdk.NewCfnOutput(s, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out(OutAPIURL, m.apiURL, "API base URL (config.json apiBaseUrl)")
	out(OutSiteURL, m.siteURL, "Pages URL; /portal/ and /staff/ are the sign-in callbacks")
	out(OutSiteDNSTarget, m.distribution.DistributionDomainName(), "CNAME/alias target for domainName")
	if m.apiDomain != nil {
		out(OutAPIDNSTarget, m.apiDomain.RegionalDomainName(), "CNAME/alias target for apiDomainName")
	}
	out(OutAlarmTopic, m.alarmTopic.TopicArn(), "Operations alarm topic")
	out(OutDirectoryTable, m.tables[schema.Directory].TableName(), "Directory table (staff and patient records)")
	for _, a := range []routes.Audience{routes.Portal, routes.Staff} {
		p := m.pools[a]
		id := pascal(string(a))
		out(id+outUserPoolSuffix, p.userPool.UserPoolId(), string(a)+" user pool")
		out(id+outClientSuffix, p.client.UserPoolClientId(), string(a)+" web app client")
		out(id+outAuthDomainSuffix, p.baseURL, string(a)+" hosted UI")
	}
}
