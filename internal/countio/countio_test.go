package countio

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCounts(t *testing.T) {
	r := &Reader{R: iotest.OneByteReader(strings.NewReader("hello, world"))}
	var buf bytes.Buffer
	w := &Writer{W: &buf}
	if _, err := io.Copy(w, r); err != nil {
		t.Fatal(err)
	}
	if r.N != 12 || w.N != 12 || buf.String() != "hello, world" {
		t.Errorf("read %d, wrote %d, got %q", r.N, w.N, buf.String())
	}
	// A failing write counts only what went through.
	fw := &Writer{W: errWriter{}}
	if n, err := fw.Write([]byte("abc")); err == nil || fw.N != int64(n) {
		t.Errorf("failing writer: n %d, N %d, err %v", n, fw.N, err)
	}
}

type errWriter struct{}

func (errWriter) Write(p []byte) (int, error) { return 1, io.ErrShortWrite }
