// Command notify-flush is the scheduled Lambda function that sends the notifications that are due.
package main

import "github.com/pedsportal/messaging/internal/lambdaapp/senders"

func main() { senders.Start() }
