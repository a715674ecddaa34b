//go:build !unix

package datadir

import "os"

// tryLock does not lock where flock is unavailable: a second writer is not
// detected there.
func tryLock(*os.File) error { return nil }
