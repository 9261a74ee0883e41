// Command attach-process is the Lambda function that GuardDuty's malware
// scan results reach through EventBridge: it makes each clean upload safe
// (re-encoded images, checked PDFs) in the chart bucket, or blocks it.
package main

import "github.com/pedsportal/messaging/internal/lambdaapp/scans"

func main() { scans.StartProcessor() }
