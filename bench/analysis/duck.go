//go:build cgo

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"vpcflow/internal/athena"
)

func init() { duck = duckRun }

// rawScan is a bare read_csv of the objects with the DDL types, without
// the views' partition branches and "-" handling: DuckDB at its leanest.
func rawScan(dir string) string {
	glob := filepath.Join(dir, "flowlogs", "**", "*.log.gz")
	return fmt.Sprintf(`read_csv('%s', delim=' ', header=true, nullstr='-', auto_detect=false, columns={
  'version': 'INTEGER', 'account_id': 'VARCHAR', 'interface_id': 'VARCHAR', 'srcaddr': 'VARCHAR',
  'dstaddr': 'VARCHAR', 'srcport': 'INTEGER', 'dstport': 'INTEGER', 'protocol': 'BIGINT',
  'packets': 'BIGINT', 'bytes': 'BIGINT', 'start': 'BIGINT', 'end': 'BIGINT',
  'action': 'VARCHAR', 'log_status': 'VARCHAR'})`, glob)
}

func duckRun(ctx context.Context, dir string, q Question, runs int) (view, raw []Row, tView, tRaw Timing, err error) {
	db, err := athena.Open(ctx, athena.Config{DataDir: dir})
	if err != nil {
		return nil, nil, Timing{}, Timing{}, err
	}
	defer db.Close()
	ask := func(sql string, out *[]Row) func() error {
		return func() error {
			res, err := db.Query(ctx, sql)
			if err != nil {
				return err
			}
			*out = (*out)[:0]
			for _, r := range res.Rows {
				var keys []string
				for _, v := range r[:len(r)-1] {
					keys = append(keys, fmt.Sprint(v))
				}
				var n int64
				switch x := r[len(r)-1].(type) {
				case int64:
					n = x
				default:
					fmt.Sscan(fmt.Sprint(x), &n)
				}
				*out = append(*out, Row{strings.Join(keys, " "), n})
			}
			return nil
		}
	}
	tView = timeIt(runs, ask(q.SQL, &view))
	tRaw = timeIt(runs, ask(fmt.Sprintf(q.RawSQL, rawScan(dir)), &raw))
	return view, raw, tView, tRaw, nil
}
