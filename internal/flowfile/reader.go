// Package flowfile reads and writes flow log files: plain or gzip text
// objects with an optional header line (as AWS writes them to S3), Parquet
// objects with AWS's column names and types, and CSV, JSON and table
// renderings of records.
package flowfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/flow"
)

// Options configure how text records are read.
type Options struct {
	// Format is the record format. The zero Format means: the header line
	// if the stream starts with one, else the default format. An explicit
	// Format overrides header lines, which are then skipped.
	Format flow.Format
	// Lenient skips malformed lines and counts them instead of stopping at
	// the first one.
	Lenient bool
	// AllowComments treats a token starting with '#' as the start of a
	// comment (a whole line, or the rest of a record line). AWS never
	// writes comments; by default they are errors.
	AllowComments bool
	// Name is the file name used in error positions.
	Name string
}

// MaxKeptErrors is how many line errors a lenient read keeps for reporting.
const MaxKeptErrors = 10

// Stats counts what a read saw.
type Stats struct {
	Lines   int     // lines read, including headers and blank lines
	Records int     // records decoded
	Headers int     // header lines
	Skipped int     // malformed lines skipped (lenient mode)
	Errors  []error // the first MaxKeptErrors skipped-line errors
	// Format is, after Transcode, the format of the last header written.
	Format flow.Format
}

func (s *Stats) add(o Stats) {
	s.Lines += o.Lines
	s.Records += o.Records
	s.Headers += o.Headers
	s.Skipped += o.Skipped
	for _, e := range o.Errors {
		if len(s.Errors) < MaxKeptErrors {
			s.Errors = append(s.Errors, e)
		}
	}
}

// Kind is the encoding of an input stream, found from its first bytes.
type Kind uint8

// Input kinds.
const (
	KindText Kind = iota
	KindGzip
	KindParquet
)

func (k Kind) String() string {
	switch k {
	case KindGzip:
		return "gzip"
	case KindParquet:
		return "parquet"
	}
	return "text"
}

// readBufSize is the read buffer for text streams: long enough for any
// record (the longest v11 line is a few KB) and to amortise syscalls.
const readBufSize = 1 << 20

// sniff peeks at the first bytes of br to tell gzip (1f 8b) and Parquet
// ("PAR1") from text.
func sniff(br *bufio.Reader) Kind {
	b, _ := br.Peek(4)
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return KindGzip
	case len(b) == 4 && string(b) == "PAR1":
		return KindParquet
	}
	return KindText
}

// openText returns the decompressed text stream of br.
func openText(br *bufio.Reader, kind Kind, name string) (io.Reader, io.Closer, error) {
	if kind != KindGzip {
		return br, nil, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: gzip: %w", name, err)
	}
	return zr, zr, nil
}

// lineClass is what a line holds.
type lineClass uint8

const (
	lineRecord lineClass = iota
	lineBlank
	lineComment
	lineHeader
)

// classify tells blank lines, whole-line comments and header lines (every
// token a known field name) from record lines. A header line returns its
// format.
func classify(line []byte, comments bool) (lineClass, flow.Format) {
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
		i++
	}
	if i == len(line) {
		return lineBlank, flow.Format{}
	}
	if comments && line[i] == '#' {
		return lineComment, flow.Format{}
	}
	if c := line[i]; c < 'a' || c > 'z' {
		return lineRecord, flow.Format{}
	}
	j := i
	for j < len(line) && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' {
		j++
	}
	if _, ok := flow.LookupField(string(line[i:j])); !ok {
		return lineRecord, flow.Format{}
	}
	f, err := flow.ParseHeader(string(line))
	if err != nil {
		return lineRecord, flow.Format{}
	}
	return lineHeader, f
}

// Reader reads records one at a time from a text (plain or gzip) or
// Parquet stream:
//
//	rd, err := flowfile.Open("file.log.gz", flowfile.Options{})
//	for rd.Next() {
//		rec := rd.Record()
//	}
//	err = rd.Err()
//
// The record returned by Record is reused by the next call to Next.
type Reader struct {
	opt    Options
	kind   Kind
	closer []io.Closer

	// text
	br      *bufio.Reader
	long    []byte // a line longer than the buffer
	dec     *flow.Decoder
	format  flow.Format
	started bool // a format has been settled

	// parquet
	pq *parquetSource

	rec   flow.Record
	stats Stats
	err   error
}

// Open opens a file for reading; "-" is standard input. Options.Name
// defaults to the path ("stdin" for "-").
func Open(path string, opt Options) (*Reader, error) {
	if opt.Name == "" {
		opt.Name = path
	}
	if path == "-" {
		if opt.Name == "-" {
			opt.Name = "stdin"
		}
		return NewReader(os.Stdin, opt)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	rd, err := NewReader(f, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	rd.closer = append(rd.closer, f)
	return rd, nil
}

// NewReader reads records from r, detecting gzip and Parquet by their magic
// bytes. A Parquet stream is read from r directly when r is an
// io.ReaderAt with a size (an *os.File), else it is read into memory.
func NewReader(r io.Reader, opt Options) (*Reader, error) {
	if opt.Name == "" {
		opt.Name = "input"
	}
	br := bufio.NewReaderSize(r, readBufSize)
	rd := &Reader{opt: opt, kind: sniff(br)}
	if rd.kind == KindParquet {
		src, err := openParquetSource(r, br, opt)
		if err != nil {
			return nil, err
		}
		rd.pq = src
		rd.format = src.format
		rd.started = true
		return rd, nil
	}
	text, closer, err := openText(br, rd.kind, opt.Name)
	if err != nil {
		return nil, err
	}
	if closer != nil {
		rd.closer = append(rd.closer, closer)
		br = bufio.NewReaderSize(text, readBufSize)
	}
	rd.br = br
	if !opt.Format.IsZero() {
		rd.setFormat(opt.Format)
	}
	return rd, nil
}

// Kind is the detected encoding of the input.
func (rd *Reader) Kind() Kind { return rd.kind }

func (rd *Reader) setFormat(f flow.Format) {
	rd.format = f
	rd.dec = flow.NewDecoder(f)
	rd.dec.AllowComments(rd.opt.AllowComments)
	rd.started = true
}

// Format is the format of the records read so far: the explicit one, the
// one of the last header line, or the default format.
func (rd *Reader) Format() flow.Format {
	if rd.format.IsZero() {
		return flow.DefaultFormat
	}
	return rd.format
}

// Record returns the record read by the last successful Next.
func (rd *Reader) Record() *flow.Record { return &rd.rec }

// Stats returns the counts so far; Skipped is the number of malformed
// lines skipped in lenient mode.
func (rd *Reader) Stats() Stats { return rd.stats }

// Err returns the error that stopped Next, or nil at a clean end of input.
func (rd *Reader) Err() error { return rd.err }

// Close closes the input file and decompressor, if Open opened them.
func (rd *Reader) Close() error {
	var err error
	for i := len(rd.closer) - 1; i >= 0; i-- {
		if e := rd.closer[i].Close(); e != nil && err == nil {
			err = e
		}
	}
	rd.closer = nil
	return err
}

// readLine returns the next line without its '\n'; the slice is valid
// until the next call.
func (rd *Reader) readLine() ([]byte, error) {
	line, err := rd.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		rd.long = append(rd.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = rd.br.ReadSlice('\n')
			rd.long = append(rd.long, line...)
		}
		line = rd.long
	}
	if err == io.EOF {
		if len(line) == 0 {
			return nil, io.EOF
		}
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rd.opt.Name, err)
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	return line, nil
}

// Next reads the next record. It returns false at the end of the input or
// on an error (see Err). Header lines change the format (unless one was
// given in Options); blank lines are skipped; malformed lines stop the read
// with a *flow.SyntaxError naming file:line:column, or are skipped and
// counted in lenient mode.
func (rd *Reader) Next() bool {
	if rd.err != nil {
		return false
	}
	if rd.pq != nil {
		ok, err := rd.pq.next(&rd.rec)
		if err != nil {
			rd.err = err
			return false
		}
		if ok {
			rd.stats.Records++
		}
		return ok
	}
	for {
		line, err := rd.readLine()
		if err != nil {
			if err != io.EOF {
				rd.err = err
			}
			return false
		}
		rd.stats.Lines++
		class, hf := classify(line, rd.opt.AllowComments)
		switch class {
		case lineBlank, lineComment:
			continue
		case lineHeader:
			rd.stats.Headers++
			if rd.opt.Format.IsZero() {
				rd.setFormat(hf)
			}
			continue
		}
		if !rd.started {
			rd.setFormat(flow.DefaultFormat)
		}
		if err := rd.dec.Decode(line, &rd.rec); err != nil {
			err = positioned(err, rd.opt.Name, rd.stats.Lines)
			if rd.opt.Lenient {
				rd.stats.Skipped++
				if len(rd.stats.Errors) < MaxKeptErrors {
					rd.stats.Errors = append(rd.stats.Errors, err)
				}
				continue
			}
			rd.err = err
			return false
		}
		rd.stats.Records++
		return true
	}
}

// positioned fills in the file and line of a *flow.SyntaxError.
func positioned(err error, name string, line int) error {
	var se *flow.SyntaxError
	if errors.As(err, &se) {
		se.File = name
		se.Line = line
	}
	return err
}

// ReadAll reads every record of the stream into memory, for tests and
// small files.
func ReadAll(r io.Reader, opt Options) ([]flow.Record, flow.Format, Stats, error) {
	rd, err := NewReader(r, opt)
	if err != nil {
		return nil, flow.Format{}, Stats{}, err
	}
	defer rd.Close()
	var recs []flow.Record
	for rd.Next() {
		rec := *rd.Record()
		if rec.Other != nil {
			o := *rec.Other
			rec.Other = &o
		}
		recs = append(recs, rec)
	}
	return recs, rd.Format(), rd.Stats(), rd.Err()
}
