// Command mark-read is the Lambda function that marks a conversation read for the caller's side.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnMarkRead, api.MarkRead, nil) }
