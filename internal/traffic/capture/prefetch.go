package capture

import "io"

// Prefetch sizes.
const (
	prefetchChunk  = 1 << 20
	prefetchChunks = 4
)

// Prefetcher reads its source ahead in a goroutine of its own, in 1 MiB
// chunks, so that the file reads (system calls and page cache copies)
// overlap with decoding and replaying. Reads return the source's bytes and
// then its error, in order. Close stops the goroutine; it must be called,
// and Read not after it.
type Prefetcher struct {
	full, free chan *chunk
	quit       chan struct{}
	done       chan struct{}
	cur        *chunk
	off        int
}

type chunk struct {
	buf []byte
	err error
}

// NewPrefetcher starts reading src ahead.
func NewPrefetcher(src io.Reader) *Prefetcher {
	p := &Prefetcher{
		full: make(chan *chunk, prefetchChunks),
		free: make(chan *chunk, prefetchChunks),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range prefetchChunks {
		p.free <- &chunk{buf: make([]byte, 0, prefetchChunk)}
	}
	go p.run(src)
	return p
}

func (p *Prefetcher) run(src io.Reader) {
	defer close(p.done)
	for {
		var c *chunk
		select {
		case c = <-p.free:
		case <-p.quit:
			return
		}
		c.buf = c.buf[:cap(c.buf)]
		n, err := io.ReadFull(src, c.buf)
		c.buf = c.buf[:n]
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		c.err = err
		p.full <- c // never blocks: prefetchChunks chunks in all
		if err != nil {
			return
		}
	}
}

// Read implements io.Reader.
func (p *Prefetcher) Read(b []byte) (int, error) {
	for {
		if p.cur != nil {
			if p.off < len(p.cur.buf) {
				n := copy(b, p.cur.buf[p.off:])
				p.off += n
				return n, nil
			}
			if p.cur.err != nil {
				return 0, p.cur.err
			}
			p.free <- p.cur
		}
		p.cur, p.off = <-p.full, 0
	}
}

// Close stops reading ahead. It does not close the source.
func (p *Prefetcher) Close() error {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	<-p.done
	return nil
}
