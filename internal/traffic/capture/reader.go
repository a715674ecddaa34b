// Package capture reads pcap and pcapng captures (gopacket's pure-Go pcapgo,
// no libpcap) and decodes each frame into a traffic.Packet on the capture's
// own clock. It also writes deterministic synthetic captures (Generate) for
// tests and benchmarks.
package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"vpcflow/internal/traffic"
)

// ErrCapture marks a capture that cannot be read further: a bad header, a
// truncated file or an unsupported link type.
var ErrCapture = errors.New("unreadable capture")

// Error is a fatal problem in a capture file, located by packet number
// (1-based; 0 for the file header) and byte offset of the record.
type Error struct {
	File   string
	Packet int
	Offset int64
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	where := e.File
	if where == "" {
		where = "capture"
	}
	if e.Packet > 0 {
		return fmt.Sprintf("%s: packet %d at byte offset %d: %s", where, e.Packet, e.Offset, e.Msg)
	}
	return fmt.Sprintf("%s: byte offset %d: %s", where, e.Offset, e.Msg)
}

// Unwrap returns ErrCapture and the cause.
func (e *Error) Unwrap() []error { return []error{ErrCapture, e.Err} }

// Skip describes one frame that was read but could not be turned into a
// packet (not IP, truncated headers, a fragment without ports).
type Skip struct {
	Packet int
	Offset int64
	Reason string
}

// Stats counts what a Reader did.
type Stats struct {
	Frames  int            // records read
	Packets int            // decoded IP packets returned
	Skipped map[string]int // frames not returned, by reason
	// Examples are the first skipped frames (at most 10), for reports.
	Examples []Skip
	// Truncated counts returned packets whose capture was shorter than the
	// original (snap length); their sizes come from the IP header.
	Truncated int
	// LengthClamped counts returned packets whose IP length claimed more
	// bytes than the frame carried on the wire (its original length less
	// the link header); their size is what the frame carried.
	LengthClamped int
	// Untimed counts frames of pcapng simple packet blocks, which have no
	// timestamp; they take the time of the frame before them.
	Untimed int
}

// SkippedTotal sums Skipped.
func (s *Stats) SkippedTotal() int {
	n := 0
	for _, v := range s.Skipped {
		n += v
	}
	return n
}

type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Reader decodes a pcap or pcapng stream.
type Reader struct {
	name     string
	src      packetReader
	count    *countingReader
	buf      *bufio.Reader
	ng       bool
	gz       bool
	linkType layers.LinkType
	pos      int64 // offset of the next record
	stats    Stats
	fr       *ngFramer       // pcapng only
	gzc      *countingReader // the decompressed stream, gzip only
	last     time.Time       // pcapng only: time of the last frame
	drained  bool            // the gzip stream was read on after an error
	// slowOnly turns fastDecode off (tests compare the two decoders).
	slowOnly bool

	eth    layers.Ethernet
	dot1q  layers.Dot1Q
	sll    layers.LinuxSLL
	loop   layers.Loopback
	ip4    layers.IPv4
	ip6    layers.IPv6
	tcp    layers.TCP
	udp    layers.UDP
	icmp4  layers.ICMPv4
	icmp6  layers.ICMPv6
	parser map[layers.LinkType]*gopacket.DecodingLayerParser
	raw6   *gopacket.DecodingLayerParser
	types  []gopacket.LayerType
}

type countingReader struct {
	r   io.Reader
	n   int64
	err error // the first error other than io.EOF
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// Supported link types.
var supported = map[layers.LinkType]string{
	layers.LinkTypeEthernet: "Ethernet",
	layers.LinkTypeRaw:      "raw IP",
	layers.LinkTypeIPv4:     "raw IPv4",
	layers.LinkTypeIPv6:     "raw IPv6",
	layers.LinkTypeLinuxSLL: "Linux cooked (SLL)",
	layers.LinkTypeNull:     "BSD loopback",
	layers.LinkTypeLoop:     "OpenBSD loopback",
	layers.LinkType(12):     "raw IP (12)",
	layers.LinkType(14):     "raw IP (14)",
}

const bufSize = 256 << 10

// NewReader detects pcap, pcapng (either possibly gzip-compressed) and reads
// the file header. name is used in error messages.
func NewReader(r io.Reader, name string) (*Reader, error) {
	rd := &Reader{name: name, stats: Stats{Skipped: map[string]int{}}}
	rd.count = &countingReader{r: r}
	var in io.Reader = rd.count
	peek := bufio.NewReaderSize(in, bufSize)
	magic, err := peek.Peek(4)
	if err != nil {
		if err != io.EOF {
			// A directory, say: "read x: is a directory".
			return nil, &Error{File: name, Msg: "cannot read: " + err.Error(), Err: err}
		}
		return nil, &Error{File: name, Msg: "too short for a capture file header", Err: err}
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(peek)
		if err != nil {
			return nil, &Error{File: name, Msg: "bad gzip header: " + err.Error(), Err: err}
		}
		rd.gz = true
		rd.count = &countingReader{r: zr}
		rd.gzc = rd.count
		peek = bufio.NewReaderSize(rd.count, bufSize)
		if magic, err = peek.Peek(4); err != nil {
			if rd.gzc.err != nil {
				return nil, &Error{File: name, Msg: rd.gzipMsg(), Err: rd.gzc.err}
			}
			return nil, &Error{File: name, Msg: "compressed data too short for a capture file header", Err: err}
		}
	}
	rd.buf = peek
	switch m := binary.LittleEndian.Uint32(magic); m {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		pr, err := pcapgo.NewReader(peek)
		if err != nil {
			if rd.gzc != nil && rd.gzc.err != nil {
				return nil, &Error{File: name, Msg: rd.gzipMsg(), Err: rd.gzc.err}
			}
			return nil, &Error{File: name, Msg: "bad pcap header: " + err.Error(), Err: err}
		}
		// pcapgo reads the file header; the records are ours (pcapRecords).
		rd.linkType = pr.LinkType()
		rd.src = &pcapRecords{buf: peek, big: m == 0xd4c3b2a1 || m == 0x4d3cb2a1, nanos: m == 0xa1b23c4d || m == 0x4d3cb2a1,
			snap: pr.Snaplen(), maxCap: max(int(pr.Snaplen()), 262144)}
	case 0x0a0d0d0a:
		// pcapgo reads through the framer (see ngFramer); it uses the
		// bufio.Reader it is given as it is. The framer reads from under
		// peek (after what peek holds) so that bytes are copied once.
		head, _ := peek.Peek(peek.Buffered())
		rd.fr = newNgFramer(io.MultiReader(bytes.NewReader(bytes.Clone(head)), rd.count))
		rd.count = &countingReader{r: rd.fr}
		rd.buf = bufio.NewReaderSize(rd.count, bufSize)
		nr, err := pcapgo.NewNgReader(rd.buf, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			var be *blockError
			switch {
			case rd.gzc != nil && rd.gzc.err != nil:
				return nil, &Error{File: name, Msg: rd.gzipMsg(), Err: rd.gzc.err}
			case errors.As(rd.fr.err, &be) && rd.consumed() == rd.count.n:
				return nil, &Error{File: name, Offset: be.Off, Msg: be.Msg, Err: be}
			}
			return nil, &Error{File: name, Msg: "bad pcapng section header: " + err.Error(), Err: err}
		}
		rd.src, rd.ng, rd.linkType = nr, true, nr.LinkType()
	default:
		return nil, &Error{File: name, Msg: fmt.Sprintf("not a pcap or pcapng file (magic %08x)", m), Err: ErrCapture}
	}
	rd.pos = rd.consumed()
	if !rd.ng {
		if _, ok := supported[rd.linkType]; !ok {
			return nil, rd.unsupported(0, rd.pos, rd.linkType)
		}
	}
	rd.parser = map[layers.LinkType]*gopacket.DecodingLayerParser{}
	return rd, nil
}

func (r *Reader) unsupported(n int, off int64, lt layers.LinkType) error {
	return &Error{File: r.name, Packet: n, Offset: off,
		Msg: fmt.Sprintf("unsupported link type %d (%s): supported are Ethernet (1), raw IP (101, 228, 229), Linux SLL (113) and loopback (0, 108)", int(lt), lt),
		Err: ErrCapture}
}

// consumed is the offset (in the uncompressed stream) of the next unread
// byte.
func (r *Reader) consumed() int64 { return r.count.n - int64(r.buf.Buffered()) }

// LinkType is the capture's (first interface's) link type.
func (r *Reader) LinkType() layers.LinkType { return r.linkType }

// Compressed reports whether the file was gzip-compressed; byte offsets
// then count uncompressed bytes.
func (r *Reader) Compressed() bool { return r.gz }

// Stats returns the counts so far.
func (r *Reader) Stats() *Stats { return &r.stats }

// rawIsIPv6 reports whether a frame of a raw-IP link type (which carries
// either version) holds IPv6, by its version nibble.
func rawIsIPv6(lt layers.LinkType, data []byte) bool {
	return (lt == layers.LinkTypeRaw || lt == 12 || lt == 14) && len(data) > 0 && data[0]>>4 == 6
}

func (r *Reader) parserFor(lt layers.LinkType, data []byte) *gopacket.DecodingLayerParser {
	if p := r.parser[lt]; p != nil {
		if rawIsIPv6(lt, data) {
			return r.raw6
		}
		return p
	}
	var first gopacket.LayerType
	switch lt {
	case layers.LinkTypeEthernet:
		first = layers.LayerTypeEthernet
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, 12, 14:
		first = layers.LayerTypeIPv4
	case layers.LinkTypeIPv6:
		first = layers.LayerTypeIPv6
	case layers.LinkTypeLinuxSLL:
		first = layers.LayerTypeLinuxSLL
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		first = layers.LayerTypeLoopback
	default:
		return nil
	}
	mk := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first, &r.eth, &r.dot1q, &r.sll, &r.loop, &r.ip4, &r.ip6, &r.tcp, &r.udp, &r.icmp4, &r.icmp6)
		p.IgnoreUnsupported = true
		return p
	}
	p := mk(first)
	r.parser[lt] = p
	if r.raw6 == nil {
		r.raw6 = mk(layers.LayerTypeIPv6)
	}
	return r.parserFor(lt, data)
}

func (r *Reader) skip(n int, off int64, reason string) {
	r.stats.Skipped[reason]++
	if len(r.stats.Examples) < 10 {
		r.stats.Examples = append(r.stats.Examples, Skip{Packet: n, Offset: off, Reason: reason})
	}
}

// maxUnixSec bounds the timestamps a Reader returns: time.UnixNano, which
// the flow logs' clock uses, cannot go past 2262.
const maxUnixSec = math.MaxInt64 / int64(time.Second)

// Next decodes the next IP packet into p, skipping (and counting) frames
// that carry none. It returns io.EOF at the end, or an *Error when the file
// cannot be read further.
func (r *Reader) Next(p *traffic.Packet) error {
	for {
		n := r.stats.Frames + 1
		off := r.pos
		data, ci, err := r.src.ZeroCopyReadPacketData()
		if err != nil {
			return r.failed(r.readError(n, off, err))
		}
		r.stats.Frames++
		r.pos = r.consumed()
		if r.fr != nil {
			// off is where the packets before ended; blocks pcapgo
			// skipped may lie between.
			if o, ok := r.fr.nextPacket(); ok {
				off = o
			}
		}
		if r.ng {
			if ci.Timestamp.IsZero() {
				// A simple packet block has no timestamp (pcapgo gives the
				// zero time): it was captured after the frame before it.
				if r.last.IsZero() {
					return r.failed(&Error{File: r.name, Packet: n, Offset: off, Err: ErrCapture,
						Msg: "simple packet block without a timestamp, and no packet before it to take the time from"})
				}
				ci.Timestamp = r.last
				r.stats.Untimed++
			} else if s := ci.Timestamp.Unix(); s < 0 || s >= maxUnixSec {
				// A bad if_tsoffset or if_tsresol; pcap's 32-bit seconds
				// cannot get here.
				return r.failed(&Error{File: r.name, Packet: n, Offset: off, Err: ErrCapture,
					Msg: fmt.Sprintf("timestamp %s is outside the years 1970 to 2262 (interface time offset or resolution?)", ci.Timestamp.Format(time.RFC3339))})
			}
			r.last = ci.Timestamp
		}
		lt := r.linkType
		if r.ng && len(ci.AncillaryData) > 0 {
			if v, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				lt = v
			}
		}
		// The bytes the frame had on the wire bound the IP length.
		wire := max(ci.Length, ci.CaptureLength)
		if r.slowOnly || !fastDecode(lt, data, wire, p) {
			parser := r.parserFor(lt, data)
			if parser == nil {
				return r.failed(r.unsupported(n, off, lt))
			}
			if reason := r.decode(parser, data, wire, p); reason != "" {
				r.skip(n, off, reason)
				continue
			}
		}
		if ci.CaptureLength < ci.Length {
			r.stats.Truncated++
		}
		p.Time = ci.Timestamp
		r.stats.Packets++
		return nil
	}
}

// failed returns err, the error that ends the reading, unless the gzip
// layer failed: whatever the data looked like, that is the cause.
func (r *Reader) failed(err error) error {
	if err == io.EOF || !r.gz {
		return err
	}
	gerr := r.gzipErr()
	if gerr == nil {
		return err
	}
	e := &Error{File: r.name, Packet: r.stats.Frames + 1, Offset: r.pos, Msg: r.gzipMsg(), Err: gerr}
	if ce, ok := err.(*Error); ok {
		e.Packet, e.Offset = ce.Packet, ce.Offset
	}
	return e
}

// readError turns the error that ended the reading of record n at off into
// io.EOF (a clean end) or an *Error saying what is wrong.
func (r *Reader) readError(n int, off int64, err error) error {
	if r.fr != nil {
		var be *blockError
		// The framer's error is the cause when pcapgo has read all it gave.
		if errors.As(r.fr.err, &be) && r.consumed() == r.count.n {
			return &Error{File: r.name, Packet: n, Offset: be.Off, Msg: be.Msg, Err: be}
		}
		if err == io.EOF { // the framer saw the last block complete
			return io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			// The blocks are whole, so pcapgo read past the end of one
			// (an option or record length larger than its block).
			return &Error{File: r.name, Packet: n, Offset: off, Err: err,
				Msg: "malformed pcapng block at or after this offset: a length inside it runs past the end of the block"}
		}
	} else if err == io.EOF && r.consumed() == r.pos {
		return io.EOF
	}
	if errors.Is(err, pcapgo.ErrNgLinkTypeMismatch) {
		return r.unsupported(n, off, 0)
	}
	msg := err.Error()
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = fmt.Sprintf("file ends inside the packet record (%d bytes after its start): truncated capture", r.consumed()-off)
	}
	return &Error{File: r.name, Packet: n, Offset: off, Msg: msg, Err: err}
}

// gzipDrain bounds how far gzipErr reads on: corrupt deflate data can
// decompress to garbage for a while before the gzip reader notices (at
// the latest at the checksum at the end of the stream).
const gzipDrain = 64 << 20

// gzipErr is the gzip layer's error, if it failed. When a read failed
// without one, it reads on (at most gzipDrain bytes): a capture error in a
// compressed file is often the gzip stream's fault.
func (r *Reader) gzipErr() error {
	if r.gzc.err == nil && !r.drained {
		r.drained = true
		io.CopyN(io.Discard, r.gzc, gzipDrain)
	}
	return r.gzc.err
}

func (r *Reader) gzipMsg() string {
	if r.gzc.err == io.ErrUnexpectedEOF {
		return fmt.Sprintf("the gzip stream ends early (after %d decompressed bytes): truncated capture", r.gzc.n)
	}
	return fmt.Sprintf("corrupt gzip stream (after %d decompressed bytes): %v", r.gzc.n, r.gzc.err)
}

// decode fills p from one frame, which had wire bytes on the wire, or says
// why it cannot.
func (r *Reader) decode(parser *gopacket.DecodingLayerParser, data []byte, wire int, p *traffic.Packet) string {
	err := parser.DecodeLayers(data, &r.types)
	var haveIP, haveL4 bool
	link := 0 // link header bytes before the IP header
	*p = traffic.Packet{}
	for _, t := range r.types {
		switch t {
		case layers.LayerTypeEthernet:
			link += len(r.eth.Contents)
		case layers.LayerTypeDot1Q:
			link += 4 // r.dot1q holds only the last of stacked tags
		case layers.LayerTypeLinuxSLL:
			link += len(r.sll.Contents)
		case layers.LayerTypeLoopback:
			link += len(r.loop.Contents)
		case layers.LayerTypeIPv4:
			if r.ip4.Version != 4 { // gopacket does not check it
				return "IP version is not 4 in an IPv4 frame"
			}
			haveIP = true
			p.Src = netip.AddrFrom4([4]byte(r.ip4.SrcIP.To4()))
			p.Dst = netip.AddrFrom4([4]byte(r.ip4.DstIP.To4()))
			p.Protocol = uint8(r.ip4.Protocol)
			p.Size = int(r.ip4.Length)
			if r.ip4.FragOffset != 0 {
				return "non-first IP fragment (no transport header)"
			}
		case layers.LayerTypeIPv6:
			if r.ip6.Version != 6 {
				return "IP version is not 6 in an IPv6 frame"
			}
			haveIP = true
			p.Src = addr16(r.ip6.SrcIP)
			p.Dst = addr16(r.ip6.DstIP)
			p.Protocol = uint8(r.ip6.NextHeader)
			p.Size = int(r.ip6.Length) + 40
			if r.ip6.Length == 0 { // jumbogram or zero: use the frame
				p.Size = len(r.ip6.Contents) + len(r.ip6.Payload)
			}
		case layers.LayerTypeTCP:
			haveL4 = true
			p.SrcPort, p.DstPort = uint16(r.tcp.SrcPort), uint16(r.tcp.DstPort)
			var f uint8
			if r.tcp.FIN {
				f |= traffic.FlagFIN
			}
			if r.tcp.SYN {
				f |= traffic.FlagSYN
			}
			if r.tcp.RST {
				f |= traffic.FlagRST
			}
			if r.tcp.PSH {
				f |= traffic.FlagPSH
			}
			if r.tcp.ACK {
				f |= traffic.FlagACK
			}
			if r.tcp.URG {
				f |= 0x20
			}
			if r.tcp.ECE {
				f |= 0x40
			}
			if r.tcp.CWR {
				f |= 0x80
			}
			p.TCPFlags = f
		case layers.LayerTypeUDP:
			haveL4 = true
			p.SrcPort, p.DstPort = uint16(r.udp.SrcPort), uint16(r.udp.DstPort)
		case layers.LayerTypeICMPv4:
			haveL4 = true
			p.ICMPType, p.ICMPCode = r.icmp4.TypeCode.Type(), r.icmp4.TypeCode.Code()
		case layers.LayerTypeICMPv6:
			haveL4 = true
			p.ICMPType, p.ICMPCode = r.icmp6.TypeCode.Type(), r.icmp6.TypeCode.Code()
		}
	}
	if !haveIP {
		if err != nil {
			return "undecodable link layer: " + shortErr(err)
		}
		return "not IP (" + lastType(r.types) + ")"
	}
	// gopacket stops without an error when nothing follows the IP
	// header (a 34-byte snap length): no ports either way.
	if !haveL4 && (p.Protocol == traffic.ProtoTCP || p.Protocol == traffic.ProtoUDP) {
		return "truncated transport header"
	}
	if !p.Src.IsValid() || !p.Dst.IsValid() {
		return "bad IP addresses"
	}
	// An IP length larger than the frame was on the wire is made up (or
	// the original length is wrong); count what the frame carried rather
	// than up to 64 KiB per packet.
	if room := max(wire, len(data)) - link; p.Size > room {
		p.Size = room
		r.stats.LengthClamped++
	}
	return ""
}

func addr16(b []byte) netip.Addr {
	if len(b) != 16 {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(b))
}

func lastType(ts []gopacket.LayerType) string {
	if len(ts) == 0 {
		return "no layers"
	}
	switch ts[len(ts)-1] {
	case layers.LayerTypeEthernet:
		return "Ethernet payload such as ARP or LLDP"
	case layers.LayerTypeLinuxSLL:
		return "SLL payload"
	}
	return ts[len(ts)-1].String()
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}
