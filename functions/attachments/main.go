// Command attachments is the Lambda function that issues upload slots for
// files (presigned S3 POSTs) and, after the access check, short-lived
// download links.
package main

import "github.com/pedsportal/messaging/internal/lambdaapp/blobs"

func main() { blobs.StartAttachments() }
