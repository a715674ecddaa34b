package datadir

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := CheckFree(dir); err != nil {
		t.Fatalf("missing dir: %v", err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir); !errors.Is(err, ErrInUse) {
		t.Errorf("second Acquire: %v, want ErrInUse", err)
	}
	if err := CheckFree(dir); !errors.Is(err, ErrInUse) {
		t.Errorf("CheckFree while held: %v, want ErrInUse", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if err := CheckFree(dir); err != nil {
		t.Errorf("CheckFree after Release: %v", err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}
