// Command move-conversation is the Lambda function that lets staff move a conversation between the family and the care team only.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnMoveConversation, api.MoveConversation, nil) }
