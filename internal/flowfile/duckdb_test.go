//go:build cgo

package flowfile

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	_ "github.com/duckdb/duckdb-go/v2"

	"vpcflow/internal/flow"
)

// TestDuckDBReadsWhatWeWrite writes a Parquet object and an S3-style gzip
// text object of the same records, and checks that DuckDB reads both with
// the AWS column names, types and NULLs for "-".
func TestDuckDBReadsWhatWeWrite(t *testing.T) {
	dir := t.TempDir()
	var recs []flow.Record
	for _, l := range sampleLines {
		r, err := flow.DecodeLine(flow.DefaultFormat, l)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	pqPath := filepath.Join(dir, "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.parquet")
	gzPath := filepath.Join(dir, "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz")
	pf, _ := os.Create(pqPath)
	pw, err := NewParquetWriter(pf, flow.DefaultFormat)
	if err != nil {
		t.Fatal(err)
	}
	gf, _ := os.Create(gzPath)
	tw := NewGzipTextWriter(gf, flow.DefaultFormat, true)
	for i := range recs {
		if err := pw.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
		if err := tw.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []func() error{pw.Close, pf.Close, tw.Close, gf.Close} {
		if err := c(); err != nil {
			t.Fatal(err)
		}
	}

	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Parquet: column names and types as AWS documents them.
	rows, err := db.Query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))`, pqPath)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, name+" "+typ)
	}
	rows.Close()
	want := []string{"version INTEGER", "account_id VARCHAR", "interface_id VARCHAR", "srcaddr VARCHAR", "dstaddr VARCHAR",
		"srcport INTEGER", "dstport INTEGER", "protocol INTEGER", "packets BIGINT", "bytes BIGINT", "start BIGINT",
		"end BIGINT", "action VARCHAR", "log_status VARCHAR"}
	if diff := cmp.Diff(cols, want); diff != "" {
		t.Errorf("parquet schema (-got +want):\n%s", diff)
	}
	var codec string
	if err := db.QueryRow(`SELECT DISTINCT compression FROM parquet_metadata(?)`, pqPath).Scan(&codec); err != nil || codec != "GZIP" {
		t.Errorf("parquet compression = %q, %v; want GZIP", codec, err)
	}

	// The same aggregate over both objects.
	type agg struct {
		N, Nulls, Skip int64
		Bytes          int64
		Accounts       string
	}
	query := func(from string, args ...any) agg {
		t.Helper()
		var a agg
		err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE srcaddr IS NULL), count(*) FILTER (WHERE log_status = 'SKIPDATA'),
			coalesce(sum(bytes), 0), string_agg(DISTINCT account_id, ',' ORDER BY account_id) FROM `+from, args...).
			Scan(&a.N, &a.Nulls, &a.Skip, &a.Bytes, &a.Accounts)
		if err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		return a
	}
	wantAgg := agg{N: 5, Nulls: 2, Skip: 1, Bytes: 4249 + 336 + 8855, Accounts: "123456789010,unknown"}
	if got := query(`read_parquet(?)`, pqPath); got != wantAgg {
		t.Errorf("parquet: %+v, want %+v", got, wantAgg)
	}
	// Text as Athena reads it: space-delimited, header skipped, "-" NULL,
	// then the dashes of the names replaced as the Athena DDL does.
	text := `(SELECT "account-id" AS account_id, srcaddr, bytes, "log-status" AS log_status
		FROM read_csv(?, delim = ' ', header = true, nullstr = '-', auto_detect = true))`
	if got := query(text, gzPath); got != wantAgg {
		t.Errorf("gzip text: %+v, want %+v", got, wantAgg)
	}
}
