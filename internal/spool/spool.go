// Package spool holds the on-disk building blocks of the publishers'
// spools: append-only line journals that survive a crash (a torn last
// line is cut off on reopen) and atomic file writes.
package spool

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Journal is an append-only file of '\n'-terminated lines. Appends are
// buffered by the OS; Sync makes them durable. A Journal is not safe for
// concurrent use.
type Journal struct {
	path  string
	f     *os.File
	size  int64
	lines int64
}

// OpenJournal opens or creates the journal at path. An existing journal is
// recovered: bytes after its last '\n' (a line torn by a crash during an
// append that was never acknowledged) are truncated away, and its lines are
// counted. A new journal's directory entry is made durable.
func OpenJournal(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	j := &Journal{path: path, f: f}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := SyncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, err
		}
		return j, nil
	}
	good, lines, err := scanLines(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: read %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	if st.Size() != good {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, fmt.Errorf("spool: truncate %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	j.size, j.lines = good, lines
	return j, nil
}

// scanLines returns the offset just after the last '\n' and the number of
// complete lines.
func scanLines(f *os.File) (int64, int64, error) {
	buf := make([]byte, 1<<20)
	var off, good, lines int64
	for {
		n, err := f.ReadAt(buf, off)
		chunk := buf[:n]
		for {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				break
			}
			lines++
			good = off + int64(n-len(chunk)) + int64(i) + 1
			chunk = chunk[i+1:]
		}
		off += int64(n)
		if err == io.EOF {
			return good, lines, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}

// Append writes p, which must be whole lines, and adds lines to the count.
// On a write error the journal is cut back to its previous size.
func (j *Journal) Append(p []byte, lines int) error {
	if len(p) == 0 {
		return nil
	}
	if p[len(p)-1] != '\n' {
		return errors.New("spool: append of an incomplete line")
	}
	if _, err := j.f.WriteAt(p, j.size); err != nil {
		_ = j.f.Truncate(j.size)
		return fmt.Errorf("spool: write %s: %w", j.path, err)
	}
	j.size += int64(len(p))
	j.lines += int64(lines)
	return nil
}

// Sync makes the appended lines durable.
func (j *Journal) Sync() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("spool: sync %s: %w", j.path, err)
	}
	return nil
}

// Path is the journal's file name.
func (j *Journal) Path() string { return j.path }

// Size is the journal's length in bytes.
func (j *Journal) Size() int64 { return j.size }

// Lines is the number of complete lines.
func (j *Journal) Lines() int64 { return j.lines }

// Reader reads the journal from the start.
func (j *Journal) Reader() *bufio.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(j.f, 0, j.size), 1<<20)
}

// Close closes the file; the journal stays on disk.
func (j *Journal) Close() error { return j.f.Close() }

// Remove closes and deletes the journal durably.
func (j *Journal) Remove() error {
	j.f.Close()
	return Remove(j.path)
}

// Remove deletes a file (a missing one is fine) and syncs its directory.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs a directory so that creations, renames and removals in it
// are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync dir %s: %w", dir, err)
	}
	return nil
}

// WriteAtomic writes path through a hidden temporary file in the same
// directory, fsyncs it and renames it into place: readers (and a restart
// after a crash) see the old content or the whole new one. The directory
// is synced only when syncDir is true (callers batching several files sync
// once).
func WriteAtomic(path string, write func(w io.Writer) error, syncDir bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: write %s: %w", path, err)
	}
	if syncDir {
		return SyncDir(dir)
	}
	return nil
}

// RemoveTemps deletes the leftovers of interrupted WriteAtomic calls in dir.
func RemoveTemps(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("spool: %w", err)
	}
	for _, e := range ents {
		if n := e.Name(); len(n) > 0 && n[0] == '.' && bytes.Contains([]byte(n), []byte(".tmp-")) {
			os.Remove(filepath.Join(dir, n))
		}
	}
	return nil
}
