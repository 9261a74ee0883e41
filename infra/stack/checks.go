package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// AddNagChecks runs the AwsSolutions, HIPAA Security and Serverless packs
// on scope. Their errors fail `cdk synth`; the tests read them back from
// the annotations. reports writes cdk-nag's CSV reports to the assembly.
func AddNagChecks(scope constructs.IConstruct, reports bool) {
	props := &cdknag.NagPackProps{Verbose: jsii.Bool(true), Reports: jsii.Bool(reports)}
	aspects := awscdk.Aspects_Of(scope)
	aspects.Add(cdknag.NewAwsSolutionsChecks(props), nil)
	aspects.Add(cdknag.NewHIPAASecurityChecks(props), nil)
	aspects.Add(cdknag.NewServerlessChecks(props), nil)
}
