//go:build cgo

// Command duckdbread is the DuckDB side of the bench/logsread comparison: it
// reads a gzip default-format flow log with DuckDB's read_csv and writes it
// as CSV to /dev/null, with a given thread count.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	threads := flag.Int("threads", 2, "DuckDB threads")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: duckdbread [-threads N] FILE.log.gz")
		os.Exit(2)
	}
	n, err := run(flag.Arg(0), *threads)
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckdbread:", err)
		os.Exit(1)
	}
	fmt.Println(n)
}

func run(path string, threads int) (int64, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(fmt.Sprintf("SET threads = %d", threads)); err != nil {
		return 0, err
	}
	// The same typed reading vpcflow does: explicit columns (AWS field
	// types), "-" as NULL, header line skipped.
	q := fmt.Sprintf(`COPY (SELECT * FROM read_csv('%s', delim = ' ', header = true, nullstr = '-',
		columns = {'version': 'INTEGER', 'account-id': 'VARCHAR', 'interface-id': 'VARCHAR',
		'srcaddr': 'VARCHAR', 'dstaddr': 'VARCHAR', 'srcport': 'INTEGER', 'dstport': 'INTEGER',
		'protocol': 'INTEGER', 'packets': 'BIGINT', 'bytes': 'BIGINT', 'start': 'BIGINT', 'end': 'BIGINT',
		'action': 'VARCHAR', 'log-status': 'VARCHAR'})) TO '/dev/null' (FORMAT csv)`,
		strings.ReplaceAll(path, "'", "''"))
	res, err := db.Exec(q)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
