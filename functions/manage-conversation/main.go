// Command manage-conversation is the Lambda function that lets staff close, reopen and assign conversations.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnManageConversation, api.ManageConversation, nil) }
