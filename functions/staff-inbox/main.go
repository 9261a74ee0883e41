// Command staff-inbox is the Lambda function that serves the staff inbox across the practice's patients.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
)

func main() { lambdaapp.Start(api.NewInbox) }
