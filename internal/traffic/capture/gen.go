package capture

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// GenConfig describes a synthetic capture: Flows conversations between
// clients and servers, Packets frames in total, interleaved the way a busy
// host sees them. The same config always gives the same bytes.
type GenConfig struct {
	Packets int
	Flows   int
	Seed    uint64
	// Servers are the addresses that receive connections (TCP 443 and
	// UDP 53); Clients is the prefix clients are drawn from.
	Servers  []netip.Addr
	Clients  netip.Prefix
	Servers6 []netip.Addr // IPv6 servers, used when IPv6Share > 0
	Clients6 netip.Prefix
	// IPv6Share and UDPShare are the fractions of IPv6 and UDP flows.
	IPv6Share float64
	UDPShare  float64
	Start     time.Time
	Gap       time.Duration // between frames; default 100 µs
	// PcapNG writes pcapng instead of pcap; VLAN tags every frame with
	// 802.1Q VLAN 42; NonIPEvery inserts an ARP frame every N frames.
	PcapNG     bool
	VLAN       bool
	NonIPEvery int
	// Concurrent is how many flows are interleaved at once (default 1000).
	Concurrent int
	// Track fills GenSummary.Directions.
	Track bool
}

// Tuple is a directional 5-tuple.
type Tuple struct {
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
}

// Count is packets and bytes (IP lengths).
type Count struct {
	Packets, Bytes int64
}

// GenSummary is the ground truth of a generated capture.
type GenSummary struct {
	Frames     int // including non-IP frames
	Packets    int // IP packets
	Bytes      int64
	Flows      int
	Directions map[Tuple]*Count
}

// DefaultGenConfig is the benchmark capture: 1,000,000 packets over
// 100,000 flows from 198.18.0.0/15 to 50 servers in 10.0.0.0/16.
func DefaultGenConfig() GenConfig {
	var servers []netip.Addr
	for i := range 50 {
		servers = append(servers, netip.AddrFrom4([4]byte{10, 0, byte(10 + i/25), byte(10 + i%25)}))
	}
	return GenConfig{
		Packets: 1_000_000, Flows: 100_000, Seed: 42,
		Servers: servers, Clients: netip.MustParsePrefix("198.18.0.0/15"),
		UDPShare: 0.2,
		Start:    time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
	}
}

type genFlow struct {
	t       Tuple // client -> server
	packets int
	sent    int
}

// GenerateFile writes the capture to a new file at path (replacing one
// there) and returns its ground truth.
func GenerateFile(path string, cfg GenConfig) (*GenSummary, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	sum, err := Generate(f, cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// Generate writes the capture to w and returns its ground truth.
func Generate(w io.Writer, cfg GenConfig) (*GenSummary, error) {
	if cfg.Flows <= 0 || cfg.Packets < cfg.Flows {
		return nil, fmt.Errorf("generate: need flows > 0 and packets >= flows (got %d packets, %d flows)", cfg.Packets, cfg.Flows)
	}
	if len(cfg.Servers) == 0 || !cfg.Clients.IsValid() {
		return nil, fmt.Errorf("generate: servers and clients are required")
	}
	if cfg.IPv6Share > 0 && (len(cfg.Servers6) == 0 || !cfg.Clients6.IsValid()) {
		return nil, fmt.Errorf("generate: IPv6 flows need Servers6 and Clients6")
	}
	if cfg.Gap <= 0 {
		cfg.Gap = 100 * time.Microsecond
	}
	if cfg.Concurrent <= 0 {
		cfg.Concurrent = 1000
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var write func(ci gopacket.CaptureInfo, b []byte) error
	flush := func() error { return nil }
	if cfg.PcapNG {
		nw, err := pcapgo.NewNgWriter(bw, layers.LinkTypeEthernet)
		if err != nil {
			return nil, err
		}
		write, flush = nw.WritePacket, nw.Flush
	} else {
		pw := pcapgo.NewWriterNanos(bw)
		if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			return nil, err
		}
		write = pw.WritePacket
	}

	r := rand.New(rand.NewPCG(cfg.Seed, 0xcafe))
	sum := &GenSummary{Flows: cfg.Flows}
	if cfg.Track {
		sum.Directions = map[Tuple]*Count{}
	}
	base, extra := cfg.Packets/cfg.Flows, cfg.Packets%cfg.Flows
	next := 0
	newFlow := func() *genFlow {
		i := next
		next++
		f := &genFlow{packets: base}
		if i < extra {
			f.packets++
		}
		v6 := cfg.IPv6Share > 0 && r.Float64() < cfg.IPv6Share
		udp := r.Float64() < cfg.UDPShare
		if v6 {
			f.t.Src, f.t.Dst = hostIn(cfg.Clients6, r), cfg.Servers6[r.IntN(len(cfg.Servers6))]
		} else {
			f.t.Src, f.t.Dst = hostIn(cfg.Clients, r), cfg.Servers[r.IntN(len(cfg.Servers))]
		}
		f.t.SrcPort = uint16(1024 + r.IntN(65535-1024))
		if udp {
			f.t.Proto, f.t.DstPort = 17, 53
		} else {
			f.t.Proto, f.t.DstPort = 6, 443
		}
		return f
	}
	var active []*genFlow
	for len(active) < cfg.Concurrent && next < cfg.Flows {
		active = append(active, newFlow())
	}

	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	payload := make([]byte, 1500)
	srcMAC := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	dstMAC := net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	now := cfg.Start
	frame := 0
	emit := func(b []byte, length int) error {
		frame++
		ci := gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(b), Length: length}
		now = now.Add(cfg.Gap)
		return write(ci, b)
	}
	for len(active) > 0 {
		if cfg.NonIPEvery > 0 && (frame+1)%cfg.NonIPEvery == 0 {
			if err := serializeARP(buf, srcMAC); err != nil {
				return nil, err
			}
			if err := emit(buf.Bytes(), len(buf.Bytes())); err != nil {
				return nil, err
			}
			sum.Frames++
			continue
		}
		k := r.IntN(len(active))
		f := active[k]
		fromClient, flags, n := step(f, r)
		t := f.t
		if !fromClient {
			t = Tuple{Src: f.t.Dst, Dst: f.t.Src, Proto: f.t.Proto, SrcPort: f.t.DstPort, DstPort: f.t.SrcPort}
		}
		ipLen, err := serialize(buf, opts, t, flags, payload[:n], cfg.VLAN, srcMAC, dstMAC)
		if err != nil {
			return nil, err
		}
		if err := emit(buf.Bytes(), len(buf.Bytes())); err != nil {
			return nil, err
		}
		sum.Frames++
		sum.Packets++
		sum.Bytes += int64(ipLen)
		if cfg.Track {
			c := sum.Directions[t]
			if c == nil {
				c = &Count{}
				sum.Directions[t] = c
			}
			c.Packets++
			c.Bytes += int64(ipLen)
		}
		f.sent++
		if f.sent == f.packets {
			if next < cfg.Flows {
				active[k] = newFlow()
			} else {
				active[k] = active[len(active)-1]
				active = active[:len(active)-1]
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	return sum, nil
}

// step returns the direction, TCP flags and payload length of a flow's
// next packet: SYN, SYN-ACK, ACK, data both ways, FIN for TCP; alternating
// query and response for UDP.
func step(f *genFlow, r *rand.Rand) (fromClient bool, flags uint8, n int) {
	i := f.sent
	if f.t.Proto == 17 {
		if i%2 == 0 {
			return true, 0, 20 + r.IntN(40)
		}
		return false, 0, 60 + r.IntN(440)
	}
	last := i == f.packets-1 && i >= 3
	switch {
	case i == 0:
		return true, 0x02, 0
	case i == 1:
		return false, 0x12, 0
	case i == 2:
		return true, 0x10, 0
	case last:
		return true, 0x11, 0
	}
	return i%2 == 1, 0x18, r.IntN(1201)
}

func hostIn(p netip.Prefix, r *rand.Rand) netip.Addr {
	a := p.Masked().Addr()
	if a.Is4() {
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if host := 32 - p.Bits(); host >= 2 {
			v += 1 + r.Uint32N(uint32(1)<<host-2)
		}
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	b := a.As16()
	for i := max(p.Bits()/8, 8); i < 16; i++ {
		b[i] = byte(r.Uint32())
	}
	return netip.AddrFrom16(b)
}

func serialize(buf gopacket.SerializeBuffer, opts gopacket.SerializeOptions, t Tuple, flags uint8, payload []byte, vlan bool, srcMAC, dstMAC net.HardwareAddr) (int, error) {
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC}
	ls := []gopacket.SerializableLayer{eth}
	if vlan {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 42})
	}
	var nl gopacket.NetworkLayer
	ipType := layers.EthernetTypeIPv4
	if t.Src.Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocol(t.Proto), SrcIP: t.Src.AsSlice(), DstIP: t.Dst.AsSlice()}
		ls, nl = append(ls, ip), ip
	} else {
		ipType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocol(t.Proto), SrcIP: t.Src.AsSlice(), DstIP: t.Dst.AsSlice()}
		ls, nl = append(ls, ip), ip
	}
	if vlan {
		ls[1].(*layers.Dot1Q).Type = ipType
	} else {
		eth.EthernetType = ipType
	}
	hdr := 20
	if !t.Src.Is4() {
		hdr = 40
	}
	if t.Proto == 6 {
		tcp := &layers.TCP{SrcPort: layers.TCPPort(t.SrcPort), DstPort: layers.TCPPort(t.DstPort), Window: 65535,
			FIN: flags&0x01 != 0, SYN: flags&0x02 != 0, RST: flags&0x04 != 0, PSH: flags&0x08 != 0, ACK: flags&0x10 != 0}
		tcp.SetNetworkLayerForChecksum(nl)
		ls = append(ls, tcp)
		hdr += 20
	} else {
		udp := &layers.UDP{SrcPort: layers.UDPPort(t.SrcPort), DstPort: layers.UDPPort(t.DstPort)}
		udp.SetNetworkLayerForChecksum(nl)
		ls = append(ls, udp)
		hdr += 8
	}
	ls = append(ls, gopacket.Payload(payload))
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		return 0, err
	}
	return hdr + len(payload), nil
}

func serializeARP(buf gopacket.SerializeBuffer, mac net.HardwareAddr) error {
	eth := &layers.Ethernet{SrcMAC: mac, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: mac, SourceProtAddress: []byte{10, 0, 10, 1},
		DstHwAddress: []byte{0, 0, 0, 0, 0, 0}, DstProtAddress: []byte{10, 0, 10, 10}}
	return gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, arp)
}

// SortedDirections returns the summary's directions in a stable order.
func (s *GenSummary) SortedDirections() []Tuple {
	out := make([]Tuple, 0, len(s.Directions))
	for t := range s.Directions {
		out = append(out, t)
	}
	slices.SortFunc(out, CompareTuple)
	return out
}

// CompareTuple orders tuples by source, destination, protocol and ports.
func CompareTuple(a, b Tuple) int {
	if c := a.Src.Compare(b.Src); c != 0 {
		return c
	}
	if c := a.Dst.Compare(b.Dst); c != 0 {
		return c
	}
	if a.Proto != b.Proto {
		return int(a.Proto) - int(b.Proto)
	}
	if a.SrcPort != b.SrcPort {
		return int(a.SrcPort) - int(b.SrcPort)
	}
	return int(a.DstPort) - int(b.DstPort)
}
