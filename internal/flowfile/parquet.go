package flowfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"vpcflow/internal/flow"
)

// orderedGroup is a parquet group whose columns keep the order of the flow
// log format (parquet.Group would sort them by name).
type orderedGroup struct {
	parquet.Group
	order []string
}

func (g orderedGroup) Fields() []parquet.Field {
	fields := slices.Clone(g.Group.Fields())
	rank := make(map[string]int, len(g.order))
	for i, n := range g.order {
		rank[n] = i
	}
	slices.SortStableFunc(fields, func(a, b parquet.Field) int { return rank[a.Name()] - rank[b.Name()] })
	return fields
}

// ParquetSchema is the schema AWS uses for a flow log of format f (spec
// §10.4): one optional column per field, in format order, named with '_'
// for '-' ("account_id"), typed INT_32, INT_64 or STRING as the field
// table says. A "-" value is a NULL.
func ParquetSchema(f flow.Format) *parquet.Schema {
	g := parquet.Group{}
	order := make([]string, 0, f.Len())
	for _, id := range f.Fields() {
		info := id.Info()
		var node parquet.Node
		switch info.Kind {
		case flow.KindInt32:
			node = parquet.Int(32)
		case flow.KindInt64:
			node = parquet.Int(64)
		default:
			node = parquet.String()
		}
		g[info.Column] = parquet.Optional(node)
		order = append(order, info.Column)
	}
	return parquet.NewSchema("vpcflowlogs", orderedGroup{Group: g, order: order})
}

// parquetBatch is how many rows are buffered before they go to the writer.
const parquetBatch = 1024

// parquetRowGroup bounds row groups, the unit readers parallelise on.
const parquetRowGroup = 1 << 20

// ParquetWriter writes records as a Parquet object with AWS's schema and
// gzip compression inside the file (spec §5.1, §10.4).
type ParquetWriter struct {
	f    flow.Format
	w    *parquet.Writer
	rows []parquet.Row
	n    int
	vals []parquet.Value // backing store of rows
	// flushed is n at the last Flush; groups the row groups it ended.
	flushed, groups int
	arena           []byte // string values of the batch
	err             error
}

// NewParquetWriter starts a Parquet object of format f on w. Close must be
// called to write the footer; it does not close w.
func NewParquetWriter(w io.Writer, f flow.Format) (*ParquetWriter, error) {
	if f.IsZero() {
		return nil, fmt.Errorf("parquet: empty format")
	}
	schema := ParquetSchema(f)
	pw := parquet.NewWriter(w, schema,
		parquet.Compression(&parquet.Gzip),
		parquet.CreatedBy("vpcflow", "", ""),
		parquet.MaxRowsPerRowGroup(parquetRowGroup),
	)
	return &ParquetWriter{
		f:    f,
		w:    pw,
		rows: make([]parquet.Row, 0, parquetBatch),
		vals: make([]parquet.Value, 0, parquetBatch*f.Len()),
	}, nil
}

// Format is the writer's format.
func (pw *ParquetWriter) Format() flow.Format { return pw.f }

// Records is the number of records written so far.
func (pw *ParquetWriter) Records() int { return pw.n }

// Size estimates the object size so far: bytes written plus the buffered
// row group, uncompressed (an upper bound). Use it to roll objects.
func (pw *ParquetWriter) Size() int64 {
	return pw.w.Size()
}

// Write adds one record.
func (pw *ParquetWriter) Write(r *flow.Record) error {
	if pw.err != nil {
		return pw.err
	}
	start := len(pw.vals)
	for col, id := range pw.f.Fields() {
		var v parquet.Value
		if !r.Has(id) {
			v = parquet.NullValue()
		} else {
			switch id.Info().Kind {
			case flow.KindInt32:
				n, _ := r.Int(id)
				v = parquet.Int32Value(int32(n))
			case flow.KindInt64:
				n, _ := r.Int(id)
				v = parquet.Int64Value(n)
			default:
				// Values are copied into the batch's arena: the batch
				// outlives the record. WriteRows copies them out.
				n := len(pw.arena)
				pw.arena = flow.AppendValue(pw.arena, id, r)
				v = parquet.ByteArrayValue(pw.arena[n:len(pw.arena):len(pw.arena)])
			}
		}
		def := 1
		if v.IsNull() {
			def = 0
		}
		pw.vals = append(pw.vals, v.Level(0, def, col))
	}
	pw.rows = append(pw.rows, parquet.Row(pw.vals[start:len(pw.vals):len(pw.vals)]))
	pw.n++
	if len(pw.rows) == cap(pw.rows) {
		return pw.flushRows()
	}
	return nil
}

func (pw *ParquetWriter) flushRows() error {
	if len(pw.rows) == 0 {
		return nil
	}
	if _, err := pw.w.WriteRows(pw.rows); err != nil {
		pw.err = fmt.Errorf("parquet: %w", err)
		return pw.err
	}
	pw.rows = pw.rows[:0]
	pw.vals = pw.vals[:0]
	pw.arena = pw.arena[:0]
	return nil
}

// Flush ends the row group: its rows are compressed and counted in
// EstimatedSize. Use it to roll objects by size.
func (pw *ParquetWriter) Flush() error {
	if err := pw.flushRows(); err != nil {
		return err
	}
	if pw.n == pw.flushed {
		return nil
	}
	if err := pw.w.Flush(); err != nil {
		pw.err = fmt.Errorf("parquet: %w", err)
		return pw.err
	}
	pw.flushed = pw.n
	pw.groups++
	return nil
}

// Footer size estimate, from measurement with the default format: the
// schema and file metadata, about 200 bytes, and 140-150 bytes per column
// chunk of each row group (offsets and min/max statistics).
const (
	footerBase     = 1 << 10
	footerPerChunk = 160
)

// EstimatedSize is the object's size if it were closed after the last
// Flush: the row groups written (compressed) and an upper estimate of the
// footer, which grows with every row group. Rows written since the last
// Flush are not counted.
func (pw *ParquetWriter) EstimatedSize() int64 {
	// After Flush the writer's Size is the bytes it wrote, some perhaps
	// still in its buffer: the current row group is empty.
	return pw.w.Size() + footerBase + int64(pw.groups*pw.f.Len())*footerPerChunk
}

// Close writes buffered rows and the file footer. It does not close the
// underlying writer.
func (pw *ParquetWriter) Close() error {
	if err := pw.flushRows(); err != nil {
		return err
	}
	if err := pw.w.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

// parquetSource reads records from a Parquet object whose columns are flow
// log fields by Athena column name (or AWS name), in any order. Columns of
// other names are ignored.
type parquetSource struct {
	name   string
	format flow.Format
	cols   []int // column index in the file of each format field
	r      *parquet.Reader
	rows   []parquet.Row
	pos, n int
	row    int
	dec    *flow.Decoder
	buf    []byte
}

func openParquetSource(r io.Reader, br *bufio.Reader, opt Options) (*parquetSource, error) {
	var ra io.ReaderAt
	var size int64
	if isFileAtStart(r, br) {
		f := r.(*os.File)
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		ra, size = f, st.Size()
	} else {
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opt.Name, err)
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	if err := checkParquetEnd(ra, size); err != nil {
		return nil, fmt.Errorf("%s: %w", opt.Name, err)
	}
	var pf *parquet.File
	err := parquetCall(func() (err error) {
		// The page index and bloom filters serve seeks and lookups, not a
		// sequential read: skipping them saves reads and their parsing.
		pf, err = parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: parquet: %w", opt.Name, err)
	}
	var ids []flow.FieldID
	var cols []int
	for i, col := range pf.Schema().Columns() {
		if len(col) != 1 {
			continue
		}
		id, ok := flow.LookupColumn(col[0])
		if !ok {
			continue
		}
		ids = append(ids, id)
		cols = append(cols, i)
	}
	format, err := flow.NewFormat(ids...)
	if err != nil {
		return nil, fmt.Errorf("%s: parquet: no flow log columns: %w", opt.Name, err)
	}
	if !opt.Format.IsZero() && !opt.Format.Equal(format) {
		return nil, fmt.Errorf("%s: parquet columns are %q, not the requested format", opt.Name, format.Header())
	}
	return &parquetSource{
		name:   opt.Name,
		format: format,
		cols:   cols,
		r:      parquet.NewReader(pf),
		rows:   make([]parquet.Row, 256),
		dec:    flow.NewDecoder(format),
	}, nil
}

// checkParquetEnd tells a truncated object from a corrupt one before
// parquet-go reports "invalid magic footer" or a negative read offset: a
// complete object ends with its footer length and "PAR1", and the footer
// fits between the two magic numbers.
func checkParquetEnd(ra io.ReaderAt, size int64) error {
	const minSize = 12 // "PAR1", footer length, "PAR1"
	if size < minSize {
		return fmt.Errorf("not a complete Parquet object: %d bytes, less than the 12 of an empty one (truncated?)", size)
	}
	var tail [8]byte
	if n, err := ra.ReadAt(tail[:], size-8); n < len(tail) {
		return fmt.Errorf("parquet: reading the footer: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return fmt.Errorf("not a complete Parquet object: %d bytes without the closing \"PAR1\" (truncated?)", size)
	}
	if n := binary.LittleEndian.Uint32(tail[:4]); int64(n) > size-minSize {
		return fmt.Errorf("not a complete Parquet object: footer length %d does not fit in its %d bytes (truncated or corrupt?)", n, size)
	}
	return nil
}

// parquetCall runs a parquet-go call that can panic on corrupt input (it
// slices with lengths read from the object) and returns the panic as an
// error: a bad input file must not crash the program.
func parquetCall(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt Parquet object (%v)", r)
		}
	}()
	return f()
}

// isFileAtStart reports whether r is a regular file whose unread bytes are
// all still in it (the bufio.Reader only peeked).
func isFileAtStart(r io.Reader, br *bufio.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	off, err := f.Seek(0, io.SeekCurrent)
	return err == nil && off == int64(br.Buffered())
}

func (s *parquetSource) next(rec *flow.Record) (bool, error) {
	if s.pos == s.n {
		var n int
		err := parquetCall(func() (err error) {
			n, err = s.r.ReadRows(s.rows)
			return err
		})
		if n == 0 {
			if err == nil || err == io.EOF {
				return false, nil
			}
			return false, fmt.Errorf("%s: parquet: %w", s.name, err)
		}
		s.pos, s.n = 0, n
	}
	row := s.rows[s.pos]
	s.pos++
	s.row++
	rec.Reset()
	for i, id := range s.format.Fields() {
		c := s.cols[i]
		if c >= len(row) {
			continue
		}
		v := row[c]
		if v.IsNull() {
			continue
		}
		switch v.Kind() {
		case parquet.Int32:
			s.buf = strconv.AppendInt(s.buf[:0], int64(v.Int32()), 10)
		case parquet.Int64:
			s.buf = strconv.AppendInt(s.buf[:0], v.Int64(), 10)
		case parquet.ByteArray, parquet.FixedLenByteArray:
			s.buf = append(s.buf[:0], v.ByteArray()...)
		default:
			return false, fmt.Errorf("%s: parquet row %d: column %s has unsupported type %s", s.name, s.row, id.Info().Column, v.Kind())
		}
		if err := s.dec.DecodeToken(id, s.buf, rec); err != nil {
			// Not a *flow.SyntaxError: it has no text line and column, and
			// a Parquet read stops at a bad value even in lenient mode.
			msg := err.Error()
			var se *flow.SyntaxError
			if errors.As(err, &se) {
				msg = se.Msg + " (got " + flow.QuoteToken(se.Token) + ")"
			}
			return false, fmt.Errorf("%s: parquet row %d, column %s: %s", s.name, s.row, id.Info().Column, msg)
		}
	}
	return true, nil
}
