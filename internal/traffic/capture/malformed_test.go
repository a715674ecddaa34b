package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/traffic"
)

// Captures near the edges of the formats, written by hand: pcapng block
// framing, snap lengths that cut headers, lengths and times that do not
// add up. Each is also a FuzzDecode seed (TestMalformedSeeds).

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// ipv4Frame is an Ethernet frame with an IPv4 header (total length from
// the bytes unless ipLen > 0) and l4 after it.
func ipv4Frame(proto byte, l4 []byte, ipLen int) []byte {
	b := make([]byte, 14+20, 14+20+len(l4))
	b[0], b[6] = 2, 2
	b[12], b[13] = 0x08, 0x00
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, proto
	if ipLen == 0 {
		ipLen = 20 + len(l4)
	}
	binary.BigEndian.PutUint16(ip[2:4], uint16(ipLen))
	copy(ip[12:16], []byte{198, 51, 100, 7})
	copy(ip[16:20], []byte{10, 0, 10, 15})
	return append(b, l4...)
}

func tcpHeader(sport, dport uint16, flags byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:2], sport)
	binary.BigEndian.PutUint16(h[2:4], dport)
	h[12], h[13] = 5<<4, flags
	return h
}

func udpHeader(sport, dport uint16, payload int) []byte {
	h := make([]byte, 8+payload)
	binary.BigEndian.PutUint16(h[0:2], sport)
	binary.BigEndian.PutUint16(h[2:4], dport)
	binary.BigEndian.PutUint16(h[4:6], uint16(8+payload))
	return h
}

// testFrames are a few TCP and UDP packets.
func testFrames() [][]byte {
	return [][]byte{
		ipv4Frame(6, tcpHeader(40000, 443, traffic.FlagSYN), 0),
		ipv4Frame(17, udpHeader(5353, 53, 30), 0),
		ipv4Frame(6, append(tcpHeader(40000, 443, traffic.FlagACK|traffic.FlagPSH), make([]byte, 100)...), 0),
	}
}

// pcapRec is one pcap record; orig 0 means the captured length.
type pcapRec struct {
	sec, sub uint32
	data     []byte
	orig     int
}

// pcapFile writes a pcap file in either byte order and resolution.
func pcapFile(big, nanos bool, snap uint32, recs ...pcapRec) []byte {
	var o binary.AppendByteOrder = binary.LittleEndian
	if big {
		o = binary.BigEndian
	}
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	b := o.AppendUint32(nil, magic)
	b = o.AppendUint16(b, 2)
	b = o.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = o.AppendUint32(b, snap)
	b = o.AppendUint32(b, 1) // Ethernet
	for _, r := range recs {
		orig := r.orig
		if orig == 0 {
			orig = len(r.data)
		}
		b = o.AppendUint32(b, r.sec)
		b = o.AppendUint32(b, r.sub)
		b = o.AppendUint32(b, uint32(len(r.data)))
		b = o.AppendUint32(b, uint32(orig))
		b = append(b, r.data...)
	}
	return b
}

// ngFile builds a pcapng file block by block.
type ngFile struct {
	o    binary.AppendByteOrder
	b    []byte
	offs []int // block starts
}

func newNg(big bool) *ngFile {
	f := &ngFile{o: binary.LittleEndian}
	if big {
		f.o = binary.BigEndian
	}
	return f.shb()
}

// raw appends a block with the given total lengths at both ends.
func (f *ngFile) raw(typ uint32, body []byte, lead, trail uint32) *ngFile {
	f.offs = append(f.offs, len(f.b))
	f.b = f.o.AppendUint32(f.b, typ)
	f.b = f.o.AppendUint32(f.b, lead)
	f.b = append(f.b, body...)
	f.b = f.o.AppendUint32(f.b, trail)
	return f
}

func (f *ngFile) block(typ uint32, body []byte) *ngFile {
	body = append(body, make([]byte, (4-len(body)%4)%4)...)
	n := uint32(12 + len(body))
	return f.raw(typ, body, n, n)
}

func (f *ngFile) shb() *ngFile {
	body := f.o.AppendUint32(nil, 0x1a2b3c4d)
	body = f.o.AppendUint16(body, 1)
	body = f.o.AppendUint16(body, 0)
	body = append(body, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	return f.block(ngSHB, body)
}

// opt is a block option; options end with opt(0, nil).
func (f *ngFile) opt(code uint16, v []byte) []byte {
	b := f.o.AppendUint16(nil, code)
	b = f.o.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	return append(b, make([]byte, (4-len(v)%4)%4)...)
}

func (f *ngFile) idb(snap uint32, opts ...[]byte) *ngFile {
	body := f.o.AppendUint16(nil, 1) // Ethernet
	body = f.o.AppendUint16(body, 0)
	body = f.o.AppendUint32(body, snap)
	for _, o := range opts {
		body = append(body, o...)
	}
	return f.block(ngIDB, body)
}

func (f *ngFile) epbBody(ts time.Time, data []byte, orig int) []byte {
	us := uint64(ts.UnixMicro())
	body := f.o.AppendUint32(nil, 0)
	body = f.o.AppendUint32(body, uint32(us>>32))
	body = f.o.AppendUint32(body, uint32(us))
	body = f.o.AppendUint32(body, uint32(len(data)))
	body = f.o.AppendUint32(body, uint32(max(orig, len(data))))
	return append(body, data...)
}

func (f *ngFile) epb(ts time.Time, data []byte, orig int) *ngFile {
	return f.block(ngEPB, f.epbBody(ts, data, orig))
}

func (f *ngFile) spb(data []byte) *ngFile {
	return f.block(ngSPB, append(f.o.AppendUint32(nil, uint32(len(data))), data...))
}

// isb is an interface statistics block as dumpcap writes it at the end
// of a capture.
func (f *ngFile) isb(ts time.Time) *ngFile {
	us := uint64(ts.UnixMicro())
	tsb := f.o.AppendUint32(f.o.AppendUint32(nil, uint32(us>>32)), uint32(us))
	body := append(f.o.AppendUint32(nil, 0), tsb...)
	body = append(body, f.opt(2, tsb)...)                         // isb_starttime
	body = append(body, f.opt(3, tsb)...)                         // isb_endtime
	body = append(body, f.opt(4, f.o.AppendUint64(nil, 1000))...) // isb_ifrecv
	body = append(body, f.opt(5, f.o.AppendUint64(nil, 0))...)    // isb_ifdrop
	body = append(body, f.opt(1, []byte("Counters provided by dumpcap"))...)
	body = append(body, f.opt(0, nil)...)
	return f.block(ngISB, body)
}

// packets appends an EPB for each frame, a millisecond apart.
func (f *ngFile) packets(frames [][]byte) *ngFile {
	for i, b := range frames {
		f.epb(t0.Add(time.Duration(i)*time.Millisecond), b, 0)
	}
	return f
}

// readCapture reads b to the end with both decoders (which must agree)
// and returns the packets, stats and final error (nil at io.EOF).
func readCapture(t *testing.T, b []byte) ([]traffic.Packet, *Stats, error) {
	t.Helper()
	pkts, st, err := readAll(t, b, false)
	if err == nil || errors.Is(err, ErrCapture) {
		sameReads(t, b)
	}
	if err != nil && !errors.Is(err, ErrCapture) {
		t.Fatalf("error %v is not a capture error", err)
	}
	return pkts, st, err
}

// wantError checks err is an *Error at packet n and offset off whose
// message holds each of msgs.
func wantError(t *testing.T, err error, n int, off int64, msgs ...string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, ErrCapture) {
		t.Fatalf("error %v is not a capture error", err)
	}
	if ce.Packet != n || ce.Offset != off {
		t.Errorf("error at packet %d offset %d, want packet %d offset %d: %v", ce.Packet, ce.Offset, n, off, err)
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not say %q", err, m)
		}
	}
}

// ngTrailers are complete pcapng files whose last block is not a packet.
func ngTrailers(big bool) map[string]*ngFile {
	frames := testFrames()
	return map[string]*ngFile{
		"isb":     newNg(big).idb(65535).packets(frames).isb(t0.Add(time.Second)),
		"unknown": newNg(big).idb(65535).packets(frames).block(0x0badbeef, []byte("hello")),
		"custom":  newNg(big).idb(65535).packets(frames).block(0x00000bad, []byte{0, 0, 0x7e, 0xd9, 1, 2}),
		"idb":     newNg(big).idb(65535).packets(frames).idb(0),
		"nrb":     newNg(big).idb(65535).packets(frames).block(4, []byte{0, 0, 0, 0}),
		"shb":     newNg(big).idb(65535).packets(frames).shb(),
		"isb-mid": newNg(big).idb(65535).packets(frames[:1]).isb(t0).packets(frames[1:]).isb(t0),
	}
}

// TestPcapngTrailingBlocks: a pcapng file that ends with a complete
// non-packet block (dumpcap ends every capture with statistics) ends
// cleanly; cut anywhere inside its last block it is a truncated capture
// located at that block.
func TestPcapngTrailingBlocks(t *testing.T) {
	for _, big := range []bool{false, true} {
		for name, f := range ngTrailers(big) {
			t.Run(fmt.Sprintf("%s/big=%v", name, big), func(t *testing.T) {
				pkts, _, err := readCapture(t, f.b)
				if err != nil || len(pkts) != 3 {
					t.Fatalf("read %d packets, error %v; want 3 and a clean end", len(pkts), err)
				}
				last := f.offs[len(f.offs)-1]
				for cut := last + 1; cut < len(f.b); cut++ {
					_, _, err := readAll(t, f.b[:cut], false)
					wantError(t, err, 4, int64(last), "truncated capture")
					if t.Failed() {
						t.Fatalf("cut at %d of %d", cut, len(f.b))
					}
				}
				if _, _, err := readAll(t, f.b[:last], false); err != nil {
					t.Errorf("cut at the last block's start: %v", err)
				}
			})
		}
	}
}

// TestPcapngTruncatedPacket: an EPB cut anywhere, including right after
// its fixed fields (no packet bytes at all), is reported at its offset.
func TestPcapngTruncatedPacket(t *testing.T) {
	f := newNg(false).idb(65535).packets(testFrames())
	last := f.offs[len(f.offs)-1]
	for cut := last + 1; cut < len(f.b); cut++ {
		pkts, _, err := readAll(t, f.b[:cut], false)
		if len(pkts) != 2 {
			t.Errorf("cut at %d: read %d packets before the cut, want 2", cut, len(pkts))
		}
		what := "enhanced packet block"
		if cut < last+8 {
			what = "block header"
		}
		wantError(t, err, 3, int64(last), "truncated capture", what)
	}
	// The fixed fields only.
	_, _, err := readAll(t, f.b[:last+28], false)
	wantError(t, err, 3, int64(last), "file ends inside the enhanced packet block (28 of its")
	_, err = NewReader(bytes.NewReader(f.b[:10]), "x.pcapng")
	wantError(t, err, 0, 0, "file ends inside a block header (10 bytes after its start)")
}

// badNg are pcapng files with a block whose framing is wrong, with the
// message they must get (at the bad block, packet 2).
func badNg() map[string]struct {
	f   *ngFile
	msg string
} {
	frames := testFrames()
	good := func() *ngFile { return newNg(false).idb(65535).packets(frames[:1]) }
	epb := good().epbBody(t0, frames[1], 0)
	small := good().epbBody(t0, frames[1], 0)
	binary.LittleEndian.PutUint32(small[12:16], 5000)
	spbIDB := newNg(false).idb(65535).packets(frames[:1])
	spbBody := append(binary.LittleEndian.AppendUint32(nil, 500), frames[1]...)
	return map[string]struct {
		f   *ngFile
		msg string
	}{
		"below-12":     {good().raw(ngEPB, nil, 4, 4).packets(frames), "enhanced packet block: total length 4 is shorter than its fixed fields (32 bytes)"},
		"unknown-8":    {good().raw(0x0badbeef, nil, 8, 8), "block of type 0x0badbeef: total length 8 is shorter than its fixed fields (12 bytes)"},
		"not-4":        {good().raw(0x0badbeef, []byte("abcde"), 17, 17).packets(frames), "total length 17 is not a multiple of 4"},
		"mismatch":     {good().raw(ngEPB, epb[:len(epb)-len(epb)%4], uint32(12+len(epb)-len(epb)%4), 96).packets(frames), "at its start but 96 at its end"},
		"caplen":       {good().block(ngEPB, small).packets(frames), "enhanced packet block: captured length 5000 does not fit in the"},
		"epb-short":    {good().raw(ngEPB, make([]byte, 16), 28, 28).packets(frames), "total length 28 is shorter than its fixed fields (32 bytes)"},
		"spb-too-long": {spbIDB.block(ngSPB, spbBody).packets(frames), "simple packet block: packet length 500 does not fit in the"},
	}
}

// TestPcapngBadBlockLengths: a block whose lengths are wrong is reported
// at its offset with what is wrong, not as a truncated capture or an
// error pcapg runs into further on.
func TestPcapngBadBlockLengths(t *testing.T) {
	for name, c := range badNg() {
		t.Run(name, func(t *testing.T) {
			pkts, _, err := readCapture(t, c.f.b)
			if len(pkts) != 1 {
				t.Errorf("read %d packets before the bad block, want 1", len(pkts))
			}
			wantError(t, err, 2, int64(c.f.offs[3]), c.msg)
		})
	}
	f := newNg(false)
	binary.LittleEndian.PutUint32(f.b[8:12], 0x11223344)
	_, err := NewReader(bytes.NewReader(f.b), "x.pcapng")
	wantError(t, err, 0, 0, "byte order magic 11223344")
}

// TestSnaplenCutsTransportHeader: with a snap length of 34 (Ethernet and
// IPv4 headers only) TCP and UDP packets have no ports: skipped, as with
// a snap length that cuts the TCP header.
func TestSnaplenCutsTransportHeader(t *testing.T) {
	var recs []pcapRec
	ng := newNg(false).idb(34)
	for _, b := range testFrames() {
		for _, snap := range []int{34, 38, 40} {
			recs = append(recs, pcapRec{sec: uint32(t0.Unix()), data: b[:snap], orig: len(b)})
			ng.epb(t0, b[:snap], len(b))
		}
	}
	for name, b := range map[string][]byte{"pcap": pcapFile(false, false, 34, recs...), "pcapng": ng.b} {
		t.Run(name, func(t *testing.T) {
			pkts, st, err := readCapture(t, b)
			if err != nil || len(pkts) != 0 || st.Skipped["truncated transport header"] != 9 {
				t.Errorf("read %v, stats %+v, error %v; want every frame skipped", pkts, st, err)
			}
		})
	}
}

// TestIPLengthBeyondFrame: an IP total length larger than the frame had on
// the wire counts the frame's bytes and is counted in LengthClamped; an IP
// length within the original length of a frame cut by the snap length is
// trusted (Truncated).
func TestIPLengthBeyondFrame(t *testing.T) {
	lie := ipv4Frame(6, tcpHeader(40000, 443, traffic.FlagACK), 0xffff)
	lie = append(lie, make([]byte, 60-len(lie))...) // padded to the Ethernet minimum
	vlan := append(append(append([]byte{}, lie[:12]...), 0x81, 0, 0, 10), lie[12:]...)
	big := ipv4Frame(6, append(tcpHeader(40000, 443, traffic.FlagACK), make([]byte, 1400)...), 0)
	b := pcapFile(false, false, 65535,
		pcapRec{sec: 1, data: lie},
		pcapRec{sec: 1, data: vlan},
		pcapRec{sec: 1, data: big[:54], orig: len(big)},
		pcapRec{sec: 1, data: lie[:54], orig: 60},
	)
	pkts, st, err := readCapture(t, b)
	if err != nil || len(pkts) != 4 {
		t.Fatalf("read %d packets, error %v", len(pkts), err)
	}
	for i, want := range []int{46, 46, 1440, 46} {
		if pkts[i].Size != want {
			t.Errorf("packet %d: size %d, want %d", i+1, pkts[i].Size, want)
		}
	}
	if st.LengthClamped != 3 || st.Truncated != 2 {
		t.Errorf("stats %+v, want 3 clamped and 2 truncated", st)
	}
}

// TestIPVersionMismatch: a frame whose IP version nibble is not the one
// its ethertype says is skipped.
func TestIPVersionMismatch(t *testing.T) {
	v7 := ipv4Frame(6, tcpHeader(40000, 443, traffic.FlagSYN), 0)
	v7[14] = 0x75
	v4in6 := make([]byte, 14+40+20)
	v4in6[12], v4in6[13] = 0x86, 0xdd
	v4in6[14] = 0x40
	binary.BigEndian.PutUint16(v4in6[18:20], 20)
	v4in6[20], v4in6[21] = 6, 64
	v4in6[22], v4in6[37], v4in6[38], v4in6[53] = 0x20, 1, 0x20, 2
	copy(v4in6[54:], tcpHeader(40000, 443, traffic.FlagSYN))
	b := pcapFile(false, false, 65535, pcapRec{sec: 1, data: v7}, pcapRec{sec: 1, data: v4in6})
	pkts, st, err := readCapture(t, b)
	if err != nil || len(pkts) != 0 ||
		st.Skipped["IP version is not 4 in an IPv4 frame"] != 1 || st.Skipped["IP version is not 6 in an IPv6 frame"] != 1 {
		t.Errorf("read %v, stats %+v, error %v", pkts, st, err)
	}
}

// TestSimplePacketBlockTime: a simple packet block has no timestamp; it
// takes the time of the frame before it, and without one the capture
// cannot be replayed on its own clock.
func TestSimplePacketBlockTime(t *testing.T) {
	frames := testFrames()
	f := newNg(false).idb(65535).epb(t0, frames[0], 0).spb(frames[1]).spb(frames[2])
	pkts, st, err := readCapture(t, f.b)
	if err != nil || len(pkts) != 3 || st.Untimed != 2 {
		t.Fatalf("read %d packets, stats %+v, error %v", len(pkts), st, err)
	}
	for i, p := range pkts {
		if !p.Time.Equal(t0) {
			t.Errorf("packet %d at %s, want %s", i+1, p.Time, t0)
		}
	}
	if pkts[1].DstPort != 53 || pkts[2].Size != len(frames[2])-14 {
		t.Errorf("simple packet blocks decoded as %+v and %+v", pkts[1], pkts[2])
	}
	f = newNg(false).idb(65535).spb(frames[0]).epb(t0, frames[1], 0)
	_, _, err = readCapture(t, f.b)
	wantError(t, err, 1, int64(f.offs[2]), "simple packet block without a timestamp")
}

// TestTimestampOutOfRange: a time offset or resolution that puts packets
// outside 1970 to 2262 (where UnixNano wraps) is an error at the packet.
func TestTimestampOutOfRange(t *testing.T) {
	for name, off := range map[string]int64{"future": 1e12, "past": -2e9, "wrap": 1 << 62} {
		t.Run(name, func(t *testing.T) {
			f := newNg(false)
			f.idb(65535, f.opt(14, f.o.AppendUint64(nil, uint64(off))), f.opt(0, nil)).packets(testFrames())
			pkts, _, err := readCapture(t, f.b)
			if len(pkts) != 0 {
				t.Errorf("returned %d packets", len(pkts))
			}
			wantError(t, err, 1, int64(f.offs[2]), "is outside the years 1970 to 2262")
		})
	}
	// A legal offset still works.
	f := newNg(false)
	f.idb(65535, f.opt(14, f.o.AppendUint64(nil, uint64(3600))), f.opt(0, nil)).packets(testFrames())
	pkts, _, err := readCapture(t, f.b)
	if err != nil || len(pkts) != 3 || !pkts[0].Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("read %d packets, error %v", len(pkts), err)
	}
}

// TestSubsecondField: a pcap record's microseconds (nanoseconds) field of
// 1e6 (1e9) or more is malformed, not extra seconds.
func TestSubsecondField(t *testing.T) {
	frame := testFrames()[0]
	for _, big := range []bool{false, true} {
		for _, nanos := range []bool{false, true} {
			limit := uint32(1e6)
			if nanos {
				limit = 1e9
			}
			ok := pcapFile(big, nanos, 65535, pcapRec{sec: 100, sub: limit - 1, data: frame})
			pkts, _, err := readCapture(t, ok)
			if err != nil || len(pkts) != 1 || pkts[0].Time.Unix() != 100 {
				t.Errorf("big=%v nanos=%v: sub-second field %d: %v, %v", big, nanos, limit-1, pkts, err)
			}
			for _, sub := range []uint32{limit, 0xffffffff} {
				bad := pcapFile(big, nanos, 65535, pcapRec{sec: 100, data: frame}, pcapRec{sec: 100, sub: sub, data: frame})
				_, _, err := readCapture(t, bad)
				wantError(t, err, 2, int64(24+16+len(frame)), fmt.Sprintf("field %d of the timestamp is not below %d", sub, limit))
			}
		}
	}
}

// TestCorruptGzip: when the gzip layer fails, the error says so, even if
// the garbage it decompressed looked like a bad record first.
func TestCorruptGzip(t *testing.T) {
	data, err := os.ReadFile("testdata/small-ipv4.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.NoCompression) // stored blocks: flipped bits decompress to garbage
	zw.Write(data)
	zw.Close()
	gz := z.Bytes()
	for name, mod := range map[string]func([]byte) []byte{
		"flipped":  func(b []byte) []byte { b[len(b)/2] ^= 0xff; b[len(b)/2+1] ^= 0xff; return b },
		"checksum": func(b []byte) []byte { b[len(b)-5] ^= 0xff; return b },
		"cut":      func(b []byte) []byte { return b[:len(b)/2] },
	} {
		t.Run(name, func(t *testing.T) {
			b := mod(bytes.Clone(gz))
			_, _, err := readAll(t, b, false)
			want := "corrupt gzip stream"
			if name == "cut" {
				want = "the gzip stream ends early"
			}
			if !errors.Is(err, ErrCapture) || !strings.Contains(err.Error(), want) {
				t.Errorf("got %v, want an error saying %q", err, want)
			}
		})
	}
}

// TestDirectoryCapture: a directory is not "too short".
func TestDirectoryCapture(t *testing.T) {
	d, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = NewReader(d, "dir")
	if !errors.Is(err, ErrCapture) || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("got %v", err)
	}
}

// malformedSeeds are the captures above, as FuzzDecode seeds.
func malformedSeeds() map[string][]byte {
	frames := testFrames()
	seeds := map[string][]byte{}
	for name, f := range ngTrailers(false) {
		seeds["ng-trailer-"+name] = f.b
	}
	seeds["ng-trailer-isb-be"] = ngTrailers(true)["isb"].b
	for name, c := range badNg() {
		seeds["ng-bad-"+name] = c.f.b
	}
	f := newNg(false).idb(65535).packets(frames)
	seeds["ng-cut-epb"] = f.b[:f.offs[len(f.offs)-1]+28]
	seeds["ng-spb"] = newNg(false).idb(65535).epb(t0, frames[0], 0).spb(frames[1]).b
	seeds["ng-spb-first"] = newNg(false).idb(65535).spb(frames[0]).b
	f = newNg(false)
	seeds["ng-tsoffset"] = f.idb(65535, f.opt(14, f.o.AppendUint64(nil, 1e12)), f.opt(0, nil)).packets(frames[:1]).b
	ng := newNg(false).idb(34)
	var recs []pcapRec
	for _, b := range frames {
		recs = append(recs, pcapRec{sec: 1, data: b[:34], orig: len(b)})
		ng.epb(t0, b[:34], len(b))
	}
	seeds["pcap-snap34"] = pcapFile(false, false, 34, recs...)
	seeds["ng-snap34"] = ng.b
	lie := ipv4Frame(6, tcpHeader(40000, 443, traffic.FlagACK), 0xffff)
	seeds["pcap-totlen"] = pcapFile(false, false, 65535, pcapRec{sec: 1, data: append(lie, make([]byte, 60-len(lie))...)})
	v7 := ipv4Frame(6, tcpHeader(40000, 443, traffic.FlagSYN), 0)
	v7[14] = 0x75
	seeds["pcap-ver7"] = pcapFile(false, false, 65535, pcapRec{sec: 1, data: v7})
	seeds["pcap-badusec"] = pcapFile(false, false, 65535, pcapRec{sec: 1, sub: 0xffffffff, data: frames[0]})
	return seeds
}

// TestMalformedSeeds: the seeds are committed to the FuzzDecode corpus
// (go test -update writes them).
func TestMalformedSeeds(t *testing.T) {
	for name, b := range malformedSeeds() {
		path := filepath.Join("testdata", "fuzz", "FuzzDecode", "malformed-"+name)
		want := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its seed (run go test -update)", path)
		}
	}
}

// TestLargeRecord: a record larger than the read buffer is read whole, or
// reported truncated; a gzip-compressed pcapng ends cleanly too.
func TestLargeRecord(t *testing.T) {
	big := ipv4Frame(6, append(tcpHeader(40000, 443, traffic.FlagACK), make([]byte, 300000)...), 0) // more than the read buffer
	small := testFrames()[0]
	b := pcapFile(false, true, 400000, pcapRec{sec: 1, data: big}, pcapRec{sec: 2, data: small})
	pkts, _, err := readCapture(t, b)
	if err != nil || len(pkts) != 2 || pkts[0].DstPort != 443 || pkts[1].Time.Unix() != 2 {
		t.Fatalf("read %d packets, error %v", len(pkts), err)
	}
	_, _, err = readCapture(t, b[:24+16+200000])
	wantError(t, err, 1, 24, "file ends inside the packet record (200016 bytes after its start): truncated capture")

	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(ngTrailers(false)["isb"].b)
	zw.Close()
	pkts, _, err = readCapture(t, z.Bytes())
	if err != nil || len(pkts) != 3 {
		t.Errorf("gzip pcapng: read %d packets, error %v", len(pkts), err)
	}
}
