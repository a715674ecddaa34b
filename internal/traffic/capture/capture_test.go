package capture

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"vpcflow/internal/traffic"
)

var update = flag.Bool("update", false, "rewrite the generated fixtures and their expected counts")

// fixtures are small generated captures committed under testdata, with
// their expected per-direction packet and byte counts.
var fixtures = map[string]GenConfig{
	"small-ipv4.pcap": {
		Packets: 240, Flows: 24, Seed: 1, UDPShare: 0.25, Concurrent: 6,
		Servers: []netip.Addr{netip.MustParseAddr("10.0.10.15"), netip.MustParseAddr("10.0.11.22")},
		Clients: netip.MustParsePrefix("203.0.113.0/24"),
		Start:   time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), Gap: 250 * time.Millisecond,
	},
	"vlan-ipv6-arp.pcapng": {
		Packets: 300, Flows: 30, Seed: 2, UDPShare: 0.3, IPv6Share: 0.4, VLAN: true, NonIPEvery: 25, PcapNG: true, Concurrent: 8,
		Servers:  []netip.Addr{netip.MustParseAddr("10.0.10.15")},
		Clients:  netip.MustParsePrefix("198.51.100.0/24"),
		Servers6: []netip.Addr{netip.MustParseAddr("2600:1f18:a:b::15")},
		Clients6: netip.MustParsePrefix("2001:db8:1::/48"),
		Start:    time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC), Gap: 100 * time.Millisecond,
	},
}

func expectedText(s *GenSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# src sport dst dport proto packets bytes (frames %d, ip packets %d, bytes %d)\n", s.Frames, s.Packets, s.Bytes)
	for _, t := range s.SortedDirections() {
		c := s.Directions[t]
		fmt.Fprintf(&b, "%s %d %s %d %d %d %d\n", t.Src, t.SrcPort, t.Dst, t.DstPort, t.Proto, c.Packets, c.Bytes)
	}
	return b.String()
}

func TestFixturesAreGenerated(t *testing.T) {
	for name, cfg := range fixtures {
		t.Run(name, func(t *testing.T) {
			cfg.Track = true
			var buf bytes.Buffer
			sum, err := Generate(&buf, cfg)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path+".expected", []byte(expectedText(sum)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, buf.Bytes()) {
				t.Errorf("generator output differs from the committed %s: the generator is not deterministic or changed", path)
			}
		})
	}
}

// replayCounts reads a capture and counts packets and bytes per direction.
func replayCounts(t *testing.T, path string) (map[Tuple]*Count, *Stats) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewReader(f, path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[Tuple]*Count{}
	var p traffic.Packet
	var last time.Time
	for {
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Time.Before(last) {
			t.Fatalf("capture clock went backwards: %s after %s", p.Time, last)
		}
		last = p.Time
		k := Tuple{Src: p.Src, Dst: p.Dst, Proto: p.Protocol, SrcPort: p.SrcPort, DstPort: p.DstPort}
		c := got[k]
		if c == nil {
			c = &Count{}
			got[k] = c
		}
		c.Packets += int64(p.Packets())
		c.Bytes += int64(p.Packets() * p.Size)
	}
	return got, r.Stats()
}

func TestReplayFixtureCounts(t *testing.T) {
	for name := range fixtures {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			got, st := replayCounts(t, path)
			want, err := os.ReadFile(path + ".expected")
			if err != nil {
				t.Fatal(err)
			}
			sum := &GenSummary{Directions: got, Frames: st.Frames, Packets: st.Packets}
			for _, c := range got {
				sum.Bytes += c.Bytes
			}
			if g := expectedText(sum); g != string(want) {
				t.Errorf("per-direction counts differ from %s.expected:\n%s", path, diffLines(g, string(want)))
			}
			if strings.Contains(name, "arp") {
				if st.Skipped["not IP (Ethernet payload such as ARP or LLDP)"] == 0 {
					t.Errorf("ARP frames not reported as skipped: %v", st.Skipped)
				}
			} else if st.SkippedTotal() != 0 {
				t.Errorf("skipped %v", st.Skipped)
			}
		})
	}
}

func diffLines(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := 0; i < max(len(g), len(w)); i++ {
		var a, c string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			c = w[i]
		}
		if a != c {
			fmt.Fprintf(&b, "line %d:\n  got:  %s\n  want: %s\n", i+1, a, c)
		}
	}
	return b.String()
}

func TestTruncatedCapture(t *testing.T) {
	data, err := os.ReadFile("testdata/small-ipv4.pcap")
	if err != nil {
		t.Fatal(err)
	}
	// Cut in the middle of the 11th record.
	off := int64(24)
	for range 10 {
		off += 16 + int64(uint32(data[off+8])|uint32(data[off+9])<<8|uint32(data[off+10])<<16|uint32(data[off+11])<<24)
	}
	r, err := NewReader(bytes.NewReader(data[:off+20]), "cut.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var p traffic.Packet
	n := 0
	for {
		if err = r.Next(&p); err != nil {
			break
		}
		n++
	}
	if n != 10 {
		t.Errorf("read %d packets before the cut, want 10", n)
	}
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, ErrCapture) {
		t.Fatalf("error %v is not a capture error", err)
	}
	if ce.Packet != 11 || ce.Offset != off {
		t.Errorf("error at packet %d offset %d, want packet 11 offset %d: %v", ce.Packet, ce.Offset, off, err)
	}
	if !strings.Contains(err.Error(), "cut.pcap: packet 11 at byte offset") || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("message %q", err)
	}
}

func TestSnaplenTruncatedPackets(t *testing.T) {
	// Packets captured with a 54-byte snap length keep Ethernet, IPv4 and
	// TCP headers: they are replayed with their IP lengths. A 40-byte snap
	// length cuts the TCP header: reported as skipped.
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(54, layers.LinkTypeEthernet)
	var frame bytes.Buffer
	_, err := Generate(&frame, GenConfig{Packets: 1, Flows: 1, Seed: 3, Servers: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Clients: netip.MustParsePrefix("198.51.100.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	r0, _ := pcapgo.NewReader(&frame)
	full, _, _ := r0.ReadPacketData()
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: 54, Length: len(full) + 1000}, full[:54])
	w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: 40, Length: len(full)}, full[:40])
	r, err := NewReader(&buf, "snap.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var p traffic.Packet
	if err := r.Next(&p); err != nil {
		t.Fatal(err)
	}
	if p.Protocol != 6 || p.DstPort != 443 || p.TCPFlags != traffic.FlagSYN {
		t.Errorf("decoded %+v", p)
	}
	if err := r.Next(&p); err != io.EOF {
		t.Fatalf("want EOF after the skipped packet, got %v", err)
	}
	st := r.Stats()
	if st.Truncated != 1 || st.Skipped["truncated transport header"] != 1 || st.Examples[0].Packet != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestUnsupportedLinkType(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeIEEE802_11)
	_, err := NewReader(&buf, "wifi.pcap")
	if !errors.Is(err, ErrCapture) || !strings.Contains(err.Error(), "unsupported link type 105") {
		t.Fatalf("got %v", err)
	}
	_, err = NewReader(strings.NewReader("hello, world"), "text.pcap")
	if !errors.Is(err, ErrCapture) || !strings.Contains(err.Error(), "not a pcap or pcapng file") {
		t.Fatalf("got %v", err)
	}
}

func TestGzipCapture(t *testing.T) {
	data, err := os.ReadFile("testdata/small-ipv4.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := newGzip(&z)
	zw.Write(data)
	zw.Close()
	r, err := NewReader(bufio.NewReader(&z), "small.pcap.gz")
	if err != nil {
		t.Fatal(err)
	}
	var p traffic.Packet
	n := 0
	for r.Next(&p) == nil {
		n++
	}
	if n != 240 || !r.Compressed() {
		t.Errorf("read %d packets from gzip, want 240", n)
	}
}

// FuzzDecode feeds arbitrary bytes to the reader: it must never panic, and
// every error must be a located capture error.
func FuzzDecode(f *testing.F) {
	for name := range fixtures {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err == nil {
			f.Add(b[:min(len(b), 2048)])
		}
	}
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrCapture) {
				t.Fatalf("header error %v is not ErrCapture", err)
			}
			return
		}
		// The fast decoder and gopacket read it the same way.
		sameReads(t, b)
		var p traffic.Packet
		for range 10000 {
			err := r.Next(&p)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrCapture) {
					t.Fatalf("error %v is not ErrCapture", err)
				}
				return
			}
			if !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.Is4() != p.Dst.Is4() {
				t.Fatalf("bad packet %+v", p)
			}
		}
	})
}

// TestGenerateFile: the file holds what Generate writes; a path that
// cannot be created is an error naming it.
func TestGenerateFile(t *testing.T) {
	cfg := fixtures["small-ipv4.pcap"]
	var buf bytes.Buffer
	want, err := Generate(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "g.pcap")
	got, err := GenerateFile(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, buf.Bytes()) || got.Packets != want.Packets || got.Bytes != want.Bytes {
		t.Errorf("GenerateFile wrote %d bytes (%d packets), Generate %d (%d packets)", len(data), got.Packets, buf.Len(), want.Packets)
	}
	bad := filepath.Join(t.TempDir(), "missing", "g.pcap")
	if _, err := GenerateFile(bad, cfg); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("GenerateFile into a missing directory: %v", err)
	}
}
