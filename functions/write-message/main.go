// Command write-message is the Lambda function that starts a conversation (Write Message) or adds a reply.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnWriteMessage, api.WriteMessage, nil) }
