// Package blobs starts, on Lambda, the attachments function, which signs
// the browser's uploads and downloads. It lives apart from package
// lambdaapp so that no other bootstrap links the S3 client, and apart from
// package lambdaapp/scans (attach-process) so that it links no image
// codec.
package blobs

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/awsenv"
	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
)

// StartAttachments serves the attachments function on Lambda.
func StartAttachments() {
	lambdaapp.StartWith(routes.FnAttachments, api.Attachments, nil, func(_ context.Context, cfg aws.Config, src *compose.Source) error {
		b, err := attach.BucketsFrom(src.Env)
		if err != nil {
			return err
		}
		src.Blobs = attach.NewSigner(s3.NewFromConfig(awsenv.For(cfg, awsenv.S3)), b)
		return nil
	})
}
