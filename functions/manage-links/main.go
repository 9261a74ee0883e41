// Command manage-links is the Lambda function that lets a practice admin link and unlink portal users and patients.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnManageLinks, api.ManageLinks, nil) }
