// Command list-conversations is the Lambda function that lists a patient's conversations, newest activity first.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
)

func main() { lambdaapp.Start(api.NewListConversations) }
