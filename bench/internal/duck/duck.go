// Package duck is the DuckDB side of the benchmark harnesses (bench/analysis,
// bench/insights): one embedded DuckDB opened through internal/athena (so
// cgo stays in that one package), the read_csv call that reads
// default-format flow log objects as directly as DuckDB can, and answers
// turned into (key, value) rows for comparison with our engines.
//
// Without cgo, Open returns ErrNotCompiled and the harnesses run only our
// engines.
package duck

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"vpcflow/internal/athena"
)

// ErrNotCompiled is returned by Open in builds without cgo.
var ErrNotCompiled = athena.ErrNotCompiled

// Row is one answer row: the key columns joined by a space, and the value
// (the last column).
type Row struct {
	Key   string
	Value int64
}

// Columns says how read_csv types the fields of the default format.
type Columns int

const (
	// Typed reads the numeric fields as numbers and "-" as NULL, as the
	// Athena DDL does.
	Typed Columns = iota
	// Text reads every field DuckDB need not compute on as VARCHAR (only
	// start and end are numbers): the least parsing, for questions that
	// only compare and group text.
	Text
)

// defaultFields are the default format's columns in the header's names.
var defaultFields = []string{"version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport",
	"protocol", "packets", "bytes", "start", "end", "action", "log_status"}

func (c Columns) typeOf(field string) string {
	switch field {
	case "version", "srcport", "dstport":
		if c == Typed {
			return "INTEGER"
		}
	case "protocol", "packets", "bytes":
		if c == Typed {
			return "BIGINT"
		}
	case "start", "end":
		return "BIGINT"
	}
	return "VARCHAR"
}

// ReadCSV returns a read_csv call over the gzip text objects matching glob
// (default format, header line first): explicit columns, no sniffing.
func ReadCSV(glob string, c Columns) string {
	cols := make([]string, len(defaultFields))
	for i, f := range defaultFields {
		cols[i] = fmt.Sprintf("%s: %s", Quote(f), Quote(c.typeOf(f)))
	}
	null := ""
	if c == Typed {
		null = ", nullstr = '-'"
	}
	return fmt.Sprintf("read_csv(%s, delim = ' ', header = true%s, auto_detect = false, columns = {%s})",
		Quote(glob), null, strings.Join(cols, ", "))
}

// Quote returns s as an SQL string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// DB is an embedded DuckDB that may read the files under one directory,
// with the Athena views (vpc_flow_logs, …) over the flow log objects there.
type DB struct {
	db *athena.DB
}

// Open starts DuckDB over dir.
func Open(ctx context.Context, dir string) (*DB, error) {
	db, err := athena.Open(ctx, athena.Config{DataDir: dir})
	if err != nil {
		if errors.Is(err, athena.ErrNotCompiled) {
			return nil, ErrNotCompiled
		}
		return nil, err
	}
	return &DB{db: db}, nil
}

// Glob is pattern under the directory DuckDB may read (its resolved
// absolute path: DuckDB checks reads against it).
func (d *DB) Glob(pattern string) string { return filepath.Join(d.db.DataDir(), pattern) }

// Rows runs a query whose last column is an integer value and the others
// are keys.
func (d *DB) Rows(ctx context.Context, sql string) ([]Row, error) {
	res, err := d.db.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	if len(res.Columns) < 2 {
		return nil, fmt.Errorf("want key columns and a value column, got %v", res.Columns)
	}
	out := make([]Row, 0, len(res.Rows))
	for _, r := range res.Rows {
		keys := make([]string, len(r)-1)
		for i, v := range r[:len(r)-1] {
			keys[i] = fmt.Sprint(v)
		}
		n, err := integer(r[len(r)-1])
		if err != nil {
			return nil, fmt.Errorf("value of row %v: %w", r, err)
		}
		out = append(out, Row{strings.Join(keys, " "), n})
	}
	return out, nil
}

func integer(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	case float64:
		return int64(x), nil
	}
	// HUGEINT sums come as *big.Int; their text is the number.
	return strconv.ParseInt(fmt.Sprint(v), 10, 64)
}

// Close stops DuckDB.
func (d *DB) Close() error { return d.db.Close() }
