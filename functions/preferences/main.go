// Command preferences is the Lambda function that serves notification
// preferences: the portal's GET and PUT /portal/me/notifications and the
// public one-click unsubscribe (RFC 8058) of every family e-mail.
package main

import (
	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/lambdaapp/secretkey"
	"github.com/pedsportal/messaging/internal/routes"
)

func main() { lambdaapp.Start(routes.FnPreferences, api.Preferences, secretkey.Read) }
