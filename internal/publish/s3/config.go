package s3

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"

	"vpcflow/internal/objstore"
	"vpcflow/internal/publish"
)

// Config configures one S3 destination (one flow log).
type Config struct {
	// FlowLog is the flow log whose records this destination publishes.
	// Its ID, AccountID, Region and Format are required.
	FlowLog publish.FlowLog
	// Bucket is the destination bucket (arn:aws:s3:::Bucket/Prefix/).
	Bucket string
	KeyOptions
	// SpoolDir holds this destination's spool; it must not be shared with
	// another destination. Created if missing.
	SpoolDir string
	// MaxObjectBytes rolls an object when its compressed size would pass it
	// (AWS: 75 MB).
	MaxObjectBytes int64
	// MaxJournalBytes seals an open 5-minute journal early when its
	// uncompressed size passes it, bounding recovery work.
	MaxJournalBytes int64
	// MaxParquetRows caps the rows of one Parquet object.
	MaxParquetRows int
	// GzipLevel for text objects (klauspost/compress/gzip levels; 0 means
	// the default level, use gzip.HuffmanOnly or BestSpeed for speed).
	GzipLevel int
	// RetryInitial and RetryMax bound the exponential backoff between
	// failed Puts.
	RetryInitial, RetryMax time.Duration
	// SealInterval is how often (wall clock) the worker checks Deps.Now for
	// 5-minute buckets that have ended, in case no Deliver comes to do it.
	// Negative disables the check.
	SealInterval time.Duration
}

// DefaultConfig returns AWS's limits and our retry policy.
func DefaultConfig() Config {
	return Config{
		KeyOptions:      KeyOptions{FileFormat: PlainText},
		MaxObjectBytes:  75 << 20,
		MaxJournalBytes: 1 << 30,
		MaxParquetRows:  5_000_000,
		GzipLevel:       gzip.DefaultCompression,
		RetryInitial:    time.Second,
		RetryMax:        5 * time.Minute,
		SealInterval:    10 * time.Second,
	}
}

// Validate reports the first configuration error.
func (c Config) Validate() error {
	switch {
	case c.FlowLog.ID == "" || c.FlowLog.AccountID == "" || c.FlowLog.Region == "":
		return errors.New("s3 destination: flow log id, account id and region are required")
	case c.FlowLog.Format.IsZero():
		return errors.New("s3 destination: flow log format is required")
	case c.Bucket == "":
		return errors.New("s3 destination: bucket is required")
	case c.SpoolDir == "":
		return errors.New("s3 destination: spool directory is required")
	case c.FileFormat != PlainText && c.FileFormat != Parquet:
		return fmt.Errorf("s3 destination: file format %q (want plain-text or parquet)", c.FileFormat)
	case c.MaxObjectBytes < 1024:
		return errors.New("s3 destination: MaxObjectBytes must be at least 1024")
	}
	return ValidatePrefix(c.Prefix)
}

// Deps are the destination's dependencies. Store is required.
type Deps struct {
	Store    objstore.Store
	Now      func() time.Time
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Metrics, if set, is used instead of creating counters on Registry.
	Metrics *publish.Metrics
}
