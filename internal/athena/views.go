package athena

import (
	"fmt"
	"sort"
	"strings"

	"vpcflow/internal/flow"
)

// Column is one column of the vpc_flow_logs views.
type Column struct {
	Name string // Athena column name (dashes as underscores)
	Type string // DuckDB type
	// Field is the flow log field behind the column.
	Field flow.FieldID
}

// ddlFields are the columns of Athena's sample DDL (spec §9.1): every field
// of versions 2–5, in order.
func ddlFields() []flow.Field {
	var out []flow.Field
	for _, f := range flow.Fields() {
		if !f.Extension && f.Version <= 5 {
			out = append(out, f)
		}
	}
	return out
}

// columnType is the DuckDB type of a field's column: Athena's DDL types
// (int, bigint, string; protocol is bigint there) for versions 2–5 and the
// documented Parquet type for later fields.
func columnType(f flow.Field) string {
	if f.ID == flow.FieldProtocol {
		return "BIGINT"
	}
	switch f.Parquet {
	case "INT_32":
		return "INTEGER"
	case "INT_64":
		return "BIGINT"
	}
	return "VARCHAR"
}

// Columns returns the data columns every view has, given the objects found:
// the DDL columns, then any later fields present in some object.
func Columns(objs []Object, parquetCols map[string][]string) []Column {
	var cols []Column
	have := map[flow.FieldID]bool{}
	for _, f := range ddlFields() {
		cols = append(cols, Column{Name: f.Column, Type: columnType(f), Field: f.ID})
		have[f.ID] = true
	}
	extra := map[flow.FieldID]bool{}
	for _, o := range objs {
		for _, id := range objectFields(o, parquetCols) {
			if !have[id] {
				extra[id] = true
			}
		}
	}
	var ids []flow.FieldID
	for id := range extra {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		f := id.Info()
		cols = append(cols, Column{Name: f.Column, Type: columnType(f), Field: id})
	}
	return cols
}

func objectFields(o Object, parquetCols map[string][]string) []flow.FieldID {
	if o.Kind == ObjectText {
		f, err := flow.ParseHeader(o.Header)
		if err != nil {
			return nil
		}
		return f.Fields()
	}
	var ids []flow.FieldID
	for _, c := range parquetCols[o.Path] {
		if id, ok := flow.LookupColumn(c); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ident quotes s as a SQL identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// partition columns of the base view, kept out of the way of data columns.
var partCols = []string{"_p_account", "_p_region", "_p_year", "_p_month", "_p_day", "_p_hour"}

func (p Partition) values() []string {
	return []string{p.Account, p.Region, p.Year, p.Month, p.Day, p.Hour}
}

type group struct {
	kind   ObjectKind
	schema string // header line, or parquet column list
	part   Partition
	paths  []string
	fields []string // column names present, in file order
}

// BaseSQL builds the SELECT behind the base view: one branch per (encoding,
// schema, partition) group of objects, so that partition values are
// constants DuckDB can prune on, and every branch projected onto cols.
func BaseSQL(objs []Object, parquetCols map[string][]string, cols []Column) string {
	groups := map[string]*group{}
	var order []string
	for _, o := range objs {
		var schema string
		var fields []string
		if o.Kind == ObjectText {
			schema = o.Header
			f, err := flow.ParseHeader(o.Header)
			if err != nil {
				continue
			}
			for _, id := range f.Fields() {
				fields = append(fields, id.Info().Column)
			}
		} else {
			fields = parquetCols[o.Path]
			schema = strings.Join(fields, ",")
		}
		key := fmt.Sprintf("%d|%s|%v", o.Kind, schema, o.Partition)
		g, ok := groups[key]
		if !ok {
			g = &group{kind: o.Kind, schema: schema, part: o.Partition, fields: fields}
			groups[key] = g
			order = append(order, key)
		}
		g.paths = append(g.paths, o.Path)
	}
	if len(order) == 0 {
		return emptySQL(cols)
	}
	var branches []string
	for _, key := range order {
		branches = append(branches, groupSQL(groups[key], cols))
	}
	return strings.Join(branches, "\nUNION ALL\n")
}

func emptySQL(cols []Column) string {
	var sel []string
	for _, c := range cols {
		sel = append(sel, fmt.Sprintf("CAST(NULL AS %s) AS %s", c.Type, ident(c.Name)))
	}
	for _, p := range partCols {
		sel = append(sel, "CAST(NULL AS VARCHAR) AS "+p)
	}
	return "SELECT " + strings.Join(sel, ", ") + " WHERE false"
}

func groupSQL(g *group, cols []Column) string {
	present := map[string]bool{}
	for _, f := range g.fields {
		present[f] = true
	}
	var sel []string
	for _, c := range cols {
		if present[c.Name] {
			if g.kind == ObjectText && c.Type == "VARCHAR" {
				// Athena's LazySimpleSerDe turns "-" into NULL only where
				// it is not a valid value (numbers); strings keep "-".
				sel = append(sel, fmt.Sprintf("coalesce(%s, '-') AS %s", ident(c.Name), ident(c.Name)))
			} else if g.kind == ObjectText {
				sel = append(sel, ident(c.Name))
			} else {
				sel = append(sel, fmt.Sprintf("CAST(%s AS %s) AS %s", ident(c.Name), c.Type, ident(c.Name)))
			}
		} else {
			sel = append(sel, fmt.Sprintf("CAST(NULL AS %s) AS %s", c.Type, ident(c.Name)))
		}
	}
	for i, v := range g.part.values() {
		if v == "" {
			sel = append(sel, "CAST(NULL AS VARCHAR) AS "+partCols[i])
		} else {
			sel = append(sel, sqlString(v)+" AS "+partCols[i])
		}
	}
	paths := make([]string, len(g.paths))
	for i, p := range g.paths {
		paths[i] = sqlString(p)
	}
	list := "[" + strings.Join(paths, ", ") + "]"
	var from string
	if g.kind == ObjectParquet {
		from = fmt.Sprintf("read_parquet(%s, union_by_name=true)", list)
	} else {
		from = textScan(list, g.fields)
	}
	return "SELECT " + strings.Join(sel, ", ") + " FROM " + from
}

// textScan is the read_csv call for text objects with the given header
// columns: space-delimited, header line skipped, "-" read as NULL.
func textScan(list string, fields []string) string {
	var colDefs []string
	for _, name := range fields {
		id, _ := flow.LookupColumn(name)
		typ := columnType(id.Info())
		colDefs = append(colDefs, fmt.Sprintf("%s: %s", sqlString(name), sqlString(typ)))
	}
	opts := []string{
		"delim=' '", "header=true", "nullstr='-'", "auto_detect=false",
		"quote=''", "escape=''", "compression='auto'",
		"columns={" + strings.Join(colDefs, ", ") + "}",
	}
	return fmt.Sprintf("read_csv(%s, %s)", list, strings.Join(opts, ", "))
}

// ViewSQL returns the CREATE VIEW statements: the internal base view and the
// three tables of Athena's documentation (spec §9.1), so that their sample
// queries run unchanged:
//
//   - vpc_flow_logs: DDL columns, then `date` (DATE) from the key's day;
//   - vpc_flow_logs_parquet: DDL columns, then the Hive partition columns
//     "aws-account-id", "aws-service", "aws-region", year, month, day, hour;
//   - test_table_vpclogs: DDL columns without region, then the projected
//     partitions region and day ('yyyy/MM/dd').
func ViewSQL(base string, cols []Column) []string {
	var data, dataNoRegion []string
	for _, c := range cols {
		data = append(data, ident(c.Name))
		if c.Name != "region" {
			dataNoRegion = append(dataNoRegion, ident(c.Name))
		}
	}
	d := strings.Join(data, ", ")
	return []string{
		"CREATE OR REPLACE VIEW _vpcflow_base AS " + base,
		"CREATE OR REPLACE VIEW vpc_flow_logs AS SELECT " + d +
			`, CAST(_p_year || '-' || _p_month || '-' || _p_day AS DATE) AS "date" FROM _vpcflow_base`,
		"CREATE OR REPLACE VIEW vpc_flow_logs_parquet AS SELECT " + d +
			`, _p_account AS "aws-account-id", CASE WHEN _p_account IS NULL THEN NULL ELSE 'vpcflowlogs' END AS "aws-service", _p_region AS "aws-region", _p_year AS "year", _p_month AS "month", _p_day AS "day", _p_hour AS "hour" FROM _vpcflow_base`,
		"CREATE OR REPLACE VIEW test_table_vpclogs AS SELECT " + strings.Join(dataNoRegion, ", ") +
			`, _p_region AS region, _p_year || '/' || _p_month || '/' || _p_day AS "day" FROM _vpcflow_base`,
	}
}
