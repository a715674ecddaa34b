//go:build !cgo

// Command duckdbread needs cgo (DuckDB); this stub keeps CGO_ENABLED=0
// builds of ./... working.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "duckdbread: built without cgo; DuckDB is not available")
	os.Exit(1)
}
