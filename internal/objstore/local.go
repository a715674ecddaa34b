package objstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Local is a Store on a local directory: bucket b, key k is the file
// <Root>/<b>/<k>, exactly as the S3 bucket would look, so SQL engines can
// read the tree directly. A Put writes a hidden temporary file in the
// target directory (".<name>.tmp-<random>"), fsyncs it, renames it into
// place and fsyncs the directory: a crash never leaves a partial object
// under the real name.
type Local struct {
	root string
	// Now, when set, is the clock of Last-Modified (the file's mtime): a
	// simulation's clock, so that an object is modified after the time in
	// its name, as on S3 (spec §5.1). Default: the file system's.
	Now func() time.Time
}

// NewLocal returns a store rooted at dir (created if missing). A root has
// one writing process, so opening it removes the temporary files of Puts
// that a crash interrupted (S3 likewise never shows an unfinished upload).
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("objstore: local root directory is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("objstore: create root: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := removeTemps(abs); err != nil {
		return nil, err
	}
	return &Local{root: abs}, nil
}

func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

func removeTemps(root string) error {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && isTemp(d.Name()) {
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("objstore: remove unfinished uploads: %w", err)
	}
	return nil
}

// Root is the store's root directory.
func (l *Local) Root() string { return l.root }

// CreateBucket creates the bucket directory.
func (l *Local) CreateBucket(_ context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return &Error{Op: "CreateBucket", Bucket: bucket, Err: err}
	}
	if err := os.MkdirAll(filepath.Join(l.root, bucket), 0o755); err != nil {
		return &Error{Op: "CreateBucket", Bucket: bucket, Err: err, Kind: kindOf(err)}
	}
	return nil
}

func checkBucket(b string) error {
	if b == "" || b == "." || b == ".." || strings.ContainsAny(b, "/\\\x00") {
		return fmt.Errorf("%w: bucket name %q", ErrInvalidKey, b)
	}
	return nil
}

// checkKey rejects keys that cannot map to a path inside the bucket.
func checkKey(k string) error {
	if k == "" || strings.HasPrefix(k, "/") || strings.ContainsRune(k, 0) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, k)
	}
	for _, seg := range strings.Split(k, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q", ErrInvalidKey, k)
		}
	}
	return nil
}

func kindOf(err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return ErrAccessDenied
	case errors.Is(err, fs.ErrNotExist):
		return ErrNoSuchKey
	}
	return nil
}

func (l *Local) bucketDir(op, bucket, key string) (string, error) {
	if err := checkBucket(bucket); err != nil {
		return "", &Error{Op: op, Bucket: bucket, Key: key, Kind: ErrInvalidKey, Err: err}
	}
	dir := filepath.Join(l.root, bucket)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return "", &Error{Op: op, Bucket: bucket, Key: key, Kind: ErrNoSuchBucket}
	}
	return dir, nil
}

// Put writes the object atomically.
func (l *Local) Put(ctx context.Context, bucket, key string, body io.Reader, _ int64) error {
	bdir, err := l.bucketDir("Put", bucket, key)
	if err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return &Error{Op: "Put", Bucket: bucket, Key: key, Kind: ErrInvalidKey, Err: err}
	}
	fail := func(err error) error {
		return &Error{Op: "Put", Bucket: bucket, Key: key, Kind: kindOf(err), Err: err}
	}
	final := filepath.Join(bdir, filepath.FromSlash(key))
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+filepath.Base(final)+".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fail(err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, ctxReader{ctx, body}); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if l.Now != nil {
		if t := l.Now(); !t.IsZero() {
			if err := os.Chtimes(tmp, t, t); err != nil {
				return fail(err)
			}
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	ok = true
	if err := syncDir(dir); err != nil {
		return fail(err)
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get opens an object.
func (l *Local) Get(_ context.Context, bucket, key string) (io.ReadCloser, error) {
	bdir, err := l.bucketDir("Get", bucket, key)
	if err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, &Error{Op: "Get", Bucket: bucket, Key: key, Kind: ErrNoSuchKey, Err: err}
	}
	f, err := os.Open(filepath.Join(bdir, filepath.FromSlash(key)))
	if err != nil {
		return nil, &Error{Op: "Get", Bucket: bucket, Key: key, Kind: kindOf(err), Err: err}
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, &Error{Op: "Get", Bucket: bucket, Key: key, Kind: ErrNoSuchKey}
	}
	return f, nil
}

// Head describes an object.
func (l *Local) Head(_ context.Context, bucket, key string) (ObjectInfo, error) {
	bdir, err := l.bucketDir("Head", bucket, key)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, &Error{Op: "Head", Bucket: bucket, Key: key, Kind: ErrNoSuchKey, Err: err}
	}
	st, err := os.Stat(filepath.Join(bdir, filepath.FromSlash(key)))
	if err != nil || st.IsDir() {
		if err == nil {
			err = fs.ErrNotExist
		}
		return ObjectInfo{}, &Error{Op: "Head", Bucket: bucket, Key: key, Kind: kindOf(err), Err: err}
	}
	return ObjectInfo{Key: key, Size: st.Size(), LastModified: st.ModTime()}, nil
}

// List walks the bucket under the directory part of prefix. Temporary
// files of Puts in progress are not listed.
func (l *Local) List(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error) {
	bdir, err := l.bucketDir("List", bucket, "")
	if err != nil {
		return nil, err
	}
	start := bdir
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = filepath.Join(bdir, filepath.FromSlash(path.Clean(prefix[:i])))
		if !strings.HasPrefix(start, bdir) {
			return nil, nil
		}
	}
	var out []ObjectInfo
	err = filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(bdir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // deleted meanwhile
		}
		out = append(out, ObjectInfo{Key: key, Size: info.Size(), LastModified: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, &Error{Op: "List", Bucket: bucket, Key: prefix, Kind: kindOf(err), Err: err}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes an object (and no directories).
func (l *Local) Delete(_ context.Context, bucket, key string) error {
	bdir, err := l.bucketDir("Delete", bucket, key)
	if err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return nil
	}
	if err := os.Remove(filepath.Join(bdir, filepath.FromSlash(key))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &Error{Op: "Delete", Bucket: bucket, Key: key, Kind: kindOf(err), Err: err}
	}
	return nil
}
