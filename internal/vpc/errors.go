package vpc

import (
	"errors"
	"fmt"
	"strings"
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

// Error is one problem in a topology document, with its position.
// Line and Column are 1-based; they are 0 when the problem has no place in
// the source (for example a topology built in code or imported from JSON).
type Error struct {
	File         string
	Line, Column int
	Path         string // YAML path such as $.subnets[2].cidr
	Msg          string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Column)
	} else if e.File != "" {
		b.WriteByte(' ')
	}
	if e.Path != "" && e.Line == 0 {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true for every position error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errors is a list of problems, sorted by position. It is returned by Load
// and Validate when there is at least one.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes every error to errors.Is / errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
