//go:build !cgo

package athena

import (
	"context"
	"time"
)

// DB is unavailable without cgo.
type DB struct{}

// Open reports ErrNotCompiled: DuckDB needs cgo.
func Open(context.Context, Config) (*DB, error) { return nil, ErrNotCompiled }

// Objects is always 0.
func (*DB) Objects() int { return 0 }

// DataDir is always empty.
func (*DB) DataDir() string { return "" }

// Query reports ErrNotCompiled.
func (*DB) Query(context.Context, string) (*Result, error) { return nil, ErrNotCompiled }

// Timed reports ErrNotCompiled.
func (*DB) Timed(context.Context, string) (*Result, time.Duration, error) {
	return nil, 0, ErrNotCompiled
}

// Close does nothing.
func (*DB) Close() error { return nil }
