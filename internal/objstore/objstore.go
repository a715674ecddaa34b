// Package objstore is the object storage behind the S3 destination: a local
// directory laid out like the bucket (the default) or any S3-compatible
// endpoint. Objects appear atomically in both: a reader sees the whole
// object or nothing.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Sentinel errors, matched with errors.Is. Backends map their own errors
// onto them (S3 NoSuchBucket, AccessDenied, NoSuchKey, …).
var (
	ErrNoSuchBucket = errors.New("the specified bucket does not exist")
	ErrNoSuchKey    = errors.New("the specified key does not exist")
	ErrAccessDenied = errors.New("access denied")
	ErrInvalidKey   = errors.New("invalid object key")
	// ErrRateLimited is S3 throttling (SlowDown, 503).
	ErrRateLimited = errors.New("rate limited")
)

// Error describes a failed operation. It unwraps to both the sentinel (if
// any) and the backend's error.
type Error struct {
	Op     string // Put, Get, Head, List, Delete, CreateBucket
	Bucket string
	Key    string
	Kind   error // one of the sentinels, or nil
	Err    error // the underlying error
}

func (e *Error) Error() string {
	where := e.Bucket
	if e.Key != "" {
		where += "/" + e.Key
	}
	if e.Err == nil {
		return fmt.Sprintf("objstore: %s %s: %v", e.Op, where, e.Kind)
	}
	return fmt.Sprintf("objstore: %s %s: %v", e.Op, where, e.Err)
}

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// Store is a bucketed object store.
type Store interface {
	// Put stores body under bucket/key, replacing any object there. The
	// object becomes visible only once complete. size is the body length
	// (-1 if unknown).
	Put(ctx context.Context, bucket, key string, body io.Reader, size int64) error
	// Get opens an object for reading.
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, error)
	// Head describes an object.
	Head(ctx context.Context, bucket, key string) (ObjectInfo, error)
	// List returns the objects whose key starts with prefix, sorted by key.
	List(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error)
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, bucket, key string) error
}

// BucketCreator is implemented by stores that can create buckets.
type BucketCreator interface {
	CreateBucket(ctx context.Context, bucket string) error
}
