package capture

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"testing/iotest"

	"vpcflow/internal/traffic"
)

// TestPrefetcher: what a Prefetcher reads is its source's bytes, then its
// error, for sources shorter than, equal to and longer than a chunk, that
// return short reads, read in small pieces.
func TestPrefetcher(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 1000, prefetchChunk - 1, prefetchChunk, prefetchChunk + 1, 5*prefetchChunk + 12345} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		for _, src := range []io.Reader{bytes.NewReader(data), iotest.HalfReader(bytes.NewReader(data))} {
			p := NewPrefetcher(src)
			got, err := io.ReadAll(iotest.HalfReader(p))
			p.Close()
			if err != nil {
				t.Fatalf("size %d: %v", n, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("size %d: read %d bytes, not the source's", n, len(got))
			}
		}
	}
	// The source's error comes after its bytes.
	boom := errors.New("disk on fire")
	p := NewPrefetcher(io.MultiReader(bytes.NewReader([]byte("hello")), iotest.ErrReader(boom)))
	got, err := io.ReadAll(p)
	p.Close()
	if string(got) != "hello" || !errors.Is(err, boom) {
		t.Fatalf("read %q, %v; want hello then the source's error", got, err)
	}
	// Close stops a prefetcher that has not read everything, and may be
	// called twice.
	p = NewPrefetcher(bytes.NewReader(make([]byte, 10*prefetchChunk)))
	p.Read(make([]byte, 10))
	p.Close()
	p.Close()
}

// TestPrefetchedCaptureErrors: read through a Prefetcher, a cut capture
// gives the same packets and fails at the same packet and byte offset.
func TestPrefetchedCaptureErrors(t *testing.T) {
	data, err := os.ReadFile("testdata/small-ipv4.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := data[:len(data)*2/3]
	read := func(src io.Reader) ([]traffic.Packet, string) {
		r, err := NewReader(src, "cut.pcap")
		if err != nil {
			t.Fatal(err)
		}
		var out []traffic.Packet
		for {
			var p traffic.Packet
			if err := r.Next(&p); err != nil {
				return out, err.Error()
			}
			out = append(out, p)
		}
	}
	p1, e1 := read(bytes.NewReader(cut))
	pf := NewPrefetcher(bytes.NewReader(cut))
	defer pf.Close()
	p2, e2 := read(pf)
	if len(p1) == 0 || len(p1) != len(p2) || e1 != e2 {
		t.Fatalf("direct: %d packets then %q; prefetched: %d packets then %q", len(p1), e1, len(p2), e2)
	}
	for i := range p1 {
		if p1[i] != p2[i] {
			t.Fatalf("packet %d differs: %+v, %+v", i+1, p1[i], p2[i])
		}
	}
}
