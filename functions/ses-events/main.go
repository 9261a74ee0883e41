// Command ses-events is the Lambda function that marks e-mail addresses that bounced or complained.
package main

import (
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnSESEvents) }
