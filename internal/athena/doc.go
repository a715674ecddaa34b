// Package athena is the Athena-like SQL engine: DuckDB embedded (the only
// cgo package of the tree), with Athena's flow log tables as views over the
// text and Parquet objects of a data directory laid out as the S3 bucket,
// Presto function shims, and a sandbox that confines SQL to that directory.
//
// Without cgo, Open returns ErrNotCompiled.
package athena
