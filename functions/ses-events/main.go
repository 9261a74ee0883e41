// Command ses-events is the Lambda function that marks e-mail addresses that bounced or complained.
package main

import "github.com/pedsportal/messaging/internal/lambdaapp/reactors"

func main() { reactors.StartSESEvents() }
