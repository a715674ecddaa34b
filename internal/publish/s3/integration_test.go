package s3

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/flow"
	"vpcflow/internal/objstore/objstoretest"
	"vpcflow/internal/publish"
)

// TestVersityStopRestart delivers to a real S3 server (versitygw on
// 127.0.0.1), kills the server in the middle of delivery and restarts it:
// DeliverLogsStatus goes FAILED ("Unknown error") then SUCCESS, and every
// record sent comes out exactly once.
func TestVersityStopRestart(t *testing.T) {
	v := objstoretest.StartVersity(t)
	st := v.Store(t)
	must(t, st.CreateBucket(t.Context(), testBucket))
	d := newDest(t, st, t.TempDir(), func(c *Config) {
		c.RetryInitial, c.RetryMax = 10*time.Millisecond, 200*time.Millisecond
	})
	ctx := t.Context()
	var sent []flow.Record
	deliver := func(first int, minute int) {
		recs := makeRecords(first, 1000, t0.Add(time.Duration(minute)*time.Minute), 100*time.Millisecond)
		sent = append(sent, recs...)
		must(t, d.Deliver(ctx, publish.Batch{Records: recs, Now: t0.Add(time.Duration(minute+6) * time.Minute)}))
	}
	deliver(0, 0)
	must(t, d.Flush(ctx))
	if s := d.Status(); s.State != publish.DeliverySuccess {
		t.Fatalf("status %+v", s)
	}

	// Objects are being built and put while the server goes away.
	deliver(1000, 5)
	v.Stop()
	deliver(2000, 10)
	deliver(3000, 15)
	_ = d.Flush(expired(t))
	waitFor(t, func() bool { return d.Status().State == publish.DeliveryFailed })
	if s := d.Status(); s.Message != publish.MessageUnknownError || s.Pending == 0 {
		t.Fatalf("status while down %+v", s)
	}
	deliver(4000, 20) // accepted while down

	must(t, v.Start())
	fctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	must(t, d.Flush(fctx))
	if s := d.Status(); s.State != publish.DeliverySuccess || s.Pending != 0 {
		t.Fatalf("status after restart %+v", s)
	}

	objs, err := st.List(ctx, testBucket, "AWSLogs/")
	must(t, err)
	var got []flow.Record
	for _, o := range objs {
		_, rs := readText(t, st, o.Key)
		got = append(got, rs...)
		// The posix root holds the object under the same path.
		if _, err := os.Stat(filepath.Join(v.Root, testBucket, filepath.FromSlash(o.Key))); err != nil {
			t.Errorf("posix root: %v", err)
		}
	}
	if len(got) != len(sent) {
		t.Fatalf("count in %d, count out %d", len(sent), len(got))
	}
	if diff := cmp.Diff(lines(flow.DefaultFormat, got), lines(flow.DefaultFormat, sent)); diff != "" {
		t.Fatalf("(-got +want)\n%s", diff)
	}
	t.Logf("%d records in %d objects", len(got), len(objs))
}

// TestVersityMissingBucket: a missing bucket is "Access error" until the
// bucket exists, then everything is delivered.
func TestVersityMissingBucket(t *testing.T) {
	v := objstoretest.StartVersity(t)
	st := v.Store(t)
	d := newDest(t, st, t.TempDir(), func(c *Config) {
		c.RetryInitial, c.RetryMax = 10*time.Millisecond, 100*time.Millisecond
	})
	recs := makeRecords(0, 100, t0, time.Second)
	must(t, d.Deliver(t.Context(), publish.Batch{Records: recs, Now: t0}))
	_ = d.Flush(expired(t))
	waitFor(t, func() bool { return d.Status().State == publish.DeliveryFailed })
	if s := d.Status(); s.Message != publish.MessageAccessError {
		t.Fatalf("status %+v", s)
	}
	must(t, st.CreateBucket(t.Context(), testBucket))
	fctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	must(t, d.Flush(fctx))
	if s := d.Status(); s.State != publish.DeliverySuccess {
		t.Fatalf("status %+v", s)
	}
	objs, _ := st.List(t.Context(), testBucket, "")
	n := 0
	for _, o := range objs {
		_, rs := readText(t, st, o.Key)
		n += len(rs)
	}
	if n != 100 {
		t.Fatalf("records out %d", n)
	}
}
