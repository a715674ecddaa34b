package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/objstore"
	"vpcflow/internal/objstore/objstoretest"
)

const bucket = "flowlogs"

// conformance runs the same checks against every backend.
func conformance(t *testing.T, st objstore.Store) {
	ctx := t.Context()
	keys := []string{
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/a.log.gz",
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/21/b.log.gz",
		"other/c.txt",
	}
	for i, k := range keys {
		body := strings.Repeat(string(rune('x'+i)), 10+i)
		// A non-seekable body must work too.
		var r io.Reader = strings.NewReader(body)
		if i == 1 {
			r = io.MultiReader(strings.NewReader(body))
		}
		if err := st.Put(ctx, bucket, k, r, int64(len(body))); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	rc, err := st.Get(ctx, bucket, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != strings.Repeat("x", 10) {
		t.Fatalf("Get = %q", b)
	}
	info, err := st.Head(ctx, bucket, keys[1])
	if err != nil || info.Size != 11 {
		t.Fatalf("Head = %+v, %v", info, err)
	}
	list, err := st.List(ctx, bucket, "AWSLogs/123456789012/vpcflowlogs/")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Key != keys[0] || list[1].Key != keys[1] {
		t.Fatalf("List = %+v", list)
	}
	list, err = st.List(ctx, bucket, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/2")
	if err != nil || len(list) != 2 {
		t.Fatalf("List partial segment = %+v, %v", list, err)
	}
	all, err := st.List(ctx, bucket, "")
	if err != nil || len(all) != 3 {
		t.Fatalf("List all = %+v, %v", all, err)
	}
	// Overwrite.
	if err := st.Put(ctx, bucket, keys[2], bytes.NewReader([]byte("new")), 3); err != nil {
		t.Fatal(err)
	}
	if info, _ := st.Head(ctx, bucket, keys[2]); info.Size != 3 {
		t.Fatalf("overwrite: size %d", info.Size)
	}
	if err := st.Delete(ctx, bucket, keys[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Head(ctx, bucket, keys[2]); !errors.Is(err, objstore.ErrNoSuchKey) {
		t.Fatalf("Head after delete: %v", err)
	}
	if _, err := st.Get(ctx, bucket, "missing/key"); !errors.Is(err, objstore.ErrNoSuchKey) {
		t.Fatalf("Get missing: %v", err)
	}
	err = st.Put(ctx, "no-such-bucket", "k", strings.NewReader("x"), 1)
	if !errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Fatalf("Put into missing bucket: %v", err)
	}
	var oe *objstore.Error
	if !errors.As(err, &oe) || oe.Op != "Put" || oe.Bucket != "no-such-bucket" {
		t.Fatalf("error detail: %#v", err)
	}
}

func TestLocal(t *testing.T) {
	dir := t.TempDir()
	st, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBucket(t.Context(), bucket); err != nil {
		t.Fatal(err)
	}
	conformance(t, st)
	// The layout is the bucket's: <root>/<bucket>/<key>.
	if _, err := os.Stat(filepath.Join(dir, bucket, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/a.log.gz")); err != nil {
		t.Fatal(err)
	}
	// No temporary files remain, and a leftover one is not listed.
	leftover := filepath.Join(dir, bucket, "other", ".d.txt.tmp-123")
	if err := os.WriteFile(leftover, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	list, _ := st.List(t.Context(), bucket, "")
	for _, o := range list {
		if strings.Contains(o.Key, ".tmp-") {
			t.Fatalf("temporary file listed: %s", o.Key)
		}
	}
	// Reopening the root (a restart after a crash) removes it.
	if _, err := objstore.NewLocal(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unfinished upload %s survives a reopen: %v", leftover, err)
	}
	for _, bad := range []string{"../x", "a/../../x", "/abs", "a//b", ""} {
		if err := st.Put(t.Context(), bucket, bad, strings.NewReader("x"), 1); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", bad, err)
		}
	}
}

func TestLocalPutFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	st, _ := objstore.NewLocal(dir)
	_ = st.CreateBucket(t.Context(), bucket)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := st.Put(ctx, bucket, "a/b.log.gz", strings.NewReader("data"), 4); err == nil {
		t.Fatal("Put with cancelled context succeeded")
	}
	ents, _ := os.ReadDir(filepath.Join(dir, bucket, "a"))
	if len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}

func TestS3Fake(t *testing.T) {
	st, _ := objstoretest.NewFake(t, bucket)
	conformance(t, st)
}

func TestS3Versity(t *testing.T) {
	v := objstoretest.StartVersity(t)
	st := v.Store(t)
	if err := st.CreateBucket(t.Context(), bucket); err != nil {
		t.Fatal(err)
	}
	conformance(t, st)
	// The posix root holds the same layout as the local store.
	if _, err := os.Stat(filepath.Join(v.Root, bucket, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/a.log.gz")); err != nil {
		t.Fatal(err)
	}
	// Wrong credentials map to ErrAccessDenied.
	bad, _ := objstore.NewS3(objstore.S3Config{Endpoint: v.Endpoint, AccessKeyID: "nobody", SecretAccessKey: "wrongwrongwrong"})
	if err := bad.Put(t.Context(), bucket, "x", strings.NewReader("x"), 1); !errors.Is(err, objstore.ErrAccessDenied) {
		t.Fatalf("bad credentials: %v", err)
	}
	// A stopped server is a plain (unknown) error.
	v.Stop()
	err := st.Put(t.Context(), bucket, "x", strings.NewReader("x"), 1)
	if err == nil || errors.Is(err, objstore.ErrAccessDenied) || errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Fatalf("server down: %v", err)
	}
}

// TestLocalClock: with Now set, an object's Last-Modified (its mtime) comes
// from that clock (a simulation's), so an object is modified after the
// time its name carries, as on S3.
func TestLocalClock(t *testing.T) {
	l, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sim := time.Date(2026, 11, 20, 0, 5, 3, 0, time.UTC)
	l.Now = func() time.Time { return sim }
	if err := l.CreateBucket(t.Context(), "b"); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(t.Context(), "b", "AWSLogs/x_20261120T0000Z_1.log.gz", strings.NewReader("data"), 4); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"b/AWSLogs/x_20261120T0000Z_1.log.gz"} {
		fi, err := os.Stat(filepath.Join(l.Root(), p))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(sim) {
			t.Errorf("%s modified %v, want %v", p, fi.ModTime().UTC(), sim)
		}
	}
}
