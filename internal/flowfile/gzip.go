package flowfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/countio"
)

// DecompressError is a failure of the gzip layer of a text stream. Every
// whole line decompressed before it has been returned to the caller (as
// records, or as skipped lines in lenient mode) by the time it is reported.
type DecompressError struct {
	File   string
	Offset int64  // compressed byte offset where the failure was found
	Line   int    // whole lines read before the failure
	Msg    string // what failed, e.g. "gzip stream truncated"
	Err    error  // the decompressor's error
}

func (e *DecompressError) Error() string {
	after := fmt.Sprintf("after line %d", e.Line)
	if e.Line == 0 {
		after = "before the first line"
	}
	return fmt.Sprintf("%s: %s at compressed byte offset %d, %s", e.File, e.Msg, e.Offset, after)
}

func (e *DecompressError) Unwrap() error { return e.Err }

// TrailingDataError reports bytes after the last gzip member that do not
// start another member. It is a warning (see Stats.Warnings), not a read
// error: every member before it ended with a valid CRC-32 and length, so
// no record is lost, and gzip(1) also decompresses such files ("trailing
// garbage ignored"). A single stray newline appended by a tool is the
// usual cause.
type TrailingDataError struct {
	File   string
	Offset int64  // compressed byte offset of the first trailing byte
	Size   int64  // trailing bytes
	Head   []byte // the first (up to 16) trailing bytes
}

func (e *TrailingDataError) Error() string {
	unit := "bytes"
	if e.Size == 1 {
		unit = "byte"
	}
	return fmt.Sprintf("%s: ignored %d %s of trailing data after the last gzip member at compressed byte offset %d (starting %q)",
		e.File, e.Size, unit, e.Offset, e.Head)
}

// gzipStream decompresses gzip members one at a time (Multistream off) so
// that it can tell the next member from trailing data and say where each
// failure happened. Errors are *DecompressError with Line unset; the line
// reader fills it in (withLine).
type gzipStream struct {
	name     string
	src      *bufio.Reader   // compressed bytes; the decompressor reads it directly
	cnt      *countio.Reader // below src
	zr       *gzip.Reader
	start    int64 // offset of the current member
	err      error
	trailing *TrailingDataError
}

func newGzipStream(src *bufio.Reader, cnt *countio.Reader, name string) (*gzipStream, error) {
	g := &gzipStream{name: name, src: src, cnt: cnt, zr: new(gzip.Reader)}
	if err := g.zr.Reset(src); err != nil {
		return nil, g.fail(err, true)
	}
	g.zr.Multistream(false)
	return g, nil
}

// offset is the compressed byte offset reached by the decompressor.
func (g *gzipStream) offset() int64 { return g.cnt.N - int64(g.src.Buffered()) }

func (g *gzipStream) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	for {
		n, err := g.zr.Read(p)
		if err == io.EOF {
			// The member ended with a valid CRC-32 and length.
			err = g.nextMember()
			if err == nil && n == 0 {
				continue
			}
		}
		if err != nil {
			if _, ok := err.(*DecompressError); !ok && err != io.EOF {
				err = g.fail(err, false)
			}
			g.err = err
			if n > 0 {
				return n, nil // the error comes with the next call
			}
		}
		return n, err
	}
}

// nextMember starts the member after the one that just ended. It returns
// io.EOF at the end of the input, also when what follows is not a gzip
// member (trailing data, recorded in g.trailing).
func (g *gzipStream) nextMember() error {
	b, err := g.src.Peek(2)
	if len(b) == 0 && err == io.EOF {
		return io.EOF
	}
	if err != nil && err != io.EOF {
		return err
	}
	if len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
		// Looks like a member: from here on, a bad one is an error.
		g.start = g.offset()
		if err := g.zr.Reset(g.src); err != nil {
			return g.fail(err, true)
		}
		g.zr.Multistream(false)
		return nil
	}
	t := &TrailingDataError{File: g.name, Offset: g.offset()}
	head, _ := g.src.Peek(16)
	t.Head = append([]byte(nil), head...)
	n, err := io.Copy(io.Discard, g.src)
	if err != nil {
		return err
	}
	t.Size = n
	g.trailing = t
	return io.EOF
}

// fail turns a decompressor error into a *DecompressError that says what
// failed and where.
func (g *gzipStream) fail(err error, header bool) error {
	de := &DecompressError{File: g.name, Offset: g.offset(), Err: err}
	var corrupt flate.CorruptInputError
	switch {
	case header && errors.Is(err, io.ErrUnexpectedEOF):
		de.Msg, de.Offset = "gzip header truncated", g.start
	case errors.Is(err, io.ErrUnexpectedEOF):
		// Corrupt deflate data can also run the decoder off the end of the
		// input, so truncation is the likely cause but not the only one.
		de.Msg = "gzip stream truncated (or corrupt before that point)"
	case errors.As(err, &corrupt):
		de.Msg = "corrupt deflate data"
	case errors.Is(err, gzip.ErrChecksum):
		de.Msg = "gzip CRC-32 or length mismatch (corrupt data) in the member ending"
	case errors.Is(err, gzip.ErrHeader):
		de.Msg, de.Offset = "invalid gzip header", g.start
	default:
		de.Msg = "read error (" + err.Error() + ")"
	}
	return de
}

// withLine returns err with the whole-line count filled in when it is a
// *DecompressError (a copy: the stream keeps returning its own), else err
// prefixed with the file name.
func withLine(err error, name string, line int) error {
	var de *DecompressError
	if errors.As(err, &de) {
		c := *de
		c.Line = line
		return &c
	}
	return fmt.Errorf("%s: %w", name, err)
}
