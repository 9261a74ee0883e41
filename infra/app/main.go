// Command app is the CDK app: `cdk synth` and `cdk deploy` run it from
// infra/ (see cdk.json). It reads settings from CDK context, builds the
// stack and runs the cdk-nag packs, whose errors fail the synth.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/infra/stack"
	"github.com/pedsportal/messaging/internal/web"
)

// DefaultStackName is the stack's name unless -c stackName=... is given
// (one stack per environment in an account).
const DefaultStackName = "PortalMessaging"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		jsii.Close()
		os.Exit(1)
	}
	jsii.Close()
}

func run() error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	app := awscdk.NewApp(nil)

	name := DefaultStackName
	if v, ok := app.Node().TryGetContext(jsii.String("stackName")).(string); ok && v != "" {
		name = v
	}
	props, err := stack.PropsFromContext(app.Node(), stack.Props{
		StackProps: awscdk.StackProps{
			Env: &awscdk.Environment{
				Account: envOrNil("CDK_DEFAULT_ACCOUNT"),
				Region:  envOrNil("CDK_DEFAULT_REGION"),
			},
			// Deleting the stack needs a deliberate step (README, Deploying).
			TerminationProtection: jsii.Bool(true),
		},
		FunctionsDir: filepath.Join(root, ".build", "functions"),
		SiteDir:      filepath.Join(root, web.SiteDir),
	})
	if err != nil {
		return err
	}
	if _, err := stack.NewMessagingStack(app, name, props); err != nil {
		return err
	}
	stack.AddNagChecks(app, true)
	app.Synth(nil)
	return nil
}

func envOrNil(key string) *string {
	if v := os.Getenv(key); v != "" {
		return jsii.String(v)
	}
	return nil
}

// repoRoot finds the module root (the folder holding go.mod) from the
// working directory, so `cdk synth` works from infra/ or the top.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
