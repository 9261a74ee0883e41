// Command directory is the Lambda function that serves the read-only directory routes: Current Patient list, pools, staff and patient search.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnDirectory, api.Directory, nil) }
