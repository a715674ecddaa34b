package athena

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"

	"vpcflow/internal/flow"
)

const (
	fxAccount = "123456789010"
	fxRegion  = "us-east-1"
	fxBucket  = "flowlogs"
)

// textKey is the S3 key of a text object in AWS's plain layout.
func textKey(t time.Time, seq int) string {
	return fmt.Sprintf("%s/AWSLogs/%s/vpcflowlogs/%s/%s/%s_vpcflowlogs_%s_fl-0123456789abcdef0_%s_%08x.log.gz",
		fxBucket, fxAccount, fxRegion, t.UTC().Format("2006/01/02"), fxAccount, fxRegion,
		t.UTC().Format("20060102T1504Z"), seq)
}

// hiveKey is the S3 key of a Parquet object in the Hive layout with hours.
func hiveParquetKey(t time.Time, seq int) string {
	return fmt.Sprintf("%s/AWSLogs/aws-account-id=%s/aws-service=vpcflowlogs/aws-region=%s/year=%s/month=%s/day=%s/hour=%s/%s_vpcflowlogs_%s_fl-0123456789abcdef0_%s_%08x.log.parquet",
		fxBucket, fxAccount, fxRegion, t.UTC().Format("2006"), t.UTC().Format("01"), t.UTC().Format("02"),
		t.UTC().Format("15"), fxAccount, fxRegion, t.UTC().Format("20060102T1504Z"), seq)
}

// writeText writes records as a gzip'd S3 text object: header line, then
// one line per record.
func writeText(t testing.TB, root, key string, f flow.Format, recs []flow.Record) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	line := []byte(f.Header() + "\n")
	zw.Write(line)
	for i := range recs {
		line = flow.AppendText(line[:0], f, &recs[i])
		line = append(line, '\n')
		zw.Write(line)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pqRow is a default-format record with the Parquet types of spec §10.4.
type pqRow struct {
	Version     int32   `parquet:"version"`
	AccountID   string  `parquet:"account_id,dict"`
	InterfaceID string  `parquet:"interface_id,dict"`
	SrcAddr     *string `parquet:"srcaddr,optional"`
	DstAddr     *string `parquet:"dstaddr,optional"`
	SrcPort     *int32  `parquet:"srcport,optional"`
	DstPort     *int32  `parquet:"dstport,optional"`
	Protocol    *int32  `parquet:"protocol,optional"`
	Packets     *int64  `parquet:"packets,optional"`
	Bytes       *int64  `parquet:"bytes,optional"`
	Start       int64   `parquet:"start"`
	End         int64   `parquet:"end"`
	Action      *string `parquet:"action,optional,dict"`
	LogStatus   string  `parquet:"log_status,dict"`
}

func writeParquet(t testing.TB, root, key string, recs []flow.Record) {
	t.Helper()
	rows := make([]pqRow, len(recs))
	for i := range recs {
		r := &recs[i]
		row := pqRow{Version: r.Version, AccountID: r.AccountID, InterfaceID: r.InterfaceID,
			Start: r.Start, End: r.End, LogStatus: r.LogStatus.String()}
		if r.Has(flow.FieldSrcAddr) {
			s, d := r.SrcAddr.String(), r.DstAddr.String()
			sp, dp, pr := r.SrcPort, r.DstPort, r.Protocol
			pk, by := r.Packets, r.Bytes
			a := r.Action.String()
			row.SrcAddr, row.DstAddr, row.SrcPort, row.DstPort, row.Protocol = &s, &d, &sp, &dp, &pr
			row.Packets, row.Bytes, row.Action = &pk, &by, &a
		}
		rows[i] = row
	}
	p := filepath.Join(root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[pqRow](f, parquet.Compression(&parquet.Gzip))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// rec builds an OK record of the default fields.
func rec(eni, src, dst string, sport, dport, proto int32, pkts, bytes int64, start time.Time, action flow.Action) flow.Record {
	var r flow.Record
	r.SetInt(flow.FieldVersion, 2)
	r.SetString(flow.FieldAccountID, fxAccount)
	r.SetString(flow.FieldInterfaceID, eni)
	r.SetAddr(flow.FieldSrcAddr, netip.MustParseAddr(src))
	r.SetAddr(flow.FieldDstAddr, netip.MustParseAddr(dst))
	r.SetInt(flow.FieldSrcPort, int64(sport))
	r.SetInt(flow.FieldDstPort, int64(dport))
	r.SetInt(flow.FieldProtocol, int64(proto))
	r.SetInt(flow.FieldPackets, pkts)
	r.SetInt(flow.FieldBytes, bytes)
	r.SetInt(flow.FieldStart, start.Unix())
	r.SetInt(flow.FieldEnd, start.Unix()+60)
	r.SetAction(action)
	r.SetLogStatus(flow.StatusOK)
	return r
}

// nodata builds a NODATA record (spec §7.2).
func nodata(eni string, start time.Time) flow.Record {
	var r flow.Record
	r.SetInt(flow.FieldVersion, 2)
	r.SetString(flow.FieldAccountID, fxAccount)
	r.SetString(flow.FieldInterfaceID, eni)
	r.SetInt(flow.FieldStart, start.Unix())
	r.SetInt(flow.FieldEnd, start.Unix()+60)
	r.SetLogStatus(flow.StatusNoData)
	return r
}

// fixture is a small data directory with known content.
type fixture struct {
	dir   string
	total int
	today time.Time
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	dir := t.TempDir()
	fx := fixture{dir: dir}
	add := func(key string, f flow.Format, recs []flow.Record) {
		writeText(t, dir, key, f, recs)
		fx.total += len(recs)
	}
	// 2020-05-04 (a Monday): 4 records, one REJECT TCP, one NODATA.
	d := day("2020-05-04 10:00")
	add(textKey(d, 1), flow.DefaultFormat, []flow.Record{
		rec("eni-aaa", "10.0.1.5", "10.0.2.9", 40000, 443, 6, 10, 1000, d, flow.ActionAccept),
		rec("eni-aaa", "198.51.100.7", "10.0.1.5", 5555, 22, 6, 1, 40, d, flow.ActionReject),
		rec("eni-bbb", "10.0.1.6", "10.0.2.9", 123, 123, 17, 2, 152, d, flow.ActionAccept),
		nodata("eni-ccc", d),
	})
	// 2021-01-15: traffic to 10.0.1.14.
	d = day("2021-01-15 08:30")
	add(textKey(d, 2), flow.DefaultFormat, []flow.Record{
		rec("eni-aaa", "10.0.1.5", "10.0.1.14", 40001, 80, 6, 3, 300, d, flow.ActionAccept),
		rec("eni-aaa", "10.0.1.5", "10.0.1.14", 40002, 80, 6, 4, 400, d, flow.ActionAccept),
	})
	// 2021-02-10: 10.117.1.22, HTTPS and rejects.
	d = day("2021-02-10 12:00")
	add(textKey(d, 3), flow.DefaultFormat, []flow.Record{
		rec("eni-aaa", "10.117.1.22", "10.0.2.9", 40003, 443, 6, 7, 700, d, flow.ActionAccept),
		rec("eni-aaa", "10.117.1.22", "10.0.2.10", 40004, 443, 6, 5, 500, d, flow.ActionAccept),
		rec("eni-aaa", "10.117.2.22", "10.0.2.10", 40005, 3389, 6, 1, 40, d, flow.ActionReject),
		rec("eni-bbb", "203.0.113.9", "10.0.2.10", 40006, 23, 6, 1, 40, d, flow.ActionReject),
	})
	// 2021-03-05: a v5 custom format object (union of formats).
	v5 := flow.MustFormat(flow.FieldVersion, flow.FieldAccountID, flow.FieldInterfaceID,
		flow.FieldSrcAddr, flow.FieldDstAddr, flow.FieldSrcPort, flow.FieldDstPort, flow.FieldProtocol,
		flow.FieldPackets, flow.FieldBytes, flow.FieldStart, flow.FieldEnd, flow.FieldAction,
		flow.FieldLogStatus, flow.FieldTCPFlags, flow.FieldFlowDirection, flow.FieldTrafficPath, flow.FieldRejectReason)
	d = day("2021-03-05 09:00")
	r1 := rec("eni-aaa", "10.0.1.5", "10.0.2.9", 40007, 443, 6, 9, 900, d, flow.ActionAccept)
	r1.SetInt(flow.FieldVersion, 8)
	r1.SetInt(flow.FieldTCPFlags, 19)
	r1.SetDirection(flow.Egress)
	r1.SetInt(flow.FieldTrafficPath, 1)
	r2 := rec("eni-aaa", "10.0.2.9", "10.0.1.5", 443, 40007, 6, 9, 1900, d, flow.ActionAccept)
	r2.SetInt(flow.FieldVersion, 8)
	r2.SetInt(flow.FieldTCPFlags, 18)
	r2.SetDirection(flow.Ingress)
	add(textKey(d, 4), v5, []flow.Record{r1, r2})
	// 2021-04-10: for the time range query.
	d = day("2021-04-10 00:00")
	add(textKey(d, 5), flow.DefaultFormat, []flow.Record{
		rec("eni-aaa", "10.0.1.5", "10.0.2.9", 40008, 443, 6, 1, 60, d, flow.ActionAccept),
	})
	// Yesterday: HTTPS to two servers (the "last week" query).
	fx.today = time.Now().UTC().Truncate(24 * time.Hour)
	d = fx.today.Add(-20 * time.Hour)
	add(textKey(d, 6), flow.DefaultFormat, []flow.Record{
		rec("eni-aaa", "10.0.1.5", "10.0.2.9", 40009, 443, 6, 100, 10000, d, flow.ActionAccept),
		rec("eni-aaa", "10.0.1.6", "10.0.2.9", 40010, 443, 6, 50, 5000, d, flow.ActionAccept),
		rec("eni-aaa", "10.0.1.6", "10.0.2.10", 40011, 443, 6, 20, 2000, d, flow.ActionAccept),
	})
	// 2021-02-11 13h: a Parquet object in the Hive layout.
	d = day("2021-02-11 13:05")
	pq := []flow.Record{
		rec("eni-aaa", "10.117.1.22", "10.0.2.9", 40012, 443, 6, 11, 1100, d, flow.ActionAccept),
		rec("eni-bbb", "203.0.113.9", "10.0.2.10", 40013, 22, 6, 1, 40, d, flow.ActionReject),
		nodata("eni-ccc", d),
	}
	writeParquet(t, dir, hiveParquetKey(d, 7), pq)
	fx.total += len(pq)
	return fx
}
