//go:build cgo

package main

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/duckdb/duckdb-go/v2"
)

func init() { runDuck = duckTop }

// duckTop asks DuckDB the benchmark question over the gzip text files,
// read as space-delimited CSV with the header line naming the columns.
func duckTop(ctx context.Context, glob string) ([]topRow, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	q := fmt.Sprintf(`SELECT srcaddr, count(*) AS n
FROM read_csv(%s, delim = ' ', header = true, auto_detect = false, columns = {
  'version': 'INTEGER', 'account_id': 'VARCHAR', 'interface_id': 'VARCHAR', 'srcaddr': 'VARCHAR',
  'dstaddr': 'VARCHAR', 'srcport': 'VARCHAR', 'dstport': 'VARCHAR', 'protocol': 'VARCHAR',
  'packets': 'VARCHAR', 'bytes': 'VARCHAR', 'start': 'BIGINT', 'end': 'BIGINT',
  'action': 'VARCHAR', 'log_status': 'VARCHAR'})
WHERE action = 'REJECT'
GROUP BY srcaddr ORDER BY n DESC LIMIT 10`, quote(glob))
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []topRow
	for rows.Next() {
		var r topRow
		if err := rows.Scan(&r.Addr, &r.N); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func quote(s string) string {
	b := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			b = append(b, '\'')
		}
		b = append(b, s[i])
	}
	return string(append(b, '\''))
}
