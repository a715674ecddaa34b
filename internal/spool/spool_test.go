package spool

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestJournalRecoversTornTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "j.log")
	j, err := OpenJournal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]byte("header\nline1\n"), 2); err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]byte("no newline"), 1); err == nil {
		t.Fatal("incomplete line accepted")
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	j.Close()
	// Simulate a crash in the middle of an append.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("line2\nline3-torn")
	f.Close()
	j, err = OpenJournal(p)
	if err != nil {
		t.Fatal(err)
	}
	if j.Lines() != 3 || j.Size() != int64(len("header\nline1\nline2\n")) {
		t.Fatalf("lines %d size %d", j.Lines(), j.Size())
	}
	b, _ := io.ReadAll(j.Reader())
	if string(b) != "header\nline1\nline2\n" {
		t.Fatalf("content %q", b)
	}
	if err := j.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("not removed")
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.obj")
	if err := WriteAtomic(p, func(w io.Writer) error { _, err := w.Write([]byte("ok")); return err }, true); err != nil {
		t.Fatal(err)
	}
	err := WriteAtomic(p, func(w io.Writer) error { w.Write([]byte("partial")); return io.ErrUnexpectedEOF }, true)
	if err == nil {
		t.Fatal("error not returned")
	}
	b, _ := os.ReadFile(p)
	if string(b) != "ok" {
		t.Fatalf("content %q", b)
	}
	os.WriteFile(filepath.Join(dir, ".y.obj.tmp-abc"), nil, 0o644)
	RemoveTemps(dir)
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("entries %v", ents)
	}
}
