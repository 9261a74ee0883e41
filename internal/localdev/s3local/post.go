package s3local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// PostResult is S3's answer to a POST Object upload.
type PostResult struct {
	Status int
	// Body is S3's XML, an error's Code and Message included.
	Body string
}

// Post uploads body to a presigned POST (url and form fields) as a browser
// form does: the fields in order, then the file last, as S3 requires. Tests
// use it for what the pages' upload does.
func Post(ctx context.Context, url string, fields map[string]string, contentType string, body io.Reader) (PostResult, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := w.WriteField(k, fields[k]); err != nil {
			return PostResult{}, err
		}
	}
	if contentType != "" {
		if err := w.WriteField("Content-Type", contentType); err != nil {
			return PostResult{}, err
		}
	}
	part, err := w.CreateFormFile("file", "upload")
	if err != nil {
		return PostResult{}, err
	}
	if _, err := io.Copy(part, body); err != nil {
		return PostResult{}, err
	}
	if err := w.Close(); err != nil {
		return PostResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &buf)
	if err != nil {
		return PostResult{}, err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return PostResult{}, fmt.Errorf("s3local: post: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return PostResult{Status: resp.StatusCode, Body: string(b)}, nil
}

// PresignGet signs a GET of bucket/key with the gateway's root
// credentials, for tests that look at what is stored.
func PresignGet(ctx context.Context, endpoint, bucket, key string) (string, error) {
	p, err := s3.NewPresignClient(NewClient(endpoint)).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	return p.URL, nil
}
