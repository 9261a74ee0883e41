// Command export-chart is the Lambda function that answers the family's download of a patient's messages and the staff chart export, as HTML or FHIR R4.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/lambdaapp/secretkey"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnExportChart, api.ExportChart, secretkey.Read) }
