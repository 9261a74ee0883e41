// Command get-conversation is the Lambda function that returns a conversation's whole message chain.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
)

func main() { lambdaapp.Start(api.NewGetConversation) }
