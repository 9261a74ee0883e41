// Command escalate is the scheduled Lambda function that marks conversations past their response target overdue and alerts the pool's staff.
package main

import "github.com/pedsportal/messaging/internal/lambdaapp/reactors"

func main() { reactors.StartEscalator() }
