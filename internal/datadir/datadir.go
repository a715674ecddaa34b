// Package datadir guards a vpcflow data directory against two writers: a
// running `vpcflow serve` (or demo, simulate, replay) holds an advisory
// lock on <dir>/.vpcflow.lock, and commands that would change flow logs or
// empty the directory behind its back refuse while it is held.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LockFile is the lock's file name inside the data directory.
const LockFile = ".vpcflow.lock"

// ErrInUse means another process (or another pipeline of this one) holds
// the data directory.
var ErrInUse = errors.New("data directory is in use by a running vpcflow (serve, demo, simulate or replay)")

// Lock is a held data directory lock.
type Lock struct {
	f *os.File
}

// Acquire locks dir (created if missing) without waiting; it fails with
// ErrInUse when the lock is held. The lock ends with Release or with the
// process.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, ErrInUse) {
			return nil, fmt.Errorf("%s: %w", dir, ErrInUse)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return &Lock{f: f}, nil
}

// Release unlocks. It is safe to call on a nil Lock and more than once.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor drops the lock
	l.f = nil
	return err
}

// CheckFree reports ErrInUse when another holder has dir locked; a missing
// directory or lock file is free.
func CheckFree(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	defer f.Close()
	if err := tryLock(f); err != nil {
		if errors.Is(err, ErrInUse) {
			return fmt.Errorf("%s: %w", dir, ErrInUse)
		}
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	return nil // closing f releases the probe's lock
}
