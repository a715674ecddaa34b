package vpc

import (
	"errors"

	"vpcflow/internal/yamlerr"
)

// Sentinel errors; match with errors.Is.
var (
	// ErrInvalid marks a topology that failed to parse or validate.
	ErrInvalid = errors.New("invalid topology")
	// ErrNotFound marks a reference to a resource or rule that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate marks an attempt to create something that already exists.
	ErrDuplicate = errors.New("already exists")
)

// Error is one problem in a topology document, with its position (see
// yamlerr.Error); errors.Is(err, ErrInvalid) holds for every one this
// package makes.
type Error = yamlerr.Error

// Errors is a list of problems, sorted by position. It is returned by Load
// and Validate when there is at least one.
type Errors = yamlerr.Errors
