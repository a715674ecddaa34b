//go:build cgo

package athena

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// DB is an embedded DuckDB with the flow log views over a data directory,
// sandboxed so that SQL can read nothing outside it and write nothing.
type DB struct {
	db      *sql.DB
	conn    *duckdb.Connector
	dataDir string
	tmpDir  string // DuckDB's temp directory, removed at Close
	objects int
}

// Open scans cfg.DataDir for text and Parquet flow log objects, starts
// DuckDB locked down to that directory and creates the views
// vpc_flow_logs, vpc_flow_logs_parquet and test_table_vpclogs.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("data directory is required")
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	objs, err := ScanObjects(dir)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if cfg.Threads > 0 {
		q.Set("threads", strconv.Itoa(cfg.Threads))
	}
	if cfg.MemoryLimit != "" {
		q.Set("memory_limit", cfg.MemoryLimit)
	}
	dsn := ""
	if len(q) > 0 {
		dsn = "?" + q.Encode()
	}
	// DuckDB spills to its temp directory, which it adds to the allowed
	// ones: by default ./.tmp of the working directory, readable by SQL. A
	// private directory, removed at Close, holds only DuckDB's own files.
	tmp, err := os.MkdirTemp("", "vpcflow-duckdb-")
	if err != nil {
		return nil, err
	}
	var once sync.Once
	var initErr error
	connector, err := duckdb.NewConnector(dsn, func(ex driver.ExecerContext) error {
		// Settings are database-wide: apply them on the first connection;
		// once locked they hold for every later one.
		once.Do(func() { initErr = sandbox(ex, dir, tmp) })
		return initErr
	})
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start duckdb: %w", err)
	}
	d := &DB{db: sql.OpenDB(connector), conn: connector, dataDir: dir, tmpDir: tmp, objects: len(objs)}
	// One connection: the Go functions are registered on it, and DuckDB
	// parallelises each query internally anyway.
	d.db.SetMaxOpenConns(1)
	d.db.SetMaxIdleConns(1)
	d.db.SetConnMaxLifetime(0)
	d.db.SetConnMaxIdleTime(0)
	if err := d.createViews(ctx, objs); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// sandbox runs the lock-down sequence: reads only under dir, no external
// access (no COPY TO, ATTACH, httpfs), no extension install or autoload,
// then lock the configuration so SQL cannot undo any of it.
func sandbox(ex driver.ExecerContext, dir, tmp string) error {
	stmts := []string{
		"SET TimeZone = 'UTC'",
		"SET temp_directory = " + sqlString(tmp),
		"SET allowed_directories = [" + sqlString(dir+string(filepath.Separator)) + "]",
		"SET enable_external_access = false",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET lock_configuration = true",
	}
	for _, s := range stmts {
		if _, err := ex.ExecContext(context.Background(), s, nil); err != nil {
			return fmt.Errorf("sandbox duckdb (%s): %w", s, err)
		}
	}
	return nil
}

func (d *DB) createViews(ctx context.Context, objs []Object) error {
	c, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("start duckdb: %w", err)
	}
	err = registerUDFs(ctx, c)
	c.Close()
	if err != nil {
		return err
	}
	for _, s := range Shims() {
		if _, err := d.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("create shim: %w", err)
		}
	}
	parquetCols, err := d.parquetColumns(ctx, objs)
	if err != nil {
		return err
	}
	cols := Columns(objs, parquetCols)
	for _, s := range ViewSQL(BaseSQL(objs, parquetCols, cols), cols) {
		if _, err := d.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("create view: %w", err)
		}
	}
	return nil
}

// parquetColumns reads the top-level column names of every Parquet object.
func (d *DB) parquetColumns(ctx context.Context, objs []Object) (map[string][]string, error) {
	var paths []string
	for _, o := range objs {
		if o.Kind == ObjectParquet {
			paths = append(paths, sqlString(o.Path))
		}
	}
	out := map[string][]string{}
	if len(paths) == 0 {
		return out, nil
	}
	rows, err := d.db.QueryContext(ctx,
		"SELECT file_name, name FROM parquet_schema(["+strings.Join(paths, ", ")+"]) WHERE num_children IS NULL OR num_children = 0")
	if err != nil {
		return nil, fmt.Errorf("read parquet schemas: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var file, name string
		if err := rows.Scan(&file, &name); err != nil {
			return nil, err
		}
		out[file] = append(out[file], name)
	}
	return out, rows.Err()
}

// Objects is the number of flow log objects the views cover.
func (d *DB) Objects() int { return d.objects }

// DataDir is the sandbox root.
func (d *DB) DataDir() string { return d.dataDir }

// Query runs one SQL statement and materialises its result. DATE values
// come back as "YYYY-MM-DD" strings and TIMESTAMP values as
// "YYYY-MM-DD HH:MM:SS.mmm", as Athena prints them.
//
// Only a single read-only statement (SELECT, EXPLAIN, DESCRIBE, SHOW …) is
// accepted: DuckDB's allowed_directories would otherwise let COPY or ATTACH
// write inside the data directory.
func (d *DB) Query(ctx context.Context, query string) (*Result, error) {
	c, err := d.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if isAthenaDDL(query) {
		return nil, ErrAthenaDDL
	}
	// DuckDB's Prepare runs every statement of a script but the last:
	// refuse scripts before anything is prepared.
	if script(query) {
		return nil, ErrNotReadOnly
	}
	if err := checkReadOnly(ctx, c, query); err != nil {
		return nil, err
	}
	rows, err := c.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for _, ct := range cts {
		res.Columns = append(res.Columns, ct.Name())
		res.Types = append(res.Types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		vals := make([]any, len(cts))
		ptrs := make([]any, len(cts))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		for i, v := range vals {
			if t, ok := v.(time.Time); ok {
				switch res.Types[i] {
				case "DATE":
					vals[i] = t.UTC().Format("2006-01-02")
				case "TIME":
					vals[i] = t.UTC().Format("15:04:05.000")
				default:
					vals[i] = t.UTC().Format("2006-01-02 15:04:05.000")
				}
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return res, nil
}

// ErrAthenaDDL answers the table statements of Athena's flow log guide
// (spec §9.1), which DuckDB cannot parse and which are not needed here.
var ErrAthenaDDL = errors.New("Athena DDL is not needed: vpc_flow_logs, vpc_flow_logs_parquet and test_table_vpclogs " +
	"are already defined, with their partition columns, over every flow log object under the data directory " +
	"(to query one bucket or prefix, give it as --data); run the SELECT queries as they are")

// isAthenaDDL reports whether query is CREATE EXTERNAL TABLE, ALTER TABLE
// ... PARTITION or MSCK REPAIR TABLE, leading comments and blanks aside.
func isAthenaDDL(query string) bool {
	q := strings.TrimSpace(query)
	for strings.HasPrefix(q, "--") {
		_, rest, _ := strings.Cut(q, "\n")
		q = strings.TrimSpace(rest)
	}
	words := strings.Fields(strings.ToUpper(q))
	if len(words) < 3 {
		return false
	}
	switch {
	case words[0] == "CREATE" && words[1] == "EXTERNAL" && words[2] == "TABLE",
		words[0] == "MSCK" && words[1] == "REPAIR" && words[2] == "TABLE":
		return true
	case words[0] == "ALTER" && words[1] == "TABLE":
		return strings.Contains(strings.ToUpper(q), "PARTITION")
	}
	return false
}

// ErrNotReadOnly is returned for statements other than a single query.
var ErrNotReadOnly = errors.New("only a single read-only statement (SELECT, EXPLAIN, DESCRIBE, SHOW) is allowed")

// checkReadOnly prepares query and rejects anything but one SELECT or
// EXPLAIN.
func checkReadOnly(ctx context.Context, c *sql.Conn, query string) error {
	return c.Raw(func(dc any) error {
		conn, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		st, err := conn.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("unexpected driver statement %T", st)
		}
		typ, err := ds.StatementType()
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		switch typ {
		case duckdb.STATEMENT_TYPE_SELECT:
			return nil
		case duckdb.STATEMENT_TYPE_EXPLAIN:
			// EXPLAIN ANALYZE runs the statement it explains, COPY TO
			// included: refuse any EXPLAIN that says ANALYZE.
			if explainsByRunning(query) {
				return ErrNotReadOnly
			}
			return nil
		}
		return ErrNotReadOnly
	})
}

// script reports whether query may hold more than one statement: a
// semicolon anywhere but in its trailing run of blanks and semicolons.
// Reading SQL's quoting exactly as DuckDB does (backslash escapes, $ in
// names, dollar quotes) is where a splitter goes wrong, and a wrong count
// lets Prepare run a COPY; a semicolon inside a string or a comment only
// costs a refusal.
func script(query string) bool {
	return strings.ContainsRune(strings.TrimRight(query, "; \t\r\n\f"), ';')
}

// explainsByRunning reports whether an EXPLAIN statement has the ANALYZE
// (or ANALYSE) keyword. It looks at words, not the parse tree, so a column
// named analyze is refused too: acceptable for a sandbox.
func explainsByRunning(query string) bool {
	words := strings.FieldsFunc(strings.ToUpper(query), func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
	})
	return slices.Contains(words, "ANALYZE") || slices.Contains(words, "ANALYSE")
}

// Timed runs query and reports how long it took, including materialising
// the result. Benchmarks use it to compare engines on the same question.
func (d *DB) Timed(ctx context.Context, query string) (*Result, time.Duration, error) {
	t0 := time.Now()
	r, err := d.Query(ctx, query)
	return r, time.Since(t0), err
}

// Close releases DuckDB.
func (d *DB) Close() error {
	err := d.db.Close()
	if cerr := d.conn.Close(); err == nil {
		err = cerr
	}
	if rerr := os.RemoveAll(d.tmpDir); err == nil {
		err = rerr
	}
	return err
}
