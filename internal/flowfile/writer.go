package flowfile

import (
	"bufio"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/countio"
	"vpcflow/internal/flow"
)

// RecordWriter is what every writer of this package implements.
type RecordWriter interface {
	Write(r *flow.Record) error
	// Close flushes and finishes the object (gzip trailer, Parquet
	// footer). It never closes the underlying io.Writer.
	Close() error
}

// Encoding is a line-oriented rendering of records.
type Encoding uint8

// Line encodings.
const (
	EncText Encoding = iota // AWS text: space-separated, "-" for absent
	EncCSV                  // CSV with a header row, empty cell for absent
	EncJSON                 // one JSON object per line, null for absent
)

// ParseEncoding maps "text", "csv" and "json" to an Encoding.
func ParseEncoding(s string) (Encoding, error) {
	switch s {
	case "text":
		return EncText, nil
	case "csv":
		return EncCSV, nil
	case "json":
		return EncJSON, nil
	}
	return 0, fmt.Errorf("unknown encoding %q (want text, csv or json)", s)
}

func (e Encoding) String() string {
	switch e {
	case EncCSV:
		return "csv"
	case EncJSON:
		return "json"
	}
	return "text"
}

// Append appends one record in this encoding, without the newline.
func (e Encoding) Append(dst []byte, f flow.Format, r *flow.Record) []byte {
	switch e {
	case EncCSV:
		return flow.AppendCSV(dst, f, r)
	case EncJSON:
		return flow.AppendJSON(dst, f, r)
	}
	return flow.AppendText(dst, f, r)
}

// Header returns the header line of format f in this encoding (the S3
// header line for text, the CSV header row) and whether there is one.
func (e Encoding) Header(f flow.Format) (string, bool) {
	switch e {
	case EncCSV:
		return flow.CSVHeader(f), true
	case EncJSON:
		return "", false
	}
	return f.Header(), true
}

// LineWriter writes one record per line.
type LineWriter struct {
	enc    Encoding
	f      flow.Format
	header bool // write the header before the first record
	bw     *bufio.Writer
	zw     *gzip.Writer
	cw     *countio.Writer
	line   []byte
	n      int
	err    error
}

// NewTextWriter writes records as AWS text lines in format f, preceded by
// the header line of field names when header is true (as AWS does in S3
// text objects, spec §5.1). The output is not compressed; see
// NewGzipTextWriter for an S3 object.
func NewTextWriter(w io.Writer, f flow.Format, header bool) *LineWriter {
	return newLineWriter(w, f, EncText, header, false)
}

// NewGzipTextWriter is NewTextWriter with gzip compression: an S3 text
// object as AWS delivers it (header line, records, gzip). Use Written for
// the compressed size so far, e.g. to roll objects at 75 MB.
func NewGzipTextWriter(w io.Writer, f flow.Format, header bool) *LineWriter {
	return newLineWriter(w, f, EncText, header, true)
}

// NewCSVWriter writes a CSV header row of AWS field names then one row per
// record.
func NewCSVWriter(w io.Writer, f flow.Format) *LineWriter {
	return newLineWriter(w, f, EncCSV, true, false)
}

// NewJSONWriter writes one JSON object per record and line (JSON Lines).
func NewJSONWriter(w io.Writer, f flow.Format) *LineWriter {
	return newLineWriter(w, f, EncJSON, false, false)
}

// NewLineWriter writes records in encoding enc, with its header line when
// header is true, gzip-compressed when gz is true.
func NewLineWriter(w io.Writer, f flow.Format, enc Encoding, header, gz bool) *LineWriter {
	return newLineWriter(w, f, enc, header, gz)
}

func newLineWriter(w io.Writer, f flow.Format, enc Encoding, header, gz bool) *LineWriter {
	lw := &LineWriter{enc: enc, f: f, cw: &countio.Writer{W: w}}
	var out io.Writer = lw.cw
	if gz {
		lw.zw = gzip.NewWriter(lw.cw)
		out = lw.zw
	}
	lw.bw = bufio.NewWriterSize(out, 256<<10)
	if _, ok := enc.Header(f); ok && header {
		lw.header = true
	}
	return lw
}

// Format is the writer's format.
func (lw *LineWriter) Format() flow.Format { return lw.f }

// Records is the number of records written so far.
func (lw *LineWriter) Records() int { return lw.n }

// Written is the number of bytes written to the underlying writer so far
// (compressed bytes for a gzip writer; buffered data is not counted).
func (lw *LineWriter) Written() int64 { return lw.cw.N }

func (lw *LineWriter) writeHeader() {
	if !lw.header {
		return
	}
	lw.header = false
	h, _ := lw.enc.Header(lw.f)
	lw.bw.WriteString(h)
	lw.bw.WriteByte('\n')
}

// Write adds one record.
func (lw *LineWriter) Write(r *flow.Record) error {
	if lw.err != nil {
		return lw.err
	}
	lw.writeHeader()
	lw.line = lw.enc.Append(lw.line[:0], lw.f, r)
	lw.line = append(lw.line, '\n')
	if _, err := lw.bw.Write(lw.line); err != nil {
		lw.err = err
		return err
	}
	lw.n++
	return nil
}

// Flush writes buffered lines through (and flushes the gzip stream, which
// costs compression ratio; call it rarely).
func (lw *LineWriter) Flush() error {
	if lw.err != nil {
		return lw.err
	}
	if err := lw.bw.Flush(); err != nil {
		lw.err = err
		return err
	}
	if lw.zw != nil {
		if err := lw.zw.Flush(); err != nil {
			lw.err = err
			return err
		}
	}
	return nil
}

// Close writes the header if no record was written, flushes, and ends the
// gzip stream. It does not close the underlying writer.
func (lw *LineWriter) Close() error {
	if lw.err != nil {
		return lw.err
	}
	lw.writeHeader()
	if err := lw.bw.Flush(); err != nil {
		lw.err = err
		return err
	}
	if lw.zw != nil {
		if err := lw.zw.Close(); err != nil {
			lw.err = err
			return err
		}
	}
	lw.err = errClosed
	return nil
}

var errClosed = fmt.Errorf("flowfile: writer is closed")

// TableWriter prints records as aligned columns under a header of field
// names, for people. Columns are re-aligned every tableBlock records.
type TableWriter struct {
	f    flow.Format
	tw   *tabwriter.Writer
	line []byte
	rows int
}

const tableBlock = 1000

// NewTableWriter prints records of format f to w as a table.
func NewTableWriter(w io.Writer, f flow.Format) *TableWriter {
	return &TableWriter{f: f, tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

func (t *TableWriter) header() {
	t.line = t.line[:0]
	for i, id := range t.f.Fields() {
		if i > 0 {
			t.line = append(t.line, '\t')
		}
		t.line = append(t.line, id.String()...)
	}
	t.line = append(t.line, '\n')
	t.tw.Write(t.line)
}

// Write adds one row.
func (t *TableWriter) Write(r *flow.Record) error {
	if t.rows%tableBlock == 0 {
		if t.rows > 0 {
			if err := t.tw.Flush(); err != nil {
				return err
			}
		}
		t.header()
	}
	t.rows++
	t.line = t.line[:0]
	for i, id := range t.f.Fields() {
		if i > 0 {
			t.line = append(t.line, '\t')
		}
		t.line = flow.AppendValue(t.line, id, r)
	}
	t.line = append(t.line, '\n')
	_, err := t.tw.Write(t.line)
	return err
}

// Close flushes the table.
func (t *TableWriter) Close() error {
	if t.rows == 0 {
		t.header()
	}
	return t.tw.Flush()
}
