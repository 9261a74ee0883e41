// Command get-conversation is the Lambda function that returns a conversation's whole message chain.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/lambdaapp/secretkey"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnGetConversation, api.GetConversation, secretkey.Read) }
