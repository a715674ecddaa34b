package s3

import (
	"context"
	"testing"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/publish"
)

// BenchmarkDeliver measures records delivered per second through the S3
// destination into the local object store, end to end: Deliver encodes
// each record as a text line, appends it to the spool journal and fsyncs;
// Flush seals the journal, builds the object (gzip text, or Parquet rows
// decoded back from the journal) and Puts it. One op is one record.
// Records go in batches of 10,000 (a busy flow log's capture window) with
// a Flush every 100,000 records, cycling over 100,000 distinct records so
// that gzip sees realistic variety.
func BenchmarkDeliver(b *testing.B) {
	const batch, flushEvery, distinct = 10_000, 100_000, 100_000
	recs := makeRecords(0, distinct, t0, time.Millisecond)
	for _, ff := range []FileFormat{PlainText, Parquet} {
		b.Run("format="+string(ff), func(b *testing.B) {
			st := localStore(b)
			d := newDest(b, st, b.TempDir(), func(c *Config) { c.FileFormat = ff })
			ctx := context.Background()
			b.ReportAllocs()
			n, pending := 0, 0
			for b.Loop() {
				n++
				pending++
				if pending == batch {
					off := (n - batch) % distinct
					if err := d.Deliver(ctx, batchOf(recs[off:off+batch])); err != nil {
						b.Fatal(err)
					}
					pending = 0
				}
				if n%flushEvery == 0 {
					if err := d.Flush(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			if pending > 0 {
				off := (n - pending) % distinct
				if err := d.Deliver(ctx, batchOf(recs[off:off+pending])); err != nil {
					b.Fatal(err)
				}
			}
			if err := d.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
			if got := d.Status().Pending; got != 0 {
				b.Fatalf("%d records still pending after Flush", got)
			}
		})
	}
}

func batchOf(recs []flow.Record) publish.Batch {
	return publish.Batch{FlowLog: testFlowLog(flow.DefaultFormat), Records: recs, Now: t0}
}
