package flowfile

import (
	"bufio"
	"bytes"
	"io"
	"runtime"
	"sync"

	"vpcflow/internal/countio"
	"vpcflow/internal/flow"
)

// chunkSize is the amount of text handed to a worker at a time.
const chunkSize = 256 << 10

// chunk is a run of whole lines of one format, and later its output.
type chunk struct {
	seq       int
	buf       []byte // backing buffer, returned to the pool
	data      []byte // whole lines
	firstLine int    // line number of the first line of data
	format    flow.Format
	headers   int // header lines that preceded this chunk's data

	out   []byte
	stats Stats
	err   error
}

// TranscodeOptions tell Transcode how to write.
type TranscodeOptions struct {
	Encoding Encoding
	// Header writes the encoding's header line (text: field names as in an
	// S3 object; CSV: the header row) before the first record, and again
	// when the format changes mid-stream. JSON has none.
	Header bool
	// Workers is the number of decode/encode goroutines; 0 means
	// GOMAXPROCS.
	Workers int
	// HeaderWritten is the format whose header the output already has
	// (from a previous file), so that it is not repeated.
	HeaderWritten flow.Format
}

// Transcode reads a flow log stream (plain text, gzip text or Parquet) and
// writes every record to dst as one line in the chosen encoding, in input
// order. For text input, one goroutine decompresses and splits lines while
// Workers goroutines decode and encode blocks of lines in parallel; Parquet
// input is read sequentially. Errors and lenient mode are as for Reader.
func Transcode(dst io.Writer, src io.Reader, opt Options, to TranscodeOptions) (Stats, error) {
	if opt.Name == "" {
		opt.Name = "input"
	}
	cnt := &countio.Reader{R: src}
	br := bufio.NewReaderSize(cnt, readBufSize)
	kind := sniff(br)
	if kind == KindParquet {
		return transcodeSequential(dst, src, br, opt, to)
	}
	text, gz, err := openText(br, cnt, kind, opt.Name)
	if err != nil {
		return Stats{}, err
	}
	workers := to.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &pipeline{
		opt:     opt,
		to:      to,
		src:     text,
		work:    make(chan *chunk, workers*2),
		results: make(chan *chunk, workers*2),
		done:    make(chan struct{}),
		free:    make(chan []byte, workers*4+4),
	}
	for range cap(p.free) {
		p.free <- make([]byte, chunkSize)
	}
	go p.split()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.worker()
		}()
	}
	go func() {
		wg.Wait()
		close(p.results)
	}()
	stats, err := p.write(dst)
	// Stop the splitter and workers; they exit on their own (the splitter
	// after its current read).
	close(p.done)
	// Without an error, write saw results closed, which happens after the
	// splitter returned: gz is no longer in use.
	if err == nil && gz != nil && gz.trailing != nil {
		stats.Warnings = append(stats.Warnings, gz.trailing)
	}
	return stats, err
}

type pipeline struct {
	opt     Options
	to      TranscodeOptions
	src     io.Reader
	work    chan *chunk
	results chan *chunk
	done    chan struct{}
	free    chan []byte
	outPool sync.Pool
}

func (p *pipeline) send(c *chunk) bool {
	select {
	case p.work <- c:
		return true
	case <-p.done:
		return false
	}
}

func (p *pipeline) getBuf() ([]byte, bool) {
	select {
	case b := <-p.free:
		return b, true
	case <-p.done:
		return nil, false
	}
}

// split reads the decompressed text, cuts it into chunks of whole lines,
// numbers them and resolves header lines, which end a chunk and change
// the format of the following ones.
func (p *pipeline) split() {
	defer close(p.work)
	format := p.opt.Format
	if format.IsZero() {
		format = flow.DefaultFormat
	}
	seq, line := 0, 1
	headers := 0
	var carry []byte // partial last line of the previous read
	eof, first := false, true
	for !eof {
		buf, ok := p.getBuf()
		if !ok {
			return
		}
		n := copy(buf, carry)
		if n < len(carry) { // a line longer than the buffer
			buf = append(buf[:n], carry[n:]...)
			buf = buf[:cap(buf)]
			n = len(carry)
		}
		carry = carry[:0]
		var err error
		for {
			// Fill the buffer. Only io.EOF ends the input: a truncated gzip
			// stream reports io.ErrUnexpectedEOF, which is an error.
			for n < len(buf) && err == nil {
				var m int
				m, err = p.src.Read(buf[n:])
				n += m
			}
			if err == io.EOF {
				eof, err = true, nil
				break
			}
			if err != nil {
				break
			}
			if bytes.IndexByte(buf[:n], '\n') >= 0 {
				break
			}
			// no newline in a full buffer: grow it
			buf = append(buf[:n], make([]byte, len(buf))...)
			buf = buf[:cap(buf)]
		}
		data := buf[:n]
		if first {
			data = bytes.TrimPrefix(data, []byte(utf8BOM))
			first = false
		}
		// A read (decompression) error still lets the whole lines before
		// it through, as the Reader does; the partial line is dropped.
		readErr := err
		if !eof {
			cut := bytes.LastIndexByte(data, '\n') + 1
			if readErr == nil {
				carry = append(carry, data[cut:]...)
			}
			data = data[:cut]
		}
		// Walk the lines: count them and cut at header lines.
		start, startLine := 0, line
		for off := 0; off < len(data); {
			end := bytes.IndexByte(data[off:], '\n')
			next := len(data)
			if end >= 0 {
				end += off
				next = end + 1
			} else {
				end = len(data)
			}
			l := data[off:end]
			if mayBeHeader(l) {
				if class, hf := classify(l, p.opt.AllowComments); class == lineHeader {
					if off > start {
						rest := bytes.Clone(data[next:])
						c := &chunk{seq: seq, buf: buf, data: data[start:off], firstLine: startLine, format: format, headers: headers}
						seq++
						headers = 0
						if !p.send(c) {
							return
						}
						var ok bool
						if buf, ok = p.getBuf(); !ok {
							return
						}
						if len(rest) > len(buf) {
							p.free <- buf // never blocks: it came from there
							buf = make([]byte, len(rest))
						}
						data = buf[:copy(buf, rest)]
						next = 0
					}
					headers++
					if p.opt.Format.IsZero() {
						format = hf
					}
					start = next
					line++
					startLine = line
					off = next
					continue
				}
			}
			line++
			off = next
		}
		c := &chunk{seq: seq, buf: buf, data: data[start:], firstLine: startLine, format: format, headers: headers}
		seq++
		headers = 0
		if !p.send(c) {
			return
		}
		if readErr != nil {
			p.send(&chunk{seq: seq, firstLine: line, format: format, err: withLine(readErr, p.opt.Name, line-1)})
			return
		}
	}
}

// mayBeHeader is classify's first test, cheap enough for every line: the
// first byte after leading blanks is a lower-case letter (as in the
// Reader, a header line may be indented).
func mayBeHeader(l []byte) bool {
	for _, c := range l {
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			continue
		case c >= 'a' && c <= 'z':
			return true
		}
		return false
	}
	return false
}

func (p *pipeline) worker() {
	var dec *flow.Decoder
	var rec flow.Record
	for c := range p.work {
		if c.err == nil {
			if dec == nil || !dec.Format().Equal(c.format) {
				dec = flow.NewDecoder(c.format)
				dec.AllowComments(p.opt.AllowComments)
			}
			p.process(c, dec, &rec)
		}
		select {
		case p.results <- c:
		case <-p.done:
		}
	}
}

func (p *pipeline) process(c *chunk, dec *flow.Decoder, rec *flow.Record) {
	out, _ := p.outPool.Get().([]byte)
	out = out[:0]
	enc := p.to.Encoding
	data := c.data
	lineNo := c.firstLine
	c.stats.Headers = c.headers
	c.stats.Lines = c.headers
	for len(data) > 0 {
		end := bytes.IndexByte(data, '\n')
		var l []byte
		if end < 0 {
			l, data = data, nil
		} else {
			l, data = data[:end], data[end+1:]
		}
		c.stats.Lines++
		if len(l) == 0 || l[0] == ' ' || l[0] == '\t' || l[0] == '\r' || l[0] == '#' {
			if class, _ := classify(l, p.opt.AllowComments); class == lineBlank || class == lineComment {
				lineNo++
				continue
			}
		}
		if err := dec.Decode(l, rec); err != nil {
			if he := badHeader(l); he != nil {
				err = he
			}
			err = positioned(err, p.opt.Name, lineNo)
			if !p.opt.Lenient {
				c.err = err
				break
			}
			c.stats.Skipped++
			if len(c.stats.Errors) < MaxKeptErrors {
				c.stats.Errors = append(c.stats.Errors, err)
			}
			lineNo++
			continue
		}
		c.stats.Records++
		out = enc.Append(out, c.format, rec)
		out = append(out, '\n')
		lineNo++
	}
	c.out = out
}

// write collects results in input order and writes them out.
func (p *pipeline) write(dst io.Writer) (stats Stats, err error) {
	pending := map[int]*chunk{}
	next := 0
	written := p.to.HeaderWritten // format of the last header written
	wroteAny := false
	var last flow.Format
	writeHeader := func(f flow.Format) error {
		if !p.to.Header || written.Equal(f) {
			return nil
		}
		h, ok := p.to.Encoding.Header(f)
		if !ok {
			return nil
		}
		written = f
		_, err := io.WriteString(dst, h+"\n")
		return err
	}
	defer func() { stats.Format = written }()
	for c := range p.results {
		pending[c.seq] = c
		for {
			c, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			stats.add(c.stats)
			last = c.format
			if len(c.out) > 0 {
				if err := writeHeader(c.format); err != nil {
					return stats, err
				}
				if _, err := dst.Write(c.out); err != nil {
					return stats, err
				}
				wroteAny = true
			}
			if c.err != nil {
				return stats, c.err
			}
			p.outPool.Put(c.out[:0])
			if cap(c.buf) >= chunkSize {
				select {
				case p.free <- c.buf[:cap(c.buf)]:
				default:
				}
			}
		}
	}
	if !wroteAny && !last.IsZero() {
		if err := writeHeader(last); err != nil {
			return stats, err
		}
	} else if !wroteAny && p.to.Header {
		f := p.opt.Format
		if f.IsZero() {
			f = flow.DefaultFormat
		}
		if err := writeHeader(f); err != nil {
			return stats, err
		}
	}
	return stats, nil
}

// transcodeSequential handles Parquet input with a Reader.
func transcodeSequential(dst io.Writer, src io.Reader, br *bufio.Reader, opt Options, to TranscodeOptions) (Stats, error) {
	pq, err := openParquetSource(src, br, opt)
	if err != nil {
		return Stats{}, err
	}
	rd := &Reader{opt: opt, kind: KindParquet, pq: pq, format: pq.format, started: true}
	lw := NewLineWriter(dst, pq.format, to.Encoding, to.Header, false)
	for rd.Next() {
		if err := lw.Write(rd.Record()); err != nil {
			return rd.Stats(), err
		}
	}
	if err := rd.Err(); err != nil {
		lw.Close()
		return rd.Stats(), err
	}
	return rd.Stats(), lw.Close()
}
