package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Config configures an S3-compatible backend. Credentials are static:
// the environment and ~/.aws are never read.
type S3Config struct {
	Endpoint        string // http://127.0.0.1:7070; empty = AWS
	Region          string // default us-east-1
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// PathStyle addresses buckets as /bucket/key (default true for a custom
	// endpoint: S3-compatible servers on loopback need it).
	PathStyle *bool
	// ACL is sent with every PutObject if set (AWS log delivery sends
	// "bucket-owner-full-control").
	ACL string
	// MaxAttempts is the SDK's own retry budget per call (default 1: the
	// publisher retries from its spool with its own backoff).
	MaxAttempts int
	// Timeout bounds each call (default 60 s).
	Timeout time.Duration
	// HTTPClient overrides the HTTP client (tests).
	HTTPClient *http.Client
}

// S3 is a Store on an S3-compatible endpoint through aws-sdk-go-v2.
type S3 struct {
	c       *s3.Client
	acl     string
	timeout time.Duration
}

// NewS3 builds the client. It does no network I/O.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, errors.New("objstore: s3 access key id and secret access key are required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	pathStyle := cfg.Endpoint != ""
	if cfg.PathStyle != nil {
		pathStyle = *cfg.PathStyle
	}
	opts := s3.Options{
		Region:       cfg.Region,
		UsePathStyle: pathStyle,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken),
		// Checksums only where the API requires them: S3-compatible
		// servers differ in their support of the newer trailing checksums.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           cfg.MaxAttempts,
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(strings.TrimRight(cfg.Endpoint, "/"))
	}
	if cfg.HTTPClient != nil {
		opts.HTTPClient = cfg.HTTPClient
	}
	return &S3{c: s3.New(opts), acl: cfg.ACL, timeout: cfg.Timeout}, nil
}

// Client exposes the SDK client (tests, bucket administration).
func (s *S3) Client() *s3.Client { return s.c }

func (s *S3) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// mapErr turns an SDK error into an *Error with the matching sentinel.
func mapErr(op, bucket, key string, err error) error {
	e := &Error{Op: op, Bucket: bucket, Key: key, Err: err}
	var nsb *s3types.NoSuchBucket
	var nsk *s3types.NoSuchKey
	var nf *s3types.NotFound
	var api smithy.APIError
	switch {
	case errors.As(err, &nsb):
		e.Kind = ErrNoSuchBucket
	case errors.As(err, &nsk), errors.As(err, &nf):
		e.Kind = ErrNoSuchKey
	case errors.As(err, &api):
		switch api.ErrorCode() {
		case "NoSuchBucket":
			e.Kind = ErrNoSuchBucket
		case "NoSuchKey", "NotFound":
			e.Kind = ErrNoSuchKey
		case "SlowDown", "Throttling", "ThrottlingException", "TooManyRequests", "RequestLimitExceeded":
			e.Kind = ErrRateLimited
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled",
			"AccountProblem", "InvalidSecurity", "ExpiredToken", "InvalidToken", "Forbidden",
			"XAdminUserNotFound": // versitygw: unknown access key id (HTTP 404)
			e.Kind = ErrAccessDenied
		}
	}
	if e.Kind == nil {
		var hs interface{ HTTPStatusCode() int }
		if errors.As(err, &hs) {
			switch hs.HTTPStatusCode() {
			case http.StatusForbidden, http.StatusUnauthorized:
				e.Kind = ErrAccessDenied
			case http.StatusTooManyRequests, http.StatusServiceUnavailable:
				e.Kind = ErrRateLimited
			case http.StatusNotFound:
				if key == "" {
					e.Kind = ErrNoSuchBucket
				} else {
					e.Kind = ErrNoSuchKey
				}
			}
		}
	}
	return e
}

// CreateBucket creates a bucket; an existing bucket owned by us is fine.
func (s *S3) CreateBucket(ctx context.Context, bucket string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		var owned *s3types.BucketAlreadyOwnedByYou
		var api smithy.APIError
		if errors.As(err, &owned) || errors.As(err, &api) && api.ErrorCode() == "BucketAlreadyOwnedByYou" {
			return nil
		}
		return mapErr("CreateBucket", bucket, "", err)
	}
	return nil
}

// Put uploads with a single PutObject. A body that is not an io.ReadSeeker
// is buffered in memory first (the SDK signs the payload).
func (s *S3) Put(ctx context.Context, bucket, key string, body io.Reader, size int64) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	rs, ok := body.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(body)
		if err != nil {
			return &Error{Op: "Put", Bucket: bucket, Key: key, Err: err}
		}
		rs, size = bytes.NewReader(b), int64(len(b))
	}
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: rs}
	if size >= 0 {
		in.ContentLength = aws.Int64(size)
	}
	if s.acl != "" {
		in.ACL = s3types.ObjectCannedACL(s.acl)
	}
	if _, err := s.c.PutObject(ctx, in); err != nil {
		return mapErr("Put", bucket, key, err)
	}
	return nil
}

// Get opens an object. The read is bounded by the store's timeout.
func (s *S3) Get(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	ctx, cancel := s.ctx(ctx)
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		cancel()
		return nil, mapErr("Get", bucket, key, err)
	}
	return &cancelReadCloser{ReadCloser: out.Body, cancel: cancel}, nil
}

type cancelReadCloser struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelReadCloser) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// Head describes an object.
func (s *S3) Head(ctx context.Context, bucket, key string) (ObjectInfo, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return ObjectInfo{}, mapErr("Head", bucket, key, err)
	}
	info := ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength)}
	if out.LastModified != nil {
		info.LastModified = *out.LastModified
	}
	return info, nil
}

// List pages through ListObjectsV2.
func (s *S3) List(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var out []ObjectInfo
	p := s3.NewListObjectsV2Paginator(s.c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, mapErr("List", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			info := ObjectInfo{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)}
			if o.LastModified != nil {
				info.LastModified = *o.LastModified
			}
			out = append(out, info)
		}
	}
	return out, nil
}

// Delete removes an object.
func (s *S3) Delete(ctx context.Context, bucket, key string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return mapErr("Delete", bucket, key, err)
	}
	return nil
}

var (
	_ Store = (*Local)(nil)
	_ Store = (*S3)(nil)
	_       = fmt.Sprint
)
