package logstore

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Store.
type Config struct {
	// Dir holds the segment files. It is created if missing.
	Dir string
	// SegmentBytes is the size at which the active segment is sealed and a
	// new one started.
	SegmentBytes int64
	// NoSync skips the fsync after each Append (benchmarks, scratch stores).
	// By default an Append is durable when it returns.
	NoSync bool
	// ReadOnly opens an existing store for reading: nothing on disk
	// changes (a torn tail, perhaps a write in progress in another
	// process, is left alone and not read), and Append and DeleteLogGroup
	// return ErrReadOnly. Query commands open stores this way.
	ReadOnly bool
}

// DefaultConfig returns the defaults: 64 MiB segments, fsync per Append.
func DefaultConfig() Config {
	return Config{SegmentBytes: 64 << 20}
}

// Validate reports a configuration error.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("logstore: Dir is required")
	}
	if c.SegmentBytes < 4096 {
		return errors.New("logstore: SegmentBytes must be at least 4096")
	}
	return nil
}

// Deps are the store's injected dependencies. All are optional.
type Deps struct {
	// Now is the clock used for ingestion times left zero by the caller.
	Now      func() time.Time
	Logger   *slog.Logger
	Registry prometheus.Registerer
}
