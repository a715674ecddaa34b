package athena

// Shims are the Athena (Presto/Trino) functions that DuckDB lacks or names
// differently, as macros. date_format, date_parse and format_datetime are
// Go functions (see prestotime.go and udf.go): DuckDB needs constant
// strftime formats, and format_datetime's patterns are Joda-Time's, not
// strftime's. Times are UTC (the session time zone is UTC).
func Shims() []string {
	return []string{
		// Unix seconds (possibly fractional) → timestamp.
		"CREATE OR REPLACE MACRO from_unixtime(x) AS make_timestamp(CAST(round(CAST(x AS DOUBLE) * 1000000) AS BIGINT))",
		"CREATE OR REPLACE MACRO date_format(ts, f) AS vpcflow_date_format(CAST(ts AS TIMESTAMP), f)",
		"CREATE OR REPLACE MACRO format_datetime(ts, f) AS vpcflow_format_datetime(CAST(ts AS TIMESTAMP), f)",
		"CREATE OR REPLACE MACRO to_unixtime(ts) AS epoch(CAST(ts AS TIMESTAMP))",
		"CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(CAST(s AS TIMESTAMPTZ) AS TIMESTAMP)",
		"CREATE OR REPLACE MACRO from_iso8601_date(s) AS CAST(s AS DATE)",
		"CREATE OR REPLACE MACRO to_iso8601(ts) AS CASE WHEN typeof(ts) = 'DATE' THEN strftime(CAST(ts AS DATE), '%Y-%m-%d') ELSE strftime(CAST(ts AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g') || 'Z' END",
		// Presto's date_diff counts whole units elapsed (Joda's field
		// difference); DuckDB's counts unit boundaries crossed, and its
		// date_sub is the one that matches.
		"CREATE OR REPLACE MACRO date_diff(unit, a, b) AS date_sub(unit, a, b)",
		// Presto's split_part returns NULL past the last field (DuckDB's
		// returns '') and refuses an index below 1 (DuckDB's counts from
		// the end).
		"CREATE OR REPLACE MACRO split_part(s, d, i) AS CASE WHEN i < 1 THEN error('Index must be greater than zero') ELSE string_split(s, d)[i] END",
		"CREATE OR REPLACE MACRO day_of_week(d) AS isodow(d)",
		"CREATE OR REPLACE MACRO dow(d) AS isodow(d)",
		"CREATE OR REPLACE MACRO day_of_year(d) AS dayofyear(d)",
		"CREATE OR REPLACE MACRO doy(d) AS dayofyear(d)",
		"CREATE OR REPLACE MACRO year_of_week(d) AS isoyear(d)",
		"CREATE OR REPLACE MACRO regexp_like(s, p) AS regexp_matches(s, p)",
		"CREATE OR REPLACE MACRO approx_distinct(x) AS approx_count_distinct(x)",
		"CREATE OR REPLACE MACRO approx_percentile(x, p) AS approx_quantile(x, p)",
		"CREATE OR REPLACE MACRO arbitrary(x) AS any_value(x)",
		"CREATE OR REPLACE MACRO cardinality(x) AS len(x)",
		"CREATE OR REPLACE MACRO is_nan(x) AS isnan(x)",
		"CREATE OR REPLACE MACRO codepoint(s) AS unicode(s)",
	}
}
