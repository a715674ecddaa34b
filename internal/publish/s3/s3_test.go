package s3

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"vpcflow/internal/flow"
	"vpcflow/internal/flowfile"
	"vpcflow/internal/objstore"
	"vpcflow/internal/publish"
)

const (
	testBucket = "flowlogs"
	testFL     = "fl-0123456789abcdef0"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func testFlowLog(f flow.Format) publish.FlowLog {
	return publish.FlowLog{ID: testFL, AccountID: "123456789012", Region: "us-east-1", Format: f}
}

// makeRecords returns n distinct records (srcport/packets encode the id)
// whose end times step by `step` from start.
func makeRecords(first, n int, start time.Time, step time.Duration) []flow.Record {
	out := make([]flow.Record, n)
	for i := range out {
		id := first + i
		r := &out[i]
		r.SetInt(flow.FieldVersion, 2)
		r.SetString(flow.FieldAccountID, "123456789012")
		r.SetString(flow.FieldInterfaceID, fmt.Sprintf("eni-%017x", id%7))
		r.SetAddr(flow.FieldSrcAddr, netip.AddrFrom4([4]byte{10, 0, byte(id >> 8), byte(id)}))
		r.SetAddr(flow.FieldDstAddr, netip.MustParseAddr("10.0.1.9"))
		r.SetInt(flow.FieldSrcPort, int64(id%65536))
		r.SetInt(flow.FieldDstPort, 443)
		r.SetInt(flow.FieldProtocol, 6)
		r.SetInt(flow.FieldPackets, int64(id))
		r.SetInt(flow.FieldBytes, int64(id)*1500)
		end := start.Add(time.Duration(i) * step)
		r.SetInt(flow.FieldStart, end.Unix()-30)
		r.SetInt(flow.FieldEnd, end.Unix())
		r.SetAction(flow.ActionAccept)
		r.SetLogStatus(flow.StatusOK)
	}
	return out
}

func newDest(t testing.TB, store objstore.Store, spoolDir string, mut func(*Config)) *Destination {
	t.Helper()
	cfg := DefaultConfig()
	cfg.FlowLog = testFlowLog(flow.DefaultFormat)
	cfg.Bucket = testBucket
	cfg.SpoolDir = spoolDir
	cfg.RetryInitial = 5 * time.Millisecond
	cfg.RetryMax = 50 * time.Millisecond
	cfg.SealInterval = -1
	if mut != nil {
		mut(&cfg)
	}
	d, err := New(cfg, Deps{Store: store, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func localStore(t testing.TB) *objstore.Local {
	t.Helper()
	st, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBucket(context.Background(), testBucket); err != nil {
		t.Fatal(err)
	}
	return st
}

// readText reads a text object back with the header-driven decoder.
func readText(t testing.TB, st objstore.Store, key string) (flow.Format, []flow.Record) {
	t.Helper()
	rc, err := st.Get(context.Background(), testBucket, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatalf("%s: empty", key)
	}
	f, err := flow.ParseHeader(sc.Text())
	if err != nil {
		t.Fatalf("%s: header: %v", key, err)
	}
	dec := flow.NewDecoder(f)
	var out []flow.Record
	for sc.Scan() {
		var r flow.Record
		if err := dec.Decode(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return f, out
}

func lines(f flow.Format, rs []flow.Record) []string {
	out := make([]string, len(rs))
	for i := range rs {
		out[i] = flow.Text(f, &rs[i])
	}
	sort.Strings(out)
	return out
}

func TestDeliverReadBack(t *testing.T) {
	st := localStore(t)
	d := newDest(t, st, t.TempDir(), nil)
	ctx := t.Context()
	// 10:00:00 … 10:11:40: three 5-minute buckets.
	recs := makeRecords(0, 150, t0, 5*time.Second)
	for i := 0; i < len(recs); i += 50 {
		if err := d.Deliver(ctx, publish.Batch{FlowLog: testFlowLog(flow.DefaultFormat), Records: recs[i : i+50], Now: t0.Add(time.Duration(i) * 5 * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.Status(); got.State != publish.DeliverySuccess || got.Pending == 0 {
		t.Fatalf("status before flush = %+v", got)
	}
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	objs, err := st.List(ctx, testBucket, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var all []flow.Record
	for _, o := range objs {
		keys = append(keys, o.Key)
		f, rs := readText(t, st, o.Key)
		if !f.Equal(flow.DefaultFormat) {
			t.Errorf("%s: header format %s", o.Key, f)
		}
		// Every record's end lies in the object's 5-minute bucket.
		stamp := strings.Split(filepath.Base(o.Key), "_")[4]
		for _, r := range rs {
			if got := BucketStart(time.Unix(r.End, 0)).Format("20060102T1504Z"); got != stamp {
				t.Errorf("%s holds a record ending %s", o.Key, time.Unix(r.End, 0).UTC())
			}
		}
		all = append(all, rs...)
	}
	if d := cmp.Diff(lines(flow.DefaultFormat, all), lines(flow.DefaultFormat, recs)); d != "" {
		t.Fatalf("records read back (-got +want)\n%s", d)
	}
	if len(keys) != 3 {
		t.Fatalf("keys = %v", keys)
	}
	for i, stamp := range []string{"20261123T1000Z", "20261123T1005Z", "20261123T1010Z"} {
		prefix := "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/23/123456789012_vpcflowlogs_us-east-1_" + testFL + "_" + stamp + "_"
		if !strings.HasPrefix(keys[i], prefix) || !strings.HasSuffix(keys[i], ".log.gz") || len(keys[i]) != len(prefix)+8+7 {
			t.Errorf("key %s, want %s<8 hex>.log.gz", keys[i], prefix)
		}
	}
	if st := d.Status(); st.State != publish.DeliverySuccess || st.Pending != 0 {
		t.Fatalf("status after flush = %+v", st)
	}
	// The spool is empty.
	for _, sub := range []string{"open", "sealed", "ready"} {
		ents, _ := os.ReadDir(filepath.Join(d.cfg.SpoolDir, sub))
		if len(ents) != 0 {
			t.Errorf("spool %s not empty: %v", sub, ents)
		}
	}
}

// TestSealOnBucketEnd: an object is built as soon as a Deliver's Now passes
// the end of its bucket, without a Flush.
func TestSealOnBucketEnd(t *testing.T) {
	st := localStore(t)
	d := newDest(t, st, t.TempDir(), nil)
	ctx := t.Context()
	recs := makeRecords(0, 10, t0.Add(time.Minute), time.Second)
	must(t, d.Deliver(ctx, publish.Batch{Records: recs, Now: t0.Add(2 * time.Minute)}))
	must(t, d.Deliver(ctx, publish.Batch{Records: makeRecords(10, 1, t0.Add(6*time.Minute), 0), Now: t0.Add(7 * time.Minute)}))
	// Wait for the worker: Pending drops to the one record of the open bucket.
	deadline := time.Now().Add(10 * time.Second)
	for d.Status().Pending != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v", d.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	objs, _ := st.List(ctx, testBucket, "")
	if len(objs) != 1 || !strings.Contains(objs[0].Key, "_20261123T1000Z_") {
		t.Fatalf("objects %v", objs)
	}
}

func TestDeterministicBytes(t *testing.T) {
	run := func() map[string][]byte {
		st := localStore(t)
		d := newDest(t, st, t.TempDir(), nil)
		recs := makeRecords(0, 500, t0, 2*time.Second)
		for i := 0; i < 500; i += 100 {
			must(t, d.Deliver(t.Context(), publish.Batch{Records: recs[i : i+100], Now: t0.Add(time.Duration(i) * 2 * time.Second)}))
		}
		must(t, d.Flush(t.Context()))
		out := map[string][]byte{}
		objs, _ := st.List(t.Context(), testBucket, "")
		for _, o := range objs {
			rc, _ := st.Get(t.Context(), testBucket, o.Key)
			b, _ := io.ReadAll(rc)
			rc.Close()
			out[o.Key] = b
		}
		return out
	}
	a, b := run(), run()
	if len(a) == 0 {
		t.Fatal("no objects")
	}
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("two identical runs differ:\n%s", d)
	}
}

func TestRollAtMaxObjectBytes(t *testing.T) {
	st := localStore(t)
	const max = 16 << 10
	d := newDest(t, st, t.TempDir(), func(c *Config) { c.MaxObjectBytes = max; c.GzipLevel = gzip.HuffmanOnly })
	recs := makeRecords(0, 6000, t0, 0) // one bucket, ~540 KB of text
	must(t, d.Deliver(t.Context(), publish.Batch{Records: recs, Now: t0}))
	must(t, d.Flush(t.Context()))
	objs, _ := st.List(t.Context(), testBucket, "")
	if len(objs) < 10 {
		t.Fatalf("only %d objects: %+v", len(objs), objs)
	}
	var all []flow.Record
	for _, o := range objs {
		if o.Size > max {
			t.Errorf("%s is %d bytes > %d", o.Key, o.Size, max)
		}
		_, rs := readText(t, st, o.Key)
		all = append(all, rs...)
	}
	if d := cmp.Diff(lines(flow.DefaultFormat, all), lines(flow.DefaultFormat, recs)); d != "" {
		t.Fatalf("(-got +want)\n%s", d)
	}
}

func TestCustomFormatAndOptions(t *testing.T) {
	f, err := flow.ParseFormat("${version} ${vpc-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${tcp-flags} ${flow-direction} ${log-status}")
	must(t, err)
	st := localStore(t)
	d := newDest(t, st, t.TempDir(), func(c *Config) {
		c.FlowLog = testFlowLog(f)
		c.Prefix = "my-logs"
		c.HiveCompatiblePartitions = true
		c.PerHourPartition = true
	})
	recs := makeRecords(0, 20, t0, time.Second)
	for i := range recs {
		recs[i].SetInt(flow.FieldVersion, int64(f.Version()))
		recs[i].SetString(flow.FieldVPCID, "vpc-0123456789abcdef0")
		recs[i].SetInt(flow.FieldTCPFlags, 19)
		recs[i].SetDirection(flow.Egress)
	}
	must(t, d.Deliver(t.Context(), publish.Batch{Records: recs, Now: t0}))
	must(t, d.Flush(t.Context()))
	objs, _ := st.List(t.Context(), testBucket, "my-logs/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=11/day=23/hour=10/")
	if len(objs) != 1 {
		t.Fatalf("objects %v", objs)
	}
	gf, rs := readText(t, st, objs[0].Key)
	if !gf.Equal(f) {
		t.Fatalf("header %s", gf.Header())
	}
	if d := cmp.Diff(lines(f, rs), lines(f, recs)); d != "" {
		t.Fatalf("(-got +want)\n%s", d)
	}
}

func TestParquet(t *testing.T) {
	st := localStore(t)
	d := newDest(t, st, t.TempDir(), func(c *Config) { c.FileFormat = Parquet })
	recs := makeRecords(0, 200, t0, time.Second)
	// A NODATA record: "-" fields become NULLs and come back as "-".
	var nodata flow.Record
	nodata.SetInt(flow.FieldVersion, 2)
	nodata.SetString(flow.FieldAccountID, "123456789012")
	nodata.SetString(flow.FieldInterfaceID, "eni-0")
	nodata.SetInt(flow.FieldStart, t0.Unix())
	nodata.SetInt(flow.FieldEnd, t0.Unix()+60)
	nodata.SetLogStatus(flow.StatusNoData)
	recs = append(recs, nodata)
	must(t, d.Deliver(t.Context(), publish.Batch{Records: recs, Now: t0}))
	must(t, d.Flush(t.Context()))
	objs, _ := st.List(t.Context(), testBucket, "")
	if len(objs) != 1 || !strings.HasSuffix(objs[0].Key, ".log.parquet") {
		t.Fatalf("objects %v", objs)
	}
	rc, _ := st.Get(t.Context(), testBucket, objs[0].Key)
	defer rc.Close()
	got, _, _, err := flowfile.ReadAll(rc, flowfile.Options{Format: flow.DefaultFormat})
	must(t, err)
	if d := cmp.Diff(lines(flow.DefaultFormat, got), lines(flow.DefaultFormat, recs)); d != "" {
		t.Fatalf("(-got +want)\n%s", d)
	}
}

// failingStore wraps a store with a switchable failure.
type failingStore struct {
	objstore.Store
	fail atomic.Pointer[error]
	puts atomic.Int64
}

func (f *failingStore) set(err error) { f.fail.Store(&err) }

func (f *failingStore) Put(ctx context.Context, b, k string, r io.Reader, n int64) error {
	f.puts.Add(1)
	if p := f.fail.Load(); p != nil && *p != nil {
		return *p
	}
	return f.Store.Put(ctx, b, k, r, n)
}

func TestFailureStatusAndRecovery(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		msg  string
	}{
		{"access", &objstore.Error{Op: "Put", Kind: objstore.ErrAccessDenied}, "Access error"},
		{"nobucket", &objstore.Error{Op: "Put", Kind: objstore.ErrNoSuchBucket}, "Access error"},
		{"throttled", &objstore.Error{Op: "Put", Kind: objstore.ErrRateLimited}, "Rate limited"},
		{"down", errors.New("dial tcp 127.0.0.1:1: connection refused"), "Unknown error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &failingStore{Store: localStore(t)}
			fs.set(tc.err)
			reg := prometheus.NewRegistry()
			cfg := DefaultConfig()
			cfg.FlowLog, cfg.Bucket, cfg.SpoolDir = testFlowLog(flow.DefaultFormat), testBucket, t.TempDir()
			cfg.RetryInitial, cfg.RetryMax, cfg.SealInterval = time.Millisecond, 10*time.Millisecond, -1
			d, err := New(cfg, Deps{Store: fs, Registry: reg, Now: func() time.Time { return t0 }})
			must(t, err)
			defer d.Close()
			recs := makeRecords(0, 100, t0, 10*time.Second)
			must(t, d.Deliver(t.Context(), publish.Batch{Records: recs, Now: t0}))
			d.Start(t.Context())
			_ = d.Flush(expired(t)) // seals; cannot wait
			waitFor(t, func() bool { return d.Status().State == publish.DeliveryFailed })
			st := d.Status()
			if st.State != publish.DeliveryFailed || st.Message != tc.msg || st.Pending != 100 {
				t.Fatalf("status = %+v", st)
			}
			if err := d.Flush(expired(t)); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("flush while failing: %v", err)
			}
			fs.set(nil)
			must(t, d.Flush(t.Context()))
			if st := d.Status(); st.State != publish.DeliverySuccess || st.Pending != 0 {
				t.Fatalf("status after recovery = %+v", st)
			}
			objs, _ := fs.List(t.Context(), testBucket, "")
			var n int
			for _, o := range objs {
				_, rs := readText(t, fs, o.Key)
				n += len(rs)
			}
			if n != 100 {
				t.Fatalf("records out = %d, want 100", n)
			}
			l := []string{"s3", testFL}
			if got := counterValue(d.metrics.Records.WithLabelValues(l...)); got != 100 {
				t.Errorf("records metric %v", got)
			}
			if got := counterValue(d.metrics.Objects.WithLabelValues(l...)); got != float64(len(objs)) {
				t.Errorf("objects metric %v", got)
			}
			if got := counterValue(d.metrics.Retries.WithLabelValues(l...)); got < 1 {
				t.Errorf("retries metric %v", got)
			}
		})
	}
}

func TestRestartDeliversSpool(t *testing.T) {
	st := localStore(t)
	spoolDir := t.TempDir()
	fs := &failingStore{Store: st}
	fs.set(errors.New("down"))
	d := newDest(t, fs, spoolDir, nil)
	recs := makeRecords(0, 300, t0, 3*time.Second)
	must(t, d.Deliver(t.Context(), publish.Batch{Records: recs[:100], Now: t0.Add(20 * time.Minute)})) // sealed at once
	must(t, d.Deliver(t.Context(), publish.Batch{Records: recs[100:], Now: t0.Add(5 * time.Minute)}))  // partly still open
	d.Close()

	d2 := newDest(t, st, spoolDir, nil)
	if p := d2.Status().Pending; p != 300 {
		t.Fatalf("recovered pending = %d", p)
	}
	must(t, d2.Flush(t.Context()))
	objs, _ := st.List(t.Context(), testBucket, "")
	var all []flow.Record
	for _, o := range objs {
		_, rs := readText(t, st, o.Key)
		all = append(all, rs...)
	}
	if d := cmp.Diff(lines(flow.DefaultFormat, all), lines(flow.DefaultFormat, recs)); d != "" {
		t.Fatalf("(-got +want)\n%s", d)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var _ = bytes.NewReader

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func expired(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// waitFor polls cond (the worker runs in the background); the deadline is
// only a hang guard.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestParquetRollAtMaxObjectBytes: Parquet objects roll at MaxObjectBytes
// too (AWS: 75 MB), although compressed bytes reach the object only when a
// row group ends; every record is in exactly one object.
func TestParquetRollAtMaxObjectBytes(t *testing.T) {
	st := localStore(t)
	const max = 64 << 10
	d := newDest(t, st, t.TempDir(), func(c *Config) { c.FileFormat = Parquet; c.MaxObjectBytes = max })
	recs := makeRecords(0, 60000, t0, 0)
	must(t, d.Deliver(t.Context(), publish.Batch{Records: recs, Now: t0}))
	must(t, d.Flush(t.Context()))
	objs, _ := st.List(t.Context(), testBucket, "")
	if len(objs) < 5 {
		t.Fatalf("only %d objects: %+v", len(objs), objs)
	}
	var all []flow.Record
	small := 0
	for _, o := range objs {
		if o.Size > max {
			t.Errorf("%s is %d bytes > %d", o.Key, o.Size, max)
		}
		if o.Size < max/2 {
			small++
		}
		rc, err := st.Get(t.Context(), testBucket, o.Key)
		must(t, err)
		got, _, _, err := flowfile.ReadAll(rc, flowfile.Options{Format: flow.DefaultFormat})
		rc.Close()
		must(t, err)
		all = append(all, got...)
	}
	if small > 1 { // only the last part may be small
		t.Errorf("%d of %d objects under half of %d bytes: %+v", small, len(objs), max, objs)
	}
	if d := cmp.Diff(lines(flow.DefaultFormat, all), lines(flow.DefaultFormat, recs)); d != "" {
		t.Fatalf("(-got +want)\n%s", d)
	}
}
