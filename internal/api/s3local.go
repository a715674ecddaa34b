package api

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

var errNotExist = fs.ErrNotExist

// LocalS3 serves buckets that are directories under a data root, laid out as
// the S3 bucket would be (`<root>/<bucket>/<key>`). Keys are resolved
// through os.Root, so no key can reach outside the root.
type LocalS3 struct {
	root string
	// Owner returns the account that owns a bucket; "" means nobody may
	// read it.
	Owner func(bucket string) string

	mu    sync.Mutex
	etags map[string]etagEntry
}

type etagEntry struct {
	size  int64
	mtime time.Time
	etag  string
}

// NewLocalS3 serves the directory root. owner decides bucket ownership.
func NewLocalS3(root string, owner func(bucket string) string) *LocalS3 {
	return &LocalS3{root: root, Owner: owner, etags: map[string]etagEntry{}}
}

func validBucket(name string) bool {
	if len(name) < 3 || len(name) > 63 || !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// validKey rejects keys that cannot name a file under the bucket: empty
// segments, "." and "..", and NUL bytes.
func validKey(key string) bool {
	if key == "" || strings.ContainsRune(key, 0) || strings.HasSuffix(key, "/") {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func (l *LocalS3) openBucket(account, bucket string) (*os.Root, error) {
	if !validBucket(bucket) {
		return nil, errNoSuchBucket
	}
	root, err := os.OpenRoot(l.root)
	if err != nil {
		return nil, errNoSuchBucket
	}
	defer root.Close()
	br, err := root.OpenRoot(bucket)
	if err != nil {
		return nil, errNoSuchBucket
	}
	if owner := l.Owner(bucket); owner == "" || owner != account {
		br.Close()
		return nil, errAccessDenied
	}
	return br, nil
}

// ListBuckets lists the top-level directories owned by account.
func (l *LocalS3) ListBuckets(_ context.Context, account string) ([]BucketInfo, error) {
	entries, err := os.ReadDir(l.root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []BucketInfo
	for _, e := range entries {
		if !e.IsDir() || !validBucket(e.Name()) || l.Owner(e.Name()) != account {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, BucketInfo{Name: e.Name(), CreationDate: info.ModTime()})
	}
	return out, nil
}

// ListObjects walks the bucket and returns keys with the prefix, after
// startAfter, sorted, at most max+1.
func (l *LocalS3) ListObjects(ctx context.Context, account, bucket, prefix, startAfter string, max int) ([]ObjectInfo, error) {
	br, err := l.openBucket(account, bucket)
	if err != nil {
		return nil, err
	}
	defer br.Close()
	// Walk only the directory part of the prefix.
	dir := "."
	if i := strings.LastIndexByte(prefix, '/'); i > 0 {
		dir = prefix[:i]
		if !validKey(dir) {
			return nil, nil
		}
	}
	var keys []string
	err = fs.WalkDir(br.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			// Skip directories that cannot hold matching keys.
			if p != "." && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") { // temp files of atomic writes
			return nil
		}
		if strings.HasPrefix(p, prefix) && p > startAfter {
			keys = append(keys, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	if len(keys) > max+1 {
		keys = keys[:max+1]
	}
	out := make([]ObjectInfo, 0, len(keys))
	for _, k := range keys {
		fi, err := br.Stat(k)
		if err != nil {
			continue
		}
		out = append(out, ObjectInfo{Key: k, Size: fi.Size(), LastModified: fi.ModTime(), ETag: l.etag(br, k, fi)})
	}
	return out, nil
}

// GetObject opens one object.
func (l *LocalS3) GetObject(_ context.Context, account, bucket, key string) (io.ReadSeekCloser, ObjectInfo, error) {
	br, err := l.openBucket(account, bucket)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	defer br.Close()
	if !validKey(key) || strings.HasPrefix(path.Base(key), ".") {
		return nil, ObjectInfo{}, errNoSuchKey
	}
	f, err := br.Open(key)
	if err != nil {
		return nil, ObjectInfo{}, errNoSuchKey
	}
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		f.Close()
		return nil, ObjectInfo{}, errNoSuchKey
	}
	return f, ObjectInfo{Key: key, Size: fi.Size(), LastModified: fi.ModTime(), ETag: l.etag(br, key, fi)}, nil
}

// etag is the quoted MD5 of the object, cached by size and mtime (objects
// are written once and renamed into place).
func (l *LocalS3) etag(br *os.Root, key string, fi fs.FileInfo) string {
	id := br.Name() + "\x00" + key
	l.mu.Lock()
	e, ok := l.etags[id]
	l.mu.Unlock()
	if ok && e.size == fi.Size() && e.mtime.Equal(fi.ModTime()) {
		return e.etag
	}
	f, err := br.Open(key)
	if err != nil {
		return `""`
	}
	defer f.Close()
	h := md5.New()
	io.Copy(h, f)
	tag := `"` + hex.EncodeToString(h.Sum(nil)) + `"`
	l.mu.Lock()
	l.etags[id] = etagEntry{fi.Size(), fi.ModTime(), tag}
	l.mu.Unlock()
	return tag
}
