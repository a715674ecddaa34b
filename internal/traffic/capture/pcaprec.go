package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
)

// pcapRecords reads the records of a pcap file straight from the Reader's
// buffer, as pcapgo's Reader would, with two differences: a sub-second
// field of 1e6 µs (1e9 ns) or more is an error (pcapgo adds it to the
// seconds), and a packet that fits in the buffer is not copied.
type pcapRecords struct {
	buf    *bufio.Reader
	big    bool // byte order
	nanos  bool // nanosecond timestamps
	snap   uint32
	maxCap int // pcapgo's bound on captured lengths: the snap length, at least 256 KiB
	large  bytes.Buffer
}

func (p *pcapRecords) u32(b []byte) uint32 {
	if p.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// ZeroCopyReadPacketData returns the next record; data is valid until the
// next call. At the end it returns io.EOF, inside a record a non-EOF error.
func (p *pcapRecords) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	var ci gopacket.CaptureInfo
	h, err := p.buf.Peek(16)
	if err != nil {
		p.buf.Discard(len(h))
		if err == io.EOF && len(h) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, ci, err
	}
	sub := p.u32(h[4:8])
	ns := int64(sub)
	if p.nanos {
		if sub >= 1e9 {
			return nil, ci, fmt.Errorf("nanoseconds field %d of the timestamp is not below 1000000000: malformed record header", sub)
		}
	} else {
		if sub >= 1e6 {
			return nil, ci, fmt.Errorf("microseconds field %d of the timestamp is not below 1000000: malformed record header", sub)
		}
		ns *= 1000
	}
	ci.Timestamp = time.Unix(int64(p.u32(h[0:4])), ns).UTC()
	ci.CaptureLength = int(p.u32(h[8:12]))
	ci.Length = int(p.u32(h[12:16]))
	if ci.CaptureLength > p.maxCap {
		return nil, ci, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, p.snap)
	}
	if ci.CaptureLength > ci.Length {
		return nil, ci, fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length)
	}
	p.buf.Discard(16)
	n := ci.CaptureLength
	if n <= p.buf.Size() {
		data, err := p.buf.Peek(n)
		p.buf.Discard(len(data))
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, ci, err
		}
		return data, ci, nil
	}
	// Larger than the buffer: copied, into a buffer that grows with what
	// arrives rather than to what the header says.
	p.large.Reset()
	if _, err := io.CopyN(&p.large, p.buf, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, ci, err
	}
	return p.large.Bytes(), ci, nil
}
