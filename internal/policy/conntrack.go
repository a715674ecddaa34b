package policy

import (
	"net/netip"
	"time"

	"vpcflow/internal/vpc"
)

// Timeouts are the idle timeouts of tracked connections (spec §8.3).
type Timeouts struct {
	// TCPEstablished applies once both directions have been seen.
	// AWS default: 432000 s (5 days); 350 s on Nitro v6 instance types.
	TCPEstablished time.Duration
	// TCPNew applies to a TCP connection that has seen no reply yet. AWS does
	// not publish it; we use 120 s.
	TCPNew time.Duration
	// TCPClosed applies after a RST, or after FINs in both directions; a
	// packet arriving later and matching no rule is REJECT ("packets arrived
	// after the connection was closed"). AWS does not publish it; we use 5 s.
	TCPClosed time.Duration
	// UDP applies to UDP flows seen in one direction or with a single
	// request-response. AWS default 30 s.
	UDP time.Duration
	// UDPStream applies to UDP flows with more than one request-response.
	// AWS default 180 s.
	UDPStream time.Duration
	// ICMP is not published by AWS; we use 30 s.
	ICMP time.Duration
	// Other protocols: "within 600 seconds of the original request or
	// response".
	Other time.Duration
}

// DefaultTimeouts returns the AWS defaults (and our choices where AWS
// publishes none).
func DefaultTimeouts() Timeouts {
	return Timeouts{
		TCPEstablished: 432000 * time.Second,
		TCPNew:         120 * time.Second,
		TCPClosed:      5 * time.Second,
		UDP:            30 * time.Second,
		UDPStream:      180 * time.Second,
		ICMP:           30 * time.Second,
		Other:          600 * time.Second,
	}
}

// ConnKey identifies a connection within a zone (one interface), in
// canonical order so that both directions find the same entry. For
// protocols other than TCP and UDP the ports are zero: AWS tracks "only the
// IP address and protocol number" (and ICMP by addresses).
type ConnKey struct {
	Zone         uint32
	Proto        uint8
	APort, BPort uint16
	A, B         netip.Addr
}

// ConnState is the TCP-like state of a tracked connection.
type ConnState uint8

// Connection states.
const (
	StateNew ConnState = iota
	StateEstablished
	StateClosed
)

func (s ConnState) String() string {
	switch s {
	case StateEstablished:
		return "established"
	case StateClosed:
		return "closed"
	}
	return "new"
}

// Conn is one tracked connection.
type Conn struct {
	Key ConnKey
	// OrigIsA says whether the initiator is Key.A (else Key.B).
	OrigIsA bool
	State   ConnState
	// First and Last are Unix nanoseconds of the first and latest packet.
	First, Last               int64
	OrigPackets, ReplyPackets uint32
	finOrig, finReply         bool
	dead                      bool
}

// connKey is ConnKey as 44 bytes of plain memory (addresses as 16 bytes,
// no pointers): the table hashes and compares it with memhash/memequal and
// the garbage collector does not scan it.
type connKey struct {
	zone         uint32
	a, b         [16]byte
	aPort, bPort uint16
	proto        uint8
	v4           uint8 // bit 0: A is IPv4, bit 1: B is (the 16-byte forms cannot tell)
	pad          uint16
}

// packed returns the table key of k, or false when an address has an IPv6
// zone, which the packed key cannot hold.
func (k *ConnKey) packed() (connKey, bool) {
	pk := connKey{zone: k.Zone, a: k.A.As16(), b: k.B.As16(), aPort: k.APort, bPort: k.BPort, proto: k.Proto}
	if k.A.Is4() {
		pk.v4 |= 1
	}
	if k.B.Is4() {
		pk.v4 |= 2
	}
	return pk, k.A.Zone() == "" && k.B.Zone() == ""
}

// Conntrack tracks connections per zone (one zone per interface). It is not
// safe for concurrent use.
type Conntrack struct {
	timeouts Timeouts
	conns    map[connKey]*Conn
	// zoned holds the connections whose key has an address with an IPv6
	// zone (never seen in captures or simulations).
	zoned map[ConnKey]*Conn
}

func (c *Conntrack) get(k *ConnKey) *Conn {
	if pk, ok := k.packed(); ok {
		return c.conns[pk]
	}
	return c.zoned[*k]
}

func (c *Conntrack) put(k *ConnKey, conn *Conn) {
	if pk, ok := k.packed(); ok {
		c.conns[pk] = conn
		return
	}
	if c.zoned == nil {
		c.zoned = map[ConnKey]*Conn{}
	}
	c.zoned[*k] = conn
}

// NewConntrack returns an empty table; zero timeouts take the defaults.
func NewConntrack(t Timeouts) *Conntrack {
	d := DefaultTimeouts()
	fill := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	fill(&t.TCPEstablished, d.TCPEstablished)
	fill(&t.TCPNew, d.TCPNew)
	fill(&t.TCPClosed, d.TCPClosed)
	fill(&t.UDP, d.UDP)
	fill(&t.UDPStream, d.UDPStream)
	fill(&t.ICMP, d.ICMP)
	fill(&t.Other, d.Other)
	return &Conntrack{timeouts: t, conns: map[connKey]*Conn{}}
}

// Timeouts returns the table's timeouts.
func (c *Conntrack) Timeouts() Timeouts { return c.timeouts }

// KeyOf returns the canonical key of a packet in a zone and whether the
// packet's source is Key.A.
func KeyOf(zone uint32, p Packet) (ConnKey, bool) {
	k := ConnKey{Zone: zone, Proto: p.Protocol}
	sp, dp := p.SrcPort, p.DstPort
	if p.Protocol != vpc.ProtoTCP && p.Protocol != vpc.ProtoUDP {
		sp, dp = 0, 0
	}
	c := p.Src.Compare(p.Dst)
	if c < 0 || (c == 0 && sp <= dp) {
		k.A, k.B, k.APort, k.BPort = p.Src, p.Dst, sp, dp
		return k, true
	}
	k.A, k.B, k.APort, k.BPort = p.Dst, p.Src, dp, sp
	return k, false
}

// Lookup returns the live connection the packet belongs to, in either
// direction.
func (c *Conntrack) Lookup(zone uint32, p Packet, now time.Time) (*Conn, bool) {
	k, _ := KeyOf(zone, p)
	conn := c.get(&k)
	if conn == nil || !c.Alive(conn, now.UnixNano()) {
		return nil, false
	}
	return conn, true
}

// Get returns the entry for the packet's connection, live or not (nil if
// none): the fast path keeps it and checks Alive itself.
func (c *Conntrack) Get(zone uint32, p Packet) *Conn {
	k, _ := KeyOf(zone, p)
	return c.get(&k)
}

// Track starts tracking the connection whose first packet is p (or returns
// the existing entry, revived with p as initiator when it had expired).
func (c *Conntrack) Track(zone uint32, p Packet, now time.Time) *Conn {
	k, _ := KeyOf(zone, p)
	conn := c.get(&k)
	if conn != nil && c.Alive(conn, now.UnixNano()) {
		return conn
	}
	return c.Begin(conn, zone, p, now)
}

// Begin starts tracking the connection whose first packet is p, for a
// caller that has just looked it up with Get and found no live entry:
// found is what Get returned (nil: no entry; an expired one is revived as
// a new connection with p as initiator). It saves Track's second lookup.
func (c *Conntrack) Begin(found *Conn, zone uint32, p Packet, now time.Time) *Conn {
	k, srcIsA := KeyOf(zone, p)
	ns := now.UnixNano()
	conn := found
	if conn == nil {
		conn = new(Conn)
		c.put(&k, conn)
	}
	*conn = Conn{Key: k, OrigIsA: srcIsA, First: ns, Last: ns}
	return conn
}

// Timeout returns the idle timeout of the connection in its current state.
func (c *Conntrack) Timeout(conn *Conn) time.Duration {
	t := &c.timeouts
	switch conn.Key.Proto {
	case vpc.ProtoTCP:
		switch conn.State {
		case StateEstablished:
			return t.TCPEstablished
		case StateClosed:
			return t.TCPClosed
		}
		return t.TCPNew
	case vpc.ProtoUDP:
		if conn.ReplyPackets > 0 && conn.OrigPackets > 1 && conn.ReplyPackets > 1 {
			return t.UDPStream
		}
		return t.UDP
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		return t.ICMP
	}
	return t.Other
}

// Alive reports whether the connection is still tracked at now (Unix ns).
func (c *Conntrack) Alive(conn *Conn, now int64) bool {
	return conn != nil && !conn.dead && now-conn.Last <= int64(c.Timeout(conn))
}

// Update records a packet of the connection: srcIsA says whether the
// packet's source is Key.A; flags is the raw TCP flags byte.
func (c *Conntrack) Update(conn *Conn, srcIsA bool, flags uint8, now int64) {
	if now > conn.Last {
		conn.Last = now
	}
	orig := srcIsA == conn.OrigIsA
	if orig {
		conn.OrigPackets++
	} else {
		conn.ReplyPackets++
		if conn.State == StateNew {
			conn.State = StateEstablished
		}
	}
	if conn.Key.Proto != vpc.ProtoTCP {
		return
	}
	const fin, syn, rst, ack = 0x01, 0x02, 0x04, 0x10
	switch {
	case flags&rst != 0:
		conn.State = StateClosed
	case flags&fin != 0:
		if orig {
			conn.finOrig = true
		} else {
			conn.finReply = true
		}
		if conn.finOrig && conn.finReply {
			conn.State = StateClosed
		}
	case flags&(syn|ack) == syn && orig && conn.State == StateClosed:
		// A new SYN reopens a closed connection on the same tuple.
		conn.State, conn.finOrig, conn.finReply = StateNew, false, false
	}
}

// Expire removes connections idle past their timeout and returns how many.
func (c *Conntrack) Expire(now time.Time) int {
	ns, n := now.UnixNano(), 0
	for k, conn := range c.conns {
		if !c.Alive(conn, ns) {
			conn.dead = true
			delete(c.conns, k)
			n++
		}
	}
	for k, conn := range c.zoned {
		if !c.Alive(conn, ns) {
			conn.dead = true
			delete(c.zoned, k)
			n++
		}
	}
	return n
}

// Len is the number of entries (live or awaiting Expire).
func (c *Conntrack) Len() int { return len(c.conns) + len(c.zoned) }

// Each calls fn for every entry, in no particular order.
func (c *Conntrack) Each(fn func(*Conn)) {
	for _, conn := range c.conns {
		fn(conn)
	}
	for _, conn := range c.zoned {
		fn(conn)
	}
}

// FlushZone removes every connection of a zone.
func (c *Conntrack) FlushZone(zone uint32) {
	for k, conn := range c.conns {
		if k.zone == zone {
			conn.dead = true
			delete(c.conns, k)
		}
	}
	for k, conn := range c.zoned {
		if k.Zone == zone {
			conn.dead = true
			delete(c.zoned, k)
		}
	}
}
