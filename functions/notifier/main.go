// Command notifier is the Lambda function that turns new messages on the Messages table's stream into pending notifications.
package main

import "github.com/pedsportal/messaging/internal/lambdaapp/reactors"

func main() { reactors.StartNotifier() }
