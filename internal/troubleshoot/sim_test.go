package troubleshoot

import (
	"net/netip"
	"testing"
	"time"

	"vpcflow/internal/aggregate"
	"vpcflow/internal/dataplane"
	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// sim drives the dataplane with hand-made packets and aggregates what it
// observes into flow log records, so that each test seeds exactly one
// incident into a small topology.
type sim struct {
	t    *testing.T
	topo *vpc.Topology
	dp   *dataplane.Dataplane
	agg  *aggregate.Aggregator
	now  time.Time
}

// richFormat has the fields that help a diagnosis: subnet, tcp-flags,
// packet-level addresses and direction.
var richFormat = flow.MustFormat(
	flow.FieldVersion, flow.FieldAccountID, flow.FieldInterfaceID, flow.FieldSrcAddr, flow.FieldDstAddr,
	flow.FieldSrcPort, flow.FieldDstPort, flow.FieldProtocol, flow.FieldPackets, flow.FieldBytes,
	flow.FieldStart, flow.FieldEnd, flow.FieldAction, flow.FieldLogStatus,
	flow.FieldVPCID, flow.FieldSubnetID, flow.FieldInstanceID, flow.FieldTCPFlags, flow.FieldType,
	flow.FieldPktSrcAddr, flow.FieldPktDstAddr, flow.FieldFlowDirection, flow.FieldTrafficPath,
)

func loadTopo(t *testing.T) *vpc.Topology {
	t.Helper()
	topo, err := vpc.LoadFile("testdata/incidents.yaml")
	if err != nil {
		t.Fatalf("load topology: %v", err)
	}
	return topo
}

func newSim(t *testing.T, format flow.Format) *sim {
	t.Helper()
	topo := loadTopo(t)
	dp, err := dataplane.New(topo, dataplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := aggregate.DefaultConfig()
	cfg.Format = format
	cfg.Interval = 60 * time.Second
	agg, err := aggregate.New(cfg, aggregate.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return &sim{t: t, topo: topo, dp: dp, agg: agg, now: time.Unix(1_700_000_000, 0)}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func (s *sim) send(p dataplane.Packet) dataplane.Result {
	s.t.Helper()
	s.now = s.now.Add(10 * time.Millisecond)
	p.Time = s.now
	if p.Size == 0 {
		p.Size = 60
	}
	res, err := s.dp.Process(p, func(o *dataplane.Observation) { s.agg.Add(o) })
	if err != nil {
		s.t.Fatalf("process %v: %v", p, err)
	}
	return res
}

// Server behaviours for tcp.
const (
	answer = iota // SYN-ACK, then the client ACKs and FINs
	silent        // nothing comes back: OS firewall or no listener
	refuse        // RST
)

// tcp makes one TCP connection attempt from client:sport to dst:dport,
// dst being the server's private or public address. reply is the address
// the server answers from (its private address).
func (s *sim) tcp(client, dst, server string, sport, dport uint16, behaviour int) {
	s.t.Helper()
	c, d, sv := addr(client), addr(dst), addr(server)
	res := s.send(dataplane.Packet{Src: c, Dst: d, Protocol: 6, SrcPort: sport, DstPort: dport, TCPFlags: flow.TCPSyn})
	if !res.Delivered || res.Reason != dataplane.ReasonDelivered {
		return
	}
	switch behaviour {
	case answer:
		r := s.send(dataplane.Packet{Src: sv, Dst: c, Protocol: 6, SrcPort: dport, DstPort: sport, TCPFlags: flow.TCPSynAck})
		if !r.Delivered {
			return
		}
		s.send(dataplane.Packet{Src: c, Dst: d, Protocol: 6, SrcPort: sport, DstPort: dport, TCPFlags: flow.TCPAck, Size: 500, Count: 4})
		s.send(dataplane.Packet{Src: sv, Dst: c, Protocol: 6, SrcPort: dport, DstPort: sport, TCPFlags: flow.TCPAck, Size: 1500, Count: 8})
	case refuse:
		s.send(dataplane.Packet{Src: sv, Dst: c, Protocol: 6, SrcPort: dport, DstPort: sport, TCPFlags: flow.TCPRst | flow.TCPAck})
	}
}

// ping sends echo requests and, when they arrive, echo replies.
func (s *sim) ping(client, dst, server string, n int) {
	s.t.Helper()
	for range n {
		res := s.send(dataplane.Packet{Src: addr(client), Dst: addr(dst), Protocol: 1, ICMPType: 8, Size: 84})
		if res.Reason == dataplane.ReasonDelivered {
			s.send(dataplane.Packet{Src: addr(server), Dst: addr(client), Protocol: 1, ICMPType: 0, Size: 84})
		}
		s.now = s.now.Add(time.Second)
	}
}

// udp sends n datagrams from client:sport to dst:dport and, when reply is
// set, answers each one that arrives from server.
func (s *sim) udp(client, dst, server string, sport, dport uint16, n int, reply bool) {
	s.t.Helper()
	for range n {
		res := s.send(dataplane.Packet{Src: addr(client), Dst: addr(dst), Protocol: 17, SrcPort: sport, DstPort: dport, Size: 70})
		if reply && res.Reason == dataplane.ReasonDelivered {
			s.send(dataplane.Packet{Src: addr(server), Dst: addr(client), Protocol: 17, SrcPort: dport, DstPort: sport, Size: 3000})
		}
	}
}

func (s *sim) records() []flow.Record {
	s.t.Helper()
	recs := s.agg.Flush()
	if len(recs) == 0 {
		s.t.Log("no records")
	}
	return recs
}

func (s *sim) diagnose(opts Options) Report {
	s.t.Helper()
	opts.Topology = s.topo
	return Diagnose(s.records(), opts)
}
