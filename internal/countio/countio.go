// Package countio counts the bytes that pass through a reader or a writer:
// the compressed offset of a decompression error, the size of an object
// being written.
package countio

import "io"

// Reader counts the bytes read from R.
type Reader struct {
	R io.Reader
	N int64
}

func (c *Reader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}

// Writer counts the bytes written to W.
type Writer struct {
	W io.Writer
	N int64
}

func (c *Writer) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}
