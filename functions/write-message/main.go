// Command write-message is the Lambda function that starts a conversation (Write Message) or adds a reply.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
)

func main() { lambdaapp.Start(api.NewWriteMessage) }
