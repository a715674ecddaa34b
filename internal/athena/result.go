package athena

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ErrNotCompiled is returned by Open in builds without cgo, where DuckDB is
// not linked in.
var ErrNotCompiled = errors.New("SQL engine not compiled in (build with CGO_ENABLED=1)")

// Config configures the embedded SQL engine.
type Config struct {
	// DataDir is the root that holds the S3 layout (buckets as top-level
	// directories). It is also the only directory SQL may read.
	DataDir string
	// Threads caps DuckDB's worker threads (0: DuckDB's default).
	Threads int
	// MemoryLimit is DuckDB's memory_limit, e.g. "1GB" (empty: default).
	MemoryLimit string
}

// Result is a fully materialised query result.
type Result struct {
	Columns []string
	Types   []string // DuckDB type names
	Rows    [][]any
}

// Output formats for Result.Write.
const (
	OutputTable = "table"
	OutputCSV   = "csv"
	OutputJSON  = "json"
)

// Write renders r in the named format: "table", "csv" or "json".
func (r *Result) Write(w io.Writer, format string) error {
	switch format {
	case OutputTable, "":
		return r.WriteTable(w)
	case OutputCSV:
		return r.WriteCSV(w)
	case OutputJSON:
		return r.WriteJSON(w)
	}
	return fmt.Errorf("unknown output format %q (want table, csv or json)", format)
}

// WriteTable writes aligned columns with a header, NULL shown as "NULL",
// and a row count line.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(r.Columns, "\t"))
	seps := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		seps[i] = strings.Repeat("-", max(len(c), 3))
	}
	fmt.Fprintln(tw, strings.Join(seps, "\t"))
	cells := make([]string, len(r.Columns))
	for _, row := range r.Rows {
		for i, v := range row {
			if v == nil {
				cells[i] = "NULL"
			} else {
				cells[i] = formatValue(v)
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	n := len(r.Rows)
	s := "s"
	if n == 1 {
		s = ""
	}
	_, err := fmt.Fprintf(w, "(%d row%s)\n", n, s)
	return err
}

// WriteCSV writes RFC 4180 CSV with a header row; NULL is an empty field.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.Columns); err != nil {
		return err
	}
	rec := make([]string, len(r.Columns))
	for _, row := range r.Rows {
		for i, v := range row {
			if v == nil {
				rec[i] = ""
			} else {
				rec[i] = formatValue(v)
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes one JSON array of objects keyed by column name, in
// column order. Integers and floats stay numbers, NULL is null.
func (r *Result) WriteJSON(w io.Writer) error {
	var b strings.Builder
	b.WriteString("[")
	for ri, row := range r.Rows {
		if ri > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for i, v := range row {
			if i > 0 {
				b.WriteString(", ")
			}
			k, _ := json.Marshal(r.Columns[i])
			b.Write(k)
			b.WriteString(": ")
			b.WriteString(jsonValue(v))
		}
		b.WriteString("}")
	}
	if len(r.Rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func jsonValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return fmt.Sprint(x)
	case float32, float64:
		f := fmt.Sprint(x)
		if f == "NaN" || strings.Contains(f, "Inf") {
			return strconv.Quote(f)
		}
		return f
	case *big.Int:
		return x.String()
	}
	b, err := json.Marshal(formatValue(v))
	if err != nil {
		return "null"
	}
	return string(b)
}

// formatValue renders one non-NULL value the way Athena's console shows it.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.000")
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
