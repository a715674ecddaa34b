//go:build cgo

package athena

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func openFixture(t *testing.T) (*DB, fixture) {
	t.Helper()
	fx := newFixture(t)
	db, err := Open(t.Context(), Config{DataDir: fx.dir, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, fx
}

func query(t *testing.T, db *DB, q string) *Result {
	t.Helper()
	r, err := db.Query(t.Context(), q)
	if err != nil {
		t.Fatalf("%s\n%v", q, err)
	}
	return r
}

// csvOf renders a result as CSV without the header, for compact expectations.
func csvOf(t *testing.T, r *Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	return s[strings.IndexByte(s, '\n')+1:]
}

// TestAthenaSampleQueries runs every sample query of spec §9.1 verbatim
// (only the trailing semicolons are kept as written) against the fixture.
func TestAthenaSampleQueries(t *testing.T) {
	db, _ := openFixture(t)
	tests := []struct {
		name  string
		query string
		rows  int    // expected row count
		want  string // expected CSV body, when the rows are deterministic
	}{
		{name: "date partition", rows: 4, query: "SELECT * \nFROM vpc_flow_logs \nWHERE date = DATE('2020-05-04') \nLIMIT 100;"},
		{name: "rejected tcp day_of_week", rows: 4, query: `SELECT day_of_week(date) AS
  day,
  date,
  interface_id,
  srcaddr,
  action,
  protocol
FROM vpc_flow_logs
WHERE action = 'REJECT' AND protocol = 6
LIMIT 100;`},
		{name: "https last week", want: "150,10.0.2.9\n20,10.0.2.10\n", query: `SELECT SUM(packets) AS
  packetcount,
  dstaddr
FROM vpc_flow_logs
WHERE dstport = 443 AND date > current_date - interval '7' day
GROUP BY dstaddr
ORDER BY packetcount DESC
LIMIT 10;`},
		{name: "projection first 100", rows: 7, query: `SELECT *
FROM test_table_vpclogs
WHERE day >= '2021/02/01' AND day < '2021/02/28'
ORDER BY day ASC
LIMIT 100`},
		{name: "projection https top 10", want: "9,10.0.2.9\n", query: `SELECT SUM(packets) AS packetcount, 
       dstaddr
FROM test_table_vpclogs
WHERE dstport = 443
  AND day >= '2021/03/01'
  AND day < '2021/03/31'
GROUP BY dstaddr
ORDER BY packetcount DESC
LIMIT 10`},
		{name: "projection iso8601", want: "eni-aaa,10.0.1.5,ACCEPT,6,2021-04-10T00:00:00.000Z,2021-04-10T00:01:00.000Z\n", query: `SELECT interface_id,
       srcaddr,
       action,
       protocol,
       to_iso8601(from_unixtime(start)) AS start_time,
       to_iso8601(from_unixtime("end")) AS end_time
FROM test_table_vpclogs
WHERE DAY >= '2021/04/01'
  AND DAY < '2021/04/30'`},
		{name: "projection source ip", rows: 3, query: `SELECT *
FROM test_table_vpclogs
WHERE srcaddr = '10.117.1.22'
  AND day >= '2021/02/01'
  AND day < '2021/02/28'`},
		{name: "projection rejected tcp", rows: 3, query: `SELECT day,
       interface_id,
       srcaddr,
       action,
       protocol
FROM test_table_vpclogs
WHERE action = 'REJECT' AND protocol = 6 AND day >= '2021/02/01' AND day < '2021/02/28'
LIMIT 10`},
		{name: "projection split_part", rows: 4, query: `SELECT *
FROM test_table_vpclogs
WHERE split_part(srcaddr,'.', 1)='10'
  AND split_part(srcaddr,'.', 2) ='117'`},
		{name: "projection destination ip", rows: 2, query: `SELECT *
FROM test_table_vpclogs
WHERE dstaddr = '10.0.1.14'
  AND day >= '2021/01/01'
  AND day < '2021/01/31'`},
		{name: "parquet hive partitions", want: "2021,02,11,13,3\n", query: `SELECT year, month, day, hour, count(*) FROM vpc_flow_logs_parquet WHERE "aws-service" = 'vpcflowlogs' AND hour IS NOT NULL GROUP BY ALL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := query(t, db, tc.query)
			if tc.want != "" {
				if diff := cmp.Diff(csvOf(t, r), tc.want); diff != "" {
					t.Errorf("(-got +want)\n%s", diff)
				}
				return
			}
			if len(r.Rows) != tc.rows {
				var b bytes.Buffer
				r.WriteTable(&b)
				t.Errorf("got %d rows, want %d\n%s", len(r.Rows), tc.rows, b.String())
			}
		})
	}
	// The day_of_week values are ISO (Monday = 1), as in Presto.
	r := query(t, db, "SELECT DISTINCT day_of_week(date) AS day, date FROM vpc_flow_logs WHERE action = 'REJECT' ORDER BY date")
	if diff := cmp.Diff(csvOf(t, r), "1,2020-05-04\n3,2021-02-10\n4,2021-02-11\n"); diff != "" {
		t.Errorf("day_of_week (-got +want)\n%s", diff)
	}
}

// TestDDLCompatibility checks that DuckDB reads our text and Parquet output
// with Athena's column types (spec §9.1, §10.4) and the right counts and
// "-" handling (issue 4).
func TestDDLCompatibility(t *testing.T) {
	db, fx := openFixture(t)
	r := query(t, db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'vpc_flow_logs' ORDER BY ordinal_position")
	got := map[string]string{}
	var order []string
	for _, row := range r.Rows {
		got[row[0].(string)] = row[1].(string)
		order = append(order, row[0].(string))
	}
	want := map[string]string{
		"version": "INTEGER", "account_id": "VARCHAR", "interface_id": "VARCHAR", "srcaddr": "VARCHAR",
		"dstaddr": "VARCHAR", "srcport": "INTEGER", "dstport": "INTEGER", "protocol": "BIGINT",
		"packets": "BIGINT", "bytes": "BIGINT", "start": "BIGINT", "end": "BIGINT", "action": "VARCHAR",
		"log_status": "VARCHAR", "vpc_id": "VARCHAR", "subnet_id": "VARCHAR", "instance_id": "VARCHAR",
		"tcp_flags": "INTEGER", "type": "VARCHAR", "pkt_srcaddr": "VARCHAR", "pkt_dstaddr": "VARCHAR",
		"region": "VARCHAR", "az_id": "VARCHAR", "sublocation_type": "VARCHAR", "sublocation_id": "VARCHAR",
		"pkt_src_aws_service": "VARCHAR", "pkt_dst_aws_service": "VARCHAR", "flow_direction": "VARCHAR",
		"traffic_path": "INTEGER", "reject_reason": "VARCHAR", "date": "DATE",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("column types (-got +want)\n%s", diff)
	}
	if order[0] != "version" || order[13] != "log_status" || order[28] != "traffic_path" || order[len(order)-1] != "date" {
		t.Errorf("column order: %v", order)
	}
	r = query(t, db, "SELECT count(*), count(*) FILTER (WHERE log_status = 'NODATA'), count(packets), count(*) FILTER (WHERE srcaddr = '-') FROM vpc_flow_logs")
	if diff := cmp.Diff(csvOf(t, r), "19,2,17,1\n"); diff != "" {
		t.Errorf("counts (-got +want)\n%s", diff)
	}
	if fx.total != 19 {
		t.Errorf("fixture has %d records", fx.total)
	}
	// Text and Parquet both present, typed alike.
	r = query(t, db, "SELECT sum(bytes), sum(protocol), max(tcp_flags) FROM vpc_flow_logs")
	if diff := cmp.Diff(csvOf(t, r), "24172,113,19\n"); diff != "" {
		t.Errorf("sums (-got +want)\n%s", diff)
	}
}

func TestShims(t *testing.T) {
	db, _ := openFixture(t)
	r := query(t, db, `SELECT
		date_format(from_unixtime(1620000000), '%Y-%m-%d %H:%i:%s'),
		date_format(from_unixtime(1620000000), '%b %e %Y %T %W'),
		to_unixtime(date_parse('2021/05/03 00:00', '%Y/%m/%d %H:%i')),
		approx_distinct(srcaddr) > 0,
		regexp_like('10.117.1.22', '^10\.117\.'),
		to_iso8601(DATE '2021-05-03'),
		format_datetime(from_unixtime(1620000000), 'yyyy-MM-dd HH:mm EEE')
		FROM vpc_flow_logs`)
	want := "2021-05-03 00:00:00,May 3 2021 00:00:00 Monday,1620000000,true,true,2021-05-03,2021-05-03 00:00 Mon\n"
	if diff := cmp.Diff(csvOf(t, r), want); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
	// date_format and format_datetime take a timestamp with time zone
	// too, as in Athena (current_timestamp, now(): DuckDB's TIMESTAMPTZ),
	// and a date.
	r = query(t, db, `SELECT date_format(TIMESTAMPTZ '2021-05-03 01:02:03+00', '%Y/%m/%d %H:%i'),
		format_datetime(TIMESTAMPTZ '2021-05-03 01:02:03+00', 'yyyy/MM/dd HH:mm'),
		format_datetime(DATE '2021-05-03', 'yyyy/MM/dd'),
		date_format(current_timestamp, '%Y') = CAST(year(current_date) AS VARCHAR)`)
	if diff := cmp.Diff(csvOf(t, r), "2021/05/03 01:02,2021/05/03 01:02,2021/05/03,true\n"); diff != "" {
		t.Errorf("timestamp with time zone (-got +want)\n%s", diff)
	}
	// date_diff counts whole units elapsed, as Presto's (Joda's field
	// difference) does, not the unit boundaries crossed as DuckDB's does:
	// 23:00 to 01:00 the next day is 0 days, 10:59 to 11:00 is 0 hours.
	r = query(t, db, `SELECT
		date_diff('day', from_unixtime(1620082800), from_unixtime(1620090000)),
		date_diff('hour', from_unixtime(1620039540), from_unixtime(1620039600)),
		date_diff('month', DATE '2021-01-15', DATE '2021-02-14'),
		date_diff('month', DATE '2021-01-31', DATE '2021-02-28'),
		date_diff('second', from_unixtime(start), from_unixtime("end"))
		FROM vpc_flow_logs LIMIT 1`)
	if diff := cmp.Diff(csvOf(t, r), "0,0,0,1,60\n"); diff != "" {
		t.Errorf("date_diff (-got +want)\n%s", diff)
	}
	// split_part returns NULL past the last field, as in Presto and Trino
	// (DuckDB's returns ''): the NODATA text record's srcaddr "-" has no
	// fourth octet.
	r = query(t, db, `SELECT split_part('10.117.1.22', '.', 2), split_part('-', '.', 2) IS NULL,
		split_part('a..b', '.', 2) = '', count(split_part(srcaddr, '.', 4)) FROM vpc_flow_logs`)
	if diff := cmp.Diff(csvOf(t, r), "117,true,true,17\n"); diff != "" {
		t.Errorf("split_part (-got +want)\n%s", diff)
	}
	if _, err := db.Query(t.Context(), "SELECT split_part('10.0.1.5', '.', 0)"); err == nil {
		t.Error("split_part index 0: no error (Presto: index must be greater than zero)")
	}
}

func TestSandbox(t *testing.T) {
	db, fx := openFixture(t)
	outside := filepath.Join(filepath.Dir(fx.dir), "outside.csv")
	os.WriteFile(outside, []byte("a\n1\n"), 0o644)
	for _, q := range []string{
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM read_csv('" + fx.dir + "/../outside.csv')",
		"SELECT * FROM read_csv('" + outside + "')",
		"COPY (SELECT 1) TO '" + fx.dir + "/x.csv'",
		"SET enable_external_access = true",
		"SET allowed_directories = ['/']",
		"SET lock_configuration = false",
		"INSTALL httpfs",
		"LOAD httpfs",
		"ATTACH '" + fx.dir + "/x.db'",
		"CREATE TABLE t AS SELECT 1",
		"SELECT 1; COPY (SELECT 1) TO '" + fx.dir + "/y.csv'",
		"DROP VIEW vpc_flow_logs",
		// EXPLAIN ANALYZE runs what it explains.
		"EXPLAIN ANALYZE COPY (SELECT 'gone' AS x) TO '" + fx.dir + "/x.csv' (FORMAT csv)",
		"explain  analyse CREATE TABLE z AS SELECT 1",
	} {
		if _, err := db.Query(t.Context(), q); err == nil {
			t.Errorf("%s: succeeded, want a permission error", q)
		}
	}
	if _, err := os.Stat(filepath.Join(fx.dir, "x.csv")); err == nil {
		t.Error("COPY wrote a file")
	}
	// DuckDB's temp directory is a private one, not ./.tmp of the
	// working directory.
	r := query(t, db, "SELECT current_setting('allowed_directories')::VARCHAR")
	if dirs := fmt.Sprint(r.Rows[0][0]); strings.Contains(dirs, ".tmp/") || !strings.Contains(dirs, "vpcflow-duckdb-") {
		t.Errorf("allowed directories %s", dirs)
	}
	// Reads inside the data directory still work after all that, and so do
	// the read-only statement kinds.
	query(t, db, "SELECT count(*) FROM vpc_flow_logs")
	query(t, db, "DESCRIBE vpc_flow_logs")
	query(t, db, "SHOW TABLES")
	query(t, db, "EXPLAIN SELECT count(*) FROM vpc_flow_logs")
	query(t, db, "WITH x AS (SELECT 1 AS a) SELECT * FROM x")
}

func TestEmptyAndMissing(t *testing.T) {
	dir := t.TempDir()
	// Files that are not flow log objects: the log store's segments, a
	// stray .log outside any S3 key, an in-flight object.
	os.MkdirAll(filepath.Join(dir, LogStoreDir), 0o755)
	os.WriteFile(filepath.Join(dir, LogStoreDir, "seg-00000001.log"), []byte("\x00\x01binary"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.log"), []byte("hello\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".x.log.gz.tmp"), []byte("partial"), 0o644)
	db, err := Open(t.Context(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tbl := range []string{"vpc_flow_logs", "vpc_flow_logs_parquet", "test_table_vpclogs"} {
		r := query(t, db, "SELECT count(*) FROM "+tbl)
		if got := csvOf(t, r); got != "0\n" {
			t.Errorf("%s: %q", tbl, got)
		}
	}
	_, err = Open(t.Context(), Config{DataDir: filepath.Join(t.TempDir(), "nope")})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}

func TestOutputFormats(t *testing.T) {
	db, _ := openFixture(t)
	r := query(t, db, "SELECT interface_id, count(*) AS n, min(date) AS first_day, NULL AS nothing FROM vpc_flow_logs GROUP BY 1 ORDER BY 1")
	var b bytes.Buffer
	r.WriteJSON(&b)
	want := `[
  {"interface_id": "eni-aaa", "n": 14, "first_day": "2020-05-04", "nothing": null},
  {"interface_id": "eni-bbb", "n": 3, "first_day": "2020-05-04", "nothing": null},
  {"interface_id": "eni-ccc", "n": 2, "first_day": "2020-05-04", "nothing": null}
]
`
	if diff := cmp.Diff(b.String(), want); diff != "" {
		t.Errorf("json (-got +want)\n%s", diff)
	}
	b.Reset()
	r.WriteTable(&b)
	wantTable := `interface_id  n    first_day   nothing
------------  ---  ---------   -------
eni-aaa       14   2020-05-04  NULL
eni-bbb       3    2020-05-04  NULL
eni-ccc       2    2020-05-04  NULL
(3 rows)
`
	if diff := cmp.Diff(b.String(), wantTable); diff != "" {
		t.Errorf("table (-got +want)\n%s", diff)
	}
}

// TestAthenaDDLExplained: the table statements of Athena's guide (spec
// §9.1) get an answer that says the tables exist, not DuckDB's parser
// error; other statements are refused as before.
func TestAthenaDDLExplained(t *testing.T) {
	db, _ := openFixture(t)
	for _, q := range []string{
		"CREATE EXTERNAL TABLE IF NOT EXISTS `vpc_flow_logs` (`version` int, `account_id` string) PARTITIONED BY (`date` date) ROW FORMAT DELIMITED FIELDS TERMINATED BY ' ' LOCATION 's3://bucket/prefix/AWSLogs/123456789012/vpcflowlogs/us-east-1/'",
		"-- the partition of one day\nALTER TABLE vpc_flow_logs\nADD PARTITION (`date`='2021-05-03') LOCATION 's3://bucket/prefix/AWSLogs/123456789012/vpcflowlogs/us-east-1/2021/05/03'",
		"  msck repair table vpc_flow_logs_parquet",
	} {
		if _, err := db.Query(t.Context(), q); !errors.Is(err, ErrAthenaDDL) {
			t.Errorf("%.40q: %v, want ErrAthenaDDL", q, err)
		}
	}
	for _, q := range []string{"ALTER TABLE vpc_flow_logs RENAME TO x", "CREATE TABLE t AS SELECT 1"} {
		if _, err := db.Query(t.Context(), q); err == nil || errors.Is(err, ErrAthenaDDL) {
			t.Errorf("%q: %v, want a refusal that is not ErrAthenaDDL", q, err)
		}
	}
}

// TestOneStatement: DuckDB's Prepare runs every statement of a script but
// the last, so a query with a semicolon anywhere but at its end is refused
// before it is prepared, whatever its quoting (a splitter that read escapes
// or a $ in a name otherwise than DuckDB did let COPY through).
func TestOneStatement(t *testing.T) {
	db, fx := openFixture(t)
	out := filepath.Join(fx.dir, "z.csv")
	copyTo := "COPY (SELECT 1) TO '" + out + "' (FORMAT csv)"
	for _, q := range []string{
		copyTo + "; SELECT 1",
		"DROP VIEW vpc_flow_logs; SELECT 1",
		"SELECT 1; SELECT 2",
		"SELECT E'\\'' ; " + copyTo + "; SELECT 1",
		"SELECT 1 AS a$b$; " + copyTo + "; SELECT 'x' AS c$b$",
		"SELECT ';' AS a", // refused too: the price of not parsing
	} {
		if _, err := db.Query(t.Context(), q); !errors.Is(err, ErrNotReadOnly) {
			t.Errorf("%q: %v, want ErrNotReadOnly", q, err)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a script's COPY wrote a file")
	}
	query(t, db, "SELECT count(*) FROM vpc_flow_logs") // the view is still there
	for _, q := range []string{"SELECT 1;", "SELECT 1 ;\n; \n", "SELECT count(*) FROM vpc_flow_logs"} {
		if _, err := db.Query(t.Context(), q); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
}
