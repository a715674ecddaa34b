package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"vpcflow/internal/traffic"
)

// slowDecoder decodes single frames with the gopacket path only.
func slowDecoder() *Reader {
	return &Reader{parser: map[layers.LinkType]*gopacket.DecodingLayerParser{}, stats: Stats{Skipped: map[string]int{}}}
}

// checkFrame decodes one frame both ways: when fastDecode accepts it,
// gopacket must accept it too and give the same packet.
func checkFrame(t *testing.T, slow *Reader, lt layers.LinkType, data []byte, wire int) (fast bool) {
	t.Helper()
	var fp, sp traffic.Packet
	if !fastDecode(lt, data, wire, &fp) {
		return false
	}
	parser := slow.parserFor(lt, data)
	if parser == nil {
		t.Fatalf("link type %d: fast decoder accepts what gopacket does not support", lt)
	}
	if reason := slow.decode(parser, data, wire, &sp); reason != "" {
		t.Fatalf("link type %d frame % x: fast decoder accepts, gopacket skips: %s", lt, data, reason)
	}
	if fp != sp {
		t.Fatalf("link type %d frame % x:\nfast     %+v\ngopacket %+v", lt, data, fp, sp)
	}
	return true
}

// readAll reads a capture to the end, with or without the fast decoder.
func readAll(t *testing.T, data []byte, slowOnly bool) ([]traffic.Packet, *Stats, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), "x.pcap")
	if err != nil {
		return nil, nil, err
	}
	r.slowOnly = slowOnly
	var out []traffic.Packet
	for {
		var p traffic.Packet
		err := r.Next(&p)
		if err == io.EOF {
			return out, r.Stats(), nil
		}
		if err != nil {
			return out, r.Stats(), err
		}
		out = append(out, p)
	}
}

// sameReads reads a capture both ways and compares packets, stats and the
// final error.
func sameReads(t *testing.T, data []byte) {
	t.Helper()
	fp, fs, ferr := readAll(t, data, false)
	sp, ss, serr := readAll(t, data, true)
	if (ferr == nil) != (serr == nil) || ferr != nil && ferr.Error() != serr.Error() {
		t.Fatalf("errors differ: fast %v, gopacket %v", ferr, serr)
	}
	if !reflect.DeepEqual(fp, sp) {
		t.Fatalf("packets differ (%d fast, %d gopacket)", len(fp), len(sp))
	}
	if !reflect.DeepEqual(fs, ss) {
		t.Fatalf("stats differ:\nfast     %+v\ngopacket %+v", fs, ss)
	}
}

func genCapture(t *testing.T, cfg GenConfig) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Generate(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFastDecodeMatchesGopacket: the hand-written decoder and gopacket read
// the fixtures and generated captures (IPv4, IPv6, VLAN, non-IP frames,
// pcap and pcapng) to the same packets and stats, and the fast decoder
// takes the frames it is for.
func TestFastDecodeMatchesGopacket(t *testing.T) {
	for name := range fixtures {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) { sameReads(t, data) })
	}
	for _, cfg := range []GenConfig{
		{Packets: 2000, Flows: 100, Seed: 7, UDPShare: 0.3},
		{Packets: 2000, Flows: 100, Seed: 8, UDPShare: 0.2, IPv6Share: 0.5, VLAN: true, NonIPEvery: 17, PcapNG: true,
			Servers6: []netip.Addr{netip.MustParseAddr("2600:1f18:a:b::15")}, Clients6: netip.MustParsePrefix("2001:db8:1::/48")},
	} {
		if cfg.Servers == nil {
			cfg.Servers = []netip.Addr{netip.MustParseAddr("10.0.10.15")}
			cfg.Clients = netip.MustParsePrefix("198.51.100.0/24")
		}
		data := genCapture(t, cfg)
		sameReads(t, data)
		// Every IP frame of a generated capture takes the fast path.
		r, err := NewReader(bytes.NewReader(data), "gen")
		if err != nil {
			t.Fatal(err)
		}
		slow := slowDecoder()
		frames, fast := 0, 0
		for {
			b, ci, err := r.src.ZeroCopyReadPacketData()
			if err != nil {
				break
			}
			lt := r.linkType
			if r.ng && len(ci.AncillaryData) > 0 {
				lt = ci.AncillaryData[0].(layers.LinkType)
			}
			frames++
			if checkFrame(t, slow, lt, b, max(ci.Length, ci.CaptureLength)) {
				fast++
			}
		}
		if want := cfg.Packets; fast != want {
			t.Errorf("fast decoder took %d of %d frames, want the %d IP packets", fast, frames, want)
		}
	}
}

// edgeFrames are frames near the fast decoder's limits, by link type.
func edgeFrames() []struct {
	lt   layers.LinkType
	data []byte
} {
	ip4 := func(proto byte, l4 []byte, mod func(h []byte)) []byte {
		h := make([]byte, 20)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:4], uint16(20+len(l4)))
		h[8], h[9] = 64, proto
		copy(h[12:16], []byte{10, 0, 0, 1})
		copy(h[16:20], []byte{10, 0, 0, 2})
		if mod != nil {
			mod(h)
		}
		return append(h, l4...)
	}
	ip6 := func(next byte, l4 []byte, mod func(h []byte)) []byte {
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:6], uint16(len(l4)))
		h[6], h[7] = next, 64
		h[8], h[23] = 0x20, 1
		h[24], h[39] = 0x20, 2
		if mod != nil {
			mod(h)
		}
		return append(h, l4...)
	}
	eth := func(et uint16, payload []byte) []byte {
		h := make([]byte, 14)
		h[0], h[6] = 2, 2
		binary.BigEndian.PutUint16(h[12:14], et)
		return append(h, payload...)
	}
	vlan := func(et uint16, payload []byte) []byte {
		tag := []byte{0, 10, byte(et >> 8), byte(et)}
		return eth(0x8100, append(tag, payload...))
	}
	tcp := func(off byte, flags byte, n int) []byte {
		b := make([]byte, n)
		binary.BigEndian.PutUint16(b[0:2], 40000)
		if n >= 4 {
			binary.BigEndian.PutUint16(b[2:4], 443)
		}
		if n > 13 {
			b[12], b[13] = off<<4, flags
		}
		return b
	}
	udp := func(length uint16, n int) []byte {
		b := make([]byte, n)
		binary.BigEndian.PutUint16(b[0:2], 5353)
		if n >= 6 {
			binary.BigEndian.PutUint16(b[2:4], 53)
			binary.BigEndian.PutUint16(b[4:6], length)
		}
		return b
	}
	icmp := []byte{8, 0, 0, 0, 0, 1, 0, 1}
	var out []struct {
		lt   layers.LinkType
		data []byte
	}
	add := func(lt layers.LinkType, b []byte) {
		out = append(out, struct {
			lt   layers.LinkType
			data []byte
		}{lt, b})
	}
	for _, b := range [][]byte{
		ip4(6, tcp(5, 0x02, 20), nil),
		ip4(6, tcp(5, 0xff, 20), nil),                                          // every flag
		ip4(6, tcp(8, 0x12, 32), nil),                                          // options
		ip4(6, tcp(8, 0x12, 24), nil),                                          // options cut
		ip4(6, tcp(4, 0x12, 20), nil),                                          // bad offset
		ip4(6, tcp(5, 0x02, 12), nil),                                          // short TCP
		ip4(6, nil, nil),                                                       // no transport bytes
		ip4(17, udp(8, 8), nil),                                                // UDP
		ip4(17, udp(0, 8), nil),                                                // UDP length 0
		ip4(17, udp(5, 8), nil),                                                // bad UDP length
		ip4(17, udp(200, 8), nil),                                              // UDP length past the end
		ip4(17, udp(8, 6), nil),                                                // short UDP
		ip4(1, icmp, nil),                                                      // ICMP
		ip4(1, icmp[:6], nil),                                                  // short ICMP
		ip4(58, icmp, nil),                                                     // ICMPv6 in IPv4
		ip4(47, icmp, nil),                                                     // GRE
		ip4(4, ip4(6, tcp(5, 2, 20), nil), nil),                                // IP in IP
		ip4(6, tcp(5, 2, 20), func(h []byte) { h[6] = 0x20 }),                  // more fragments
		ip4(6, tcp(5, 2, 20), func(h []byte) { h[7] = 0x10 }),                  // fragment offset
		ip4(6, tcp(5, 2, 20), func(h []byte) { h[6] = 0x40 }),                  // don't fragment
		ip4(6, tcp(5, 2, 20), func(h []byte) { h[2], h[3] = 0, 0 }),            // length 0 (TSO)
		ip4(6, tcp(5, 2, 20), func(h []byte) { h[2], h[3] = 0, 10 }),           // length < 20
		ip4(6, tcp(5, 2, 20), func(h []byte) { h[2], h[3] = 5, 0 }),            // length past the frame
		ip4(6, tcp(5, 2, 20), func(h []byte) { h[2], h[3] = 0, 30 }),           // TCP cut by the IP length
		ip4(6, tcp(5, 2, 20), func(h []byte) { h[0] = 0x46 }),                  // options
		ip4(6, tcp(5, 2, 20), func(h []byte) { h[0] = 0x65 }),                  // version 6 bits
		append(ip4(6, tcp(5, 2, 20), nil), make([]byte, 20)...),                // trailer
		ip6(6, tcp(5, 0x02, 20), nil),                                          // IPv6 TCP
		ip6(17, udp(8, 8), nil),                                                // IPv6 UDP
		ip6(58, []byte{128, 0, 0, 0}, nil),                                     // ICMPv6 echo
		ip6(58, []byte{128, 0, 0}, nil),                                        // short ICMPv6
		ip6(1, icmp, nil),                                                      // ICMP in IPv6
		ip6(0, append([]byte{6, 0, 1, 4, 0, 0, 0, 0}, tcp(5, 2, 20)...), nil),  // hop-by-hop
		ip6(44, append([]byte{6, 0, 0, 0, 0, 0, 0, 1}, tcp(5, 2, 20)...), nil), // fragment header
		ip6(6, tcp(5, 2, 20), func(h []byte) { h[4], h[5] = 0, 0 }),            // length 0
		ip6(6, tcp(5, 2, 20), func(h []byte) { h[4], h[5] = 1, 0 }),            // length past the frame
		ip6(6, tcp(5, 2, 20), func(h []byte) { h[4], h[5] = 0, 10 }),           // TCP cut by the length
		ip6(6, tcp(5, 2, 20), func(h []byte) { h[0] = 0x40 }),                  // version 4 bits
		ip6(6, nil, nil)[:30],                                                  // short IPv6
	} {
		v6 := b[0]>>4 == 6
		et := uint16(0x0800)
		if v6 {
			et = 0x86dd
		}
		add(layers.LinkTypeEthernet, eth(et, b))
		add(layers.LinkTypeEthernet, vlan(et, b))
		add(layers.LinkTypeEthernet, eth(0x86dd+0x0800-et, b)) // the other ethertype
		add(layers.LinkTypeEthernet, eth(0x88a8, append([]byte{0, 10, byte(et >> 8), byte(et)}, b...)))
		add(layers.LinkTypeRaw, b)
		add(layers.LinkType(12), b)
		add(layers.LinkType(14), b)
		add(layers.LinkTypeIPv4, b)
		add(layers.LinkTypeIPv6, b)
		add(layers.LinkTypeLinuxSLL, b)
		add(layers.LinkTypeNull, b)
		for n := range len(b) {
			add(layers.LinkTypeRaw, b[:n])
		}
	}
	add(layers.LinkTypeEthernet, eth(0x0806, make([]byte, 28)))            // ARP
	add(layers.LinkTypeEthernet, eth(0x0040, make([]byte, 64)))            // 802.3 length
	add(layers.LinkTypeEthernet, vlan(0x8100, ip4(6, tcp(5, 2, 20), nil))) // two tags
	add(layers.LinkTypeEthernet, make([]byte, 10))
	add(layers.LinkTypeEthernet, eth(0x8100, []byte{0, 10}))
	return out
}

// TestFastDecodeEdges: on frames near its limits the fast decoder either
// gives gopacket's packet or leaves the frame to gopacket.
func TestFastDecodeEdges(t *testing.T) {
	slow := slowDecoder()
	fast := 0
	for _, f := range edgeFrames() {
		if checkFrame(t, slow, f.lt, f.data, len(f.data)) {
			fast++
		}
		// Cut by a snap length, and shorter on the wire than the IP
		// length says.
		checkFrame(t, slow, f.lt, f.data, len(f.data)+1000)
		checkFrame(t, slow, f.lt, f.data, len(f.data)-len(f.data)/4)
	}
	if fast == 0 {
		t.Fatal("the fast decoder took none of the edge frames")
	}
}

// FuzzFastDecode compares the two decoders on single frames.
func FuzzFastDecode(f *testing.F) {
	for _, e := range edgeFrames() {
		f.Add(uint16(e.lt), e.data)
	}
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		if _, ok := supported[layers.LinkType(lt)]; !ok {
			return
		}
		for _, wire := range []int{len(data), len(data) + 1000, len(data) - len(data)/4} {
			checkFrame(t, slowDecoder(), layers.LinkType(lt), data, wire)
		}
	})
}
