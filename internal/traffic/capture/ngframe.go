package capture

import (
	"encoding/binary"
	"fmt"
	"io"
)

// pcapng block types the framer looks into.
const (
	ngSHB = 0x0a0d0d0a
	ngIDB = 1
	ngPB  = 2 // obsolete Packet Block
	ngSPB = 3
	ngISB = 5
	ngEPB = 6
)

// blockError is a pcapng block whose framing is wrong, or which the file
// ends inside; Off is the block's start.
type blockError struct {
	Off int64
	Msg string
}

func (e *blockError) Error() string { return fmt.Sprintf("byte offset %d: %s", e.Off, e.Msg) }

// ngFramer checks the block structure of a pcapng stream on its way to
// pcapgo's NgReader, which trusts every length it reads, ignores the
// trailing copy of the block length and reads skipped blocks (statistics,
// unknown) without telling us: without the framer a file that ends with
// such a block looks truncated, and a bad length gives whatever error
// pcapgo runs into further on. The framer delivers the bytes before a bad
// block and then its error; at the end of the stream it knows whether the
// last block is complete.
type ngFramer struct {
	r     io.Reader
	start int64    // offset of the current block
	in    int64    // bytes of the current block seen
	hdr   [24]byte // its first bytes
	need  int      // header bytes to collect before the next check
	typ   uint32
	total int64 // block total length; 0 while unknown
	trl   [4]byte
	big   bool   // the section's byte order
	snap0 uint32 // the section's first interface's snap length (for SPB)
	idbs  int    // interfaces seen in the section
	err   error  // sticky: a *blockError or the source's error
	// pkts are the offsets of the packet blocks seen and not yet taken
	// by nextPacket, from head on.
	pkts []int64
	head int
}

func newNgFramer(r io.Reader) *ngFramer { return &ngFramer{r: r, need: 8} }

func (f *ngFramer) u32(b []byte) uint32 {
	if f.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (f *ngFramer) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.r.Read(p)
	if i, ferr := f.scan(p[:n]); ferr != nil {
		f.err = ferr
		return i, ferr
	}
	if err == io.EOF && f.in > 0 {
		if f.total == 0 {
			err = f.fail("file ends inside a block header (%d bytes after its start): truncated capture", f.in)
		} else {
			err = f.fail("file ends inside the %s (%d of its %d bytes): truncated capture", f.name(), f.in, f.total)
		}
	}
	if err != nil {
		f.err = err
	}
	return n, err
}

func (f *ngFramer) fail(format string, args ...any) error {
	return &blockError{Off: f.start, Msg: fmt.Sprintf(format, args...)}
}

// scan follows the blocks through b; on a framing error it returns how
// many bytes of b come before the byte that revealed it.
func (f *ngFramer) scan(b []byte) (int, error) {
	i := 0
	for i < len(b) {
		if f.in == 0 {
			i += f.wholeEPBs(b[i:])
			if i == len(b) {
				break
			}
		}
		switch {
		case f.in < int64(f.need): // header fields
			k := copy(f.hdr[f.in:f.need], b[i:])
			i += k
			f.in += int64(k)
			if f.in == int64(f.need) {
				if err := f.header(); err != nil {
					return i, err
				}
			}
		case f.in < f.total-4: // body
			k := int(min(int64(len(b)-i), f.total-4-f.in))
			i += k
			f.in += int64(k)
		default: // trailing length
			k := copy(f.trl[f.in-(f.total-4):], b[i:])
			i += k
			f.in += int64(k)
			if f.in == f.total {
				if end := int64(f.u32(f.trl[:])); end != f.total {
					// Hold back the last byte: pcapgo must not finish
					// the block (and return its packet).
					return i - 1, f.fail("%s: total length %d at its start but %d at its end", f.name(), f.total, end)
				}
				f.start += f.total
				f.in, f.need, f.total, f.typ = 0, 8, 0, 0
			}
		}
	}
	return i, nil
}

// wholeEPBs skips the well-formed enhanced packet blocks that lie whole at
// the start of b, the common case, and returns their length; the state
// machine in scan takes everything else, and says what is wrong.
func (f *ngFramer) wholeEPBs(b []byte) int {
	i := 0
	for len(b)-i >= 32 && f.u32(b[i:]) == ngEPB {
		total := int(f.u32(b[i+4:]))
		if total < 32 || total%4 != 0 || total > len(b)-i ||
			int(f.u32(b[i+20:])) > total-32 || int(f.u32(b[i+total-4:])) != total {
			break
		}
		f.pkts = append(f.pkts, f.start)
		f.start += int64(total)
		i += total
	}
	return i
}

// header checks the block once f.need header bytes are in, and may ask for
// more of them.
func (f *ngFramer) header() error {
	if f.total == 0 {
		f.typ = binary.LittleEndian.Uint32(f.hdr[0:4]) // the SHB type reads the same both ways
		if f.typ == ngSHB {
			if f.need < 12 {
				f.need = 12 // the byte order magic
				return nil
			}
			switch bom := binary.LittleEndian.Uint32(f.hdr[8:12]); bom {
			case 0x1a2b3c4d:
				f.big = false
			case 0x4d3c2b1a:
				f.big = true
			default:
				return f.fail("section header block: byte order magic %08x is not 1a2b3c4d in either byte order", bom)
			}
			f.snap0, f.idbs = 0, 0
		} else {
			f.typ = f.u32(f.hdr[0:4])
		}
		f.total = int64(f.u32(f.hdr[4:8]))
		fixed := int64(12)
		switch f.typ {
		case ngSHB:
			fixed = 28
		case ngIDB:
			fixed = 20
		case ngSPB:
			fixed = 16
		case ngISB:
			fixed = 24
		case ngEPB, ngPB:
			fixed = 32
		}
		if f.total < fixed {
			return f.fail("%s: total length %d is shorter than its fixed fields (%d bytes)", f.name(), f.total, fixed)
		}
		if f.total%4 != 0 {
			return f.fail("%s: total length %d is not a multiple of 4", f.name(), f.total)
		}
		switch f.typ {
		case ngEPB, ngPB:
			f.need = 24 // up to the captured length
		case ngSPB:
			f.need = 12
		case ngIDB:
			f.need = 16
		}
		if f.in < int64(f.need) {
			return nil
		}
	}
	switch f.typ {
	case ngEPB, ngPB:
		if c := int64(f.u32(f.hdr[20:24])); c > f.total-32 {
			return f.fail("%s: captured length %d does not fit in the %d-byte block", f.name(), c, f.total)
		}
		f.pkts = append(f.pkts, f.start)
	case ngSPB:
		// The packet is cut to the first interface's snap length (pcapgo
		// reads that many bytes whatever the block length says).
		c := f.u32(f.hdr[8:12])
		if f.snap0 != 0 {
			c = min(c, f.snap0)
		}
		if int64(c) > f.total-16 {
			return f.fail("%s: packet length %d does not fit in the %d-byte block", f.name(), c, f.total)
		}
		f.pkts = append(f.pkts, f.start)
	case ngIDB:
		if f.idbs == 0 {
			f.snap0 = f.u32(f.hdr[12:16])
		}
		f.idbs++
	}
	return nil
}

// nextPacket returns the offset of the next packet block: pcapgo returns
// one packet for each, in order.
func (f *ngFramer) nextPacket() (int64, bool) {
	if f.head == len(f.pkts) {
		return 0, false
	}
	off := f.pkts[f.head]
	f.head++
	if f.head >= 1024 && f.head*2 >= len(f.pkts) {
		f.pkts = f.pkts[:copy(f.pkts, f.pkts[f.head:])]
		f.head = 0
	}
	return off, true
}

func (f *ngFramer) name() string {
	switch f.typ {
	case ngSHB:
		return "section header block"
	case ngIDB:
		return "interface description block"
	case ngPB:
		return "packet block"
	case ngSPB:
		return "simple packet block"
	case 4:
		return "name resolution block"
	case ngISB:
		return "interface statistics block"
	case ngEPB:
		return "enhanced packet block"
	case 0x0a:
		return "decryption secrets block"
	}
	return fmt.Sprintf("block of type 0x%08x", f.typ)
}
