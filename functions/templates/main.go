// Command templates is the Lambda function that serves staff quick-reply
// templates: the list, a staff member's own templates, and a template's
// preview resolved for one patient.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnTemplates, api.Templates, nil) }
