//go:build cgo

package athena

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// prestoUDF is a two-argument scalar function implemented in Go.
type prestoUDF struct {
	in  [2]duckdb.Type
	out duckdb.Type
	fn  func(a, b driver.Value) (any, error)
}

func (u *prestoUDF) Config() duckdb.ScalarFuncConfig {
	a, _ := duckdb.NewTypeInfo(u.in[0])
	b, _ := duckdb.NewTypeInfo(u.in[1])
	r, _ := duckdb.NewTypeInfo(u.out)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{a, b}, ResultTypeInfo: r}
}

func (u *prestoUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(v []driver.Value) (any, error) { return u.fn(v[0], v[1]) }}
}

// registerUDFs adds date_parse(varchar, varchar) with Presto's format
// specifiers, and the functions behind the date_format (Presto's
// specifiers) and format_datetime (Joda-Time patterns) macros of Shims,
// which cast any timestamp, with time zone or not, and date to TIMESTAMP.
func registerUDFs(ctx context.Context, c *sql.Conn) error {
	udfs := map[string]*prestoUDF{
		"vpcflow_date_format": {
			in:  [2]duckdb.Type{duckdb.TYPE_TIMESTAMP, duckdb.TYPE_VARCHAR},
			out: duckdb.TYPE_VARCHAR,
			fn: func(a, b driver.Value) (any, error) {
				t, ok := a.(time.Time)
				f, ok2 := b.(string)
				if !ok || !ok2 {
					return nil, fmt.Errorf("date_format: want (timestamp, varchar), got (%T, %T)", a, b)
				}
				return FormatPresto(t, f), nil
			},
		},
		"vpcflow_format_datetime": {
			in:  [2]duckdb.Type{duckdb.TYPE_TIMESTAMP, duckdb.TYPE_VARCHAR},
			out: duckdb.TYPE_VARCHAR,
			fn: func(a, b driver.Value) (any, error) {
				t, ok := a.(time.Time)
				f, ok2 := b.(string)
				if !ok || !ok2 {
					return nil, fmt.Errorf("format_datetime: want (timestamp, varchar), got (%T, %T)", a, b)
				}
				return FormatJoda(t, f)
			},
		},
		"date_parse": {
			in:  [2]duckdb.Type{duckdb.TYPE_VARCHAR, duckdb.TYPE_VARCHAR},
			out: duckdb.TYPE_TIMESTAMP,
			fn: func(a, b driver.Value) (any, error) {
				s, ok := a.(string)
				f, ok2 := b.(string)
				if !ok || !ok2 {
					return nil, fmt.Errorf("date_parse: want (varchar, varchar), got (%T, %T)", a, b)
				}
				return ParsePresto(s, f)
			},
		},
	}
	for name, u := range udfs {
		if err := duckdb.RegisterScalarUDF(c, name, u); err != nil {
			return fmt.Errorf("register %s: %w", name, err)
		}
	}
	return nil
}
