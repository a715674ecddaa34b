// Package flowfile reads and writes flow log files: plain or gzip text
// objects with an optional header line (as AWS writes them to S3), Parquet
// objects with AWS's column names and types, and CSV, JSON and table
// renderings of records.
package flowfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"vpcflow/internal/countio"
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
	// Warnings are conditions that did not stop the read and lost no
	// record, such as trailing data after the last gzip member
	// (*TrailingDataError).
	Warnings []error
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
	s.Warnings = append(s.Warnings, o.Warnings...)
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

// openText returns the decompressed text stream of br, which reads from
// cnt, and for gzip the stream that knows the compressed offset.
func openText(br *bufio.Reader, cnt *countio.Reader, kind Kind, name string) (io.Reader, *gzipStream, error) {
	if kind != KindGzip {
		return br, nil, nil
	}
	gz, err := newGzipStream(br, cnt, name)
	if err != nil {
		return nil, nil, err
	}
	return gz, gz, nil
}

// utf8BOM is accepted (and dropped) at the start of a text stream: editors
// on Windows add it, and AWS's header line would not be recognised after
// it.
const utf8BOM = "\xef\xbb\xbf"

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

// badHeader explains why a line that failed to decode as a record is not
// a header line either, when it was meant as one: its first token and at
// least half of its tokens are field names. It returns nil for other
// lines, whose record error stands. It runs only on the error path.
func badHeader(line []byte) *flow.SyntaxError {
	type tok struct {
		col int
		id  flow.FieldID
		ok  bool
	}
	var toks []tok
	known := 0
	for i := 0; i < len(line); {
		if c := line[i]; c == ' ' || c == '\t' || c == '\r' {
			i++
			continue
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' {
			j++
		}
		id, ok := flow.LookupField(string(line[i:j]))
		if len(toks) == 0 && !ok {
			return nil
		}
		if ok {
			known++
		}
		toks = append(toks, tok{col: i + 1, id: id, ok: ok})
		i = j
	}
	if len(toks) == 0 || known*2 < len(toks) {
		return nil
	}
	first := map[flow.FieldID]int{}
	for _, t := range toks {
		name := tokenAt(line, t.col-1)
		if !t.ok {
			msg := "header line: unknown field name " + flow.QuoteToken(name)
			if s := suggestField(string(name)); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			return &flow.SyntaxError{Column: t.col, Token: string(name), Msg: msg}
		}
		if c, dup := first[t.id]; dup {
			return &flow.SyntaxError{Column: t.col, Token: string(name),
				Msg: fmt.Sprintf("header line: duplicate field name %s (also at column %d)", flow.QuoteToken(name), c)}
		}
		first[t.id] = t.col
	}
	return nil // a valid header line: not this function's case
}

func tokenAt(line []byte, i int) []byte {
	j := i
	for j < len(line) && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' {
		j++
	}
	return line[i:j]
}

// suggestField returns the field name closest to a misspelt one (at most
// two edits away), or "".
func suggestField(name string) string {
	if len(name) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, f := range flow.Fields() {
		if d := editDistance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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
	gz      *gzipStream // for gzip input
	ended   bool        // the text stream reached its end
	long    []byte      // a line longer than the buffer
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
	cnt := &countio.Reader{R: r}
	br := bufio.NewReaderSize(cnt, readBufSize)
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
	text, gz, err := openText(br, cnt, rd.kind, opt.Name)
	if err != nil {
		return nil, err
	}
	if gz != nil {
		rd.gz = gz
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
		// The partial line before a decompression error is dropped: it
		// is cut short, and the error says after which line.
		return nil, withLine(err, rd.opt.Name, rd.stats.Lines)
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if rd.stats.Lines == 0 {
		line = bytes.TrimPrefix(line, []byte(utf8BOM))
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
			} else if !rd.ended {
				rd.ended = true
				if rd.gz != nil && rd.gz.trailing != nil {
					rd.stats.Warnings = append(rd.stats.Warnings, rd.gz.trailing)
				}
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
			if he := badHeader(line); he != nil {
				err = he
			}
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
