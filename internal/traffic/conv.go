package traffic

import (
	"net/netip"
	"time"

	"vpcflow/internal/dataplane"
)

// Header sizes: IPv4 20 bytes (IPv6 40), TCP 20 bytes plus 12 of
// timestamps on established segments, UDP 8 bytes.
const (
	mss        = 1448
	tcpHdr     = 32 // established segments carry the timestamp option
	tcpSynHdr  = 40 // SYN and SYN-ACK carry MSS, SACK, timestamps, window scale
	tcpBareHdr = 20 // RST and scan probes
	udpHdr     = 8
)

// conv holds what every conversation knows: its workload, the client's
// original addresses and, once a packet got through, the server's view.
type conv struct {
	w     *Workload
	st    *WorkloadStats
	rtt   time.Duration
	cli   netip.Addr
	srv   netip.Addr
	cport uint16
	sport uint16
	sv    Addressing // the server's view of the client's packets
	tries int
	// hints are the dataplane's memos of the two directions (from the
	// client, from the server); held their packets held back (hold.go).
	hints [2]dataplane.FlowHint
	held  [2]heldFlow
}

// Directions of a conversation, as indexes of hints and held.
const (
	fromClient = 0
	fromServer = 1
)

// send hands p (sent in direction dir) to the network now, after the
// packets held in both directions, and learns whether the direction's
// next packets may be held.
func (c *conv) send(e *Engine, dir int, p Packet) (Delivery, bool) {
	c.releaseHeld(e)
	return e.sendAndHold(c.st, &c.held[dir], p)
}

// sendSteady sends count TCP packets with flags, of size bytes of TCP
// header and payload each (bytes, when not zero, the IP bytes of them
// all), in direction dir of an established connection, none a SYN: held
// back while the direction is steady, else as send. A held train is built
// from its first packets; the later ones only add to its counts.
func (c *conv) sendSteady(e *Engine, dir int, flags uint8, size, count int, bytes int64) bool {
	f := &c.held[dir]
	if !e.coalesce || e.now.UnixNano() >= f.until {
		_, ok := c.send(e, dir, c.tcp(dir, flags, size, count, bytes))
		return ok
	}
	if f.pos == 0 {
		e.hold(c.st, f, c.tcp(dir, flags, size, count, bytes))
		return true
	}
	if bytes == 0 {
		src := c.cli
		if dir == fromServer {
			src = c.sv.Dst
		}
		bytes = int64(count) * int64(size+ipHdr(src))
	}
	e.addHeld(c.st, f, int64(count), bytes, flags)
	return true
}

// tcp is a TCP packet (train) of the conversation in direction dir (see
// sendSteady).
func (c *conv) tcp(dir int, flags uint8, size, count int, bytes int64) Packet {
	var p Packet
	if dir == fromClient {
		p = c.fromClient(ProtoTCP, flags, size, count)
	} else {
		p = c.fromServer(ProtoTCP, flags, size, count)
	}
	p.Bytes = bytes
	return p
}

// releaseHeld hands over the packets held in both directions.
func (c *conv) releaseHeld(e *Engine) {
	e.release(&c.held[fromClient])
	e.release(&c.held[fromServer])
}

func ipHdr(a netip.Addr) int {
	if a.Is4() {
		return 20
	}
	return 40
}

func (c *conv) fromClient(proto, flags uint8, size, count int) Packet {
	return Packet{Src: c.cli, Dst: c.srv, Protocol: proto, SrcPort: c.cport, DstPort: c.sport,
		Size: size + ipHdr(c.cli), TCPFlags: flags, Count: count, Hint: &c.hints[0]}
}

func (c *conv) fromServer(proto, flags uint8, size, count int) Packet {
	return Packet{Src: c.sv.Dst, Dst: c.sv.Src, Protocol: proto, SrcPort: c.sv.DstPort, DstPort: c.sv.SrcPort,
		Size: size + ipHdr(c.sv.Dst), TCPFlags: flags, Count: count, Hint: &c.hints[1]}
}

// learn records how the server saw a delivered client packet.
func (c *conv) learn(d Delivery) {
	c.sv = d.Seen
}

// segments sends n payload bytes as full-size segments plus one partial
// segment, in one train (the same flow at the same instant gets the same
// verdict); it reports whether they were delivered. With ack, the train
// starts with a bare ACK sent at the same instant (the handshake's last
// packet before the first request): one dataplane evaluation instead of
// two, and the same record, since flow logs sum packets and bytes and OR
// the flags of a flow's packets, and conntrack only reacts to SYN, FIN and
// RST.
func (c *conv) segments(e *Engine, isClient bool, n int, ack bool) bool {
	full, rest := n/mss, n%mss
	dir, src := fromClient, c.cli
	if !isClient {
		dir, src = fromServer, c.sv.Dst
	}
	segs, largest := full, mss
	if rest > 0 {
		segs++
		if full == 0 {
			largest = rest
		}
	}
	if segs == 0 {
		if ack {
			c.sendSteady(e, dir, FlagACK, tcpHdr, 1, 0)
		}
		return true
	}
	count, size := segs, tcpHdr+largest
	hdr := int64(ipHdr(src) + tcpHdr) // IP and TCP headers
	total := int64(full) * (hdr + mss)
	if rest > 0 {
		total += hdr + int64(rest) // the last segment carries rest
	}
	if ack {
		count++
		total += hdr
	}
	if total == int64(count)*(int64(size)+int64(ipHdr(src))) {
		total = 0 // Count × Size
	}
	return c.sendSteady(e, dir, FlagACK|FlagPSH, size, count, total)
}

// acks sends the delayed ACKs (one per two segments) for n payload bytes.
func (c *conv) acks(e *Engine, isClient bool, n int) {
	segs := (n + mss - 1) / mss
	k := (segs + 1) / 2
	if k == 0 {
		return
	}
	dir := fromClient
	if !isClient {
		dir = fromServer
	}
	c.sendSteady(e, dir, FlagACK, tcpHdr, k, 0)
}

// transfer is the time to push n bytes at 100 Mbit/s.
func transfer(n int) time.Duration { return time.Duration(n) * 80 * time.Nanosecond }

const (
	stSyn = iota
	stSynAck
	stEstablished
	stRequest
	stResponse
	stBulk
	stClose
	stFinAck
	stLastAck
	stRelease // over, its held packets to hand over (see later)
)

// tcpConv is a TCP connection: handshake (SYN retransmitted after 1 s and
// 2 s when unanswered), request/response exchanges, then FIN or RST.
type tcpConv struct {
	conv
	state     int
	exchanges int
	i         int
	req, resp []int
	think     time.Duration
	rst       bool

	// ackPending: the handshake's last ACK is still to be sent, with the
	// first request or upload (segments).
	ackPending bool
	// ahead is the time (Unix ns) of the next step when fire takes it
	// ahead of the clock (later); 0 otherwise.
	ahead int64

	bulk      int64 // bytes to upload at a steady rate (exfiltration)
	bulkUntil time.Time
	bulkRate  int64 // bytes per second
}

const synTries = 3

func (c *tcpConv) fire(e *Engine) {
	now := e.now
	c.step(e)
	for c.ahead != 0 {
		at := c.ahead
		c.ahead = 0
		e.now = time.Unix(0, at).UTC()
		c.step(e)
	}
	if !e.again && c.state != stRelease {
		// Over, ahead of the clock: its last held packets are handed over
		// when the clock reaches them.
		if last, ok := c.heldUntil(now); ok {
			c.state = stRelease
			e.schedule(last, c)
		}
	}
	e.now = now
}

// later schedules the conversation's next step at t, or, when every packet
// that step sends will be held (hold.go), lets fire take it now, ahead of
// the clock: its packets keep their own times and reach the network only
// when released, never before the clock reaches them (a train is released
// when its Until is due, all its packets being earlier, or by a later step
// of the same conversation, or by stRelease at its last packet). A busy
// day's connections then take four events instead of two dozen.
func (c *tcpConv) later(e *Engine, t time.Time) {
	at := t.UnixNano()
	if e.coalesce && at < e.end.UnixNano() && c.holdsAll(at) {
		c.ahead = at
		return
	}
	e.schedule(t, c)
}

// holdsAll reports whether every packet the next step sends at t (Unix ns)
// would be held.
func (c *tcpConv) holdsAll(t int64) bool {
	cli, srv := t < c.held[fromClient].until, t < c.held[fromServer].until
	switch c.state {
	case stEstablished:
		return cli && (c.bulk == 0 || srv)
	case stRequest, stClose, stLastAck:
		return cli
	case stResponse, stBulk:
		return cli && srv
	case stFinAck:
		return srv
	}
	return false
}

// heldUntil returns the time of the conversation's last held packet when
// it is later than now.
func (c *conv) heldUntil(now time.Time) (time.Time, bool) {
	last := now
	for i := range c.held {
		if f := &c.held[i]; f.pos != 0 && f.train.Time.After(last) {
			last = f.train.Time
		}
	}
	return last, last.After(now)
}

func (c *tcpConv) step(e *Engine) {
	half := c.rtt / 2
	switch c.state {
	case stSyn:
		d, ok := c.send(e, fromClient, c.fromClient(ProtoTCP, FlagSYN, tcpSynHdr, 1))
		if ok {
			c.learn(d)
			c.state = stSynAck
			c.later(e, e.now.Add(half))
			return
		}
		c.retrySyn(e)
	case stSynAck:
		if _, ok := c.send(e, fromServer, c.fromServer(ProtoTCP, FlagSYN|FlagACK, tcpSynHdr, 1)); ok {
			c.state = stEstablished
			c.later(e, e.now.Add(half))
			return
		}
		c.state = stSyn
		c.retrySyn(e)
	case stEstablished:
		c.ackPending = true // sent with the first request or upload, at this instant
		c.tries = 0
		if c.bulk > 0 {
			c.state = stBulk
			secs := int64(c.bulkUntil.Sub(e.now)/time.Second) - 1
			c.bulkRate = max(c.bulk/max(secs, 1), 1)
		} else {
			c.state = stRequest
		}
		c.step(e)
	case stRequest:
		ack := c.ackPending
		c.ackPending = false
		if !c.segments(e, true, c.req[c.i], ack) {
			c.lost(e, true)
			return
		}
		c.tries = 0
		c.state = stResponse
		c.later(e, e.now.Add(half+c.think+transfer(c.req[c.i])))
	case stResponse:
		if n := c.resp[c.i]; n > 0 {
			if !c.segments(e, false, n, false) {
				c.lost(e, false)
				return
			}
			c.tries = 0
			c.acks(e, true, n)
		} else {
			c.sendSteady(e, fromServer, FlagACK, tcpHdr, 1, 0)
		}
		c.i++
		if c.i < c.exchanges {
			c.state = stRequest
			c.later(e, e.now.Add(half+transfer(c.resp[c.i-1])+c.rtt))
			return
		}
		c.state = stClose
		c.later(e, e.now.Add(half+transfer(c.resp[c.i-1])))
	case stBulk:
		chunk := min(c.bulkRate, c.bulk)
		ack := c.ackPending
		c.ackPending = false
		if !c.segments(e, true, int(chunk), ack) {
			c.lost(e, true)
			return
		}
		c.acks(e, false, int(chunk))
		c.bulk -= chunk
		if c.bulk > 0 && e.now.Add(time.Second).Before(c.bulkUntil) {
			c.later(e, e.now.Add(time.Second))
			return
		}
		c.state = stClose
		c.later(e, e.now.Add(half))
	case stClose:
		if c.rst {
			c.sendSteady(e, fromClient, FlagRST|FlagACK, tcpBareHdr, 1, 0)
			return
		}
		if c.sendSteady(e, fromClient, FlagFIN|FlagACK, tcpHdr, 1, 0) {
			c.state = stFinAck
			c.later(e, e.now.Add(half))
		}
	case stFinAck:
		if c.sendSteady(e, fromServer, FlagFIN|FlagACK, tcpHdr, 1, 0) {
			c.state = stLastAck
			c.later(e, e.now.Add(half))
		}
	case stLastAck:
		c.sendSteady(e, fromClient, FlagACK, tcpHdr, 1, 0)
	case stRelease:
		c.releaseHeld(e)
	}
}

// retrySyn schedules the client's next SYN, or gives up.
func (c *tcpConv) retrySyn(e *Engine) {
	c.tries++
	if c.tries >= synTries {
		return
	}
	e.schedule(e.now.Add(time.Second<<(c.tries-1)), c)
}

// lost handles undelivered data: one retransmission after 1 s, then the
// sender resets the connection.
func (c *tcpConv) lost(e *Engine, isClient bool) {
	c.tries++
	if c.tries < 2 {
		e.schedule(e.now.Add(time.Second), c)
		return
	}
	if isClient {
		c.send(e, fromClient, c.fromClient(ProtoTCP, FlagRST|FlagACK, tcpBareHdr, 1))
	} else {
		c.send(e, fromServer, c.fromServer(ProtoTCP, FlagRST|FlagACK, tcpBareHdr, 1))
	}
}

// udpConv is a request datagram, retried after 2 s when unanswered, and its
// response.
type udpConv struct {
	conv
	req, resp int
	retries   int
	answering bool
}

func (c *udpConv) fire(e *Engine) {
	if c.answering {
		if c.resp > 0 {
			e.send(c.st, c.fromServer(ProtoUDP, 0, udpHdr+c.resp, 1))
		}
		return
	}
	d, ok := e.send(c.st, c.fromClient(ProtoUDP, 0, udpHdr+c.req, 1))
	if ok {
		c.learn(d)
		c.answering = true
		e.schedule(e.now.Add(c.rtt/2+200*time.Microsecond), c)
		return
	}
	if c.tries < c.retries {
		c.tries++
		e.schedule(e.now.Add(2*time.Second), c)
	}
}

// icmpConv is a ping: echo requests one second apart and their replies.
type icmpConv struct {
	conv
	left    int
	replied bool
	sentAt  time.Time
}

func (c *icmpConv) echo(reply bool) (proto, typ uint8) {
	if c.cli.Is4() {
		if reply {
			return ProtoICMP, 0
		}
		return ProtoICMP, 8
	}
	if reply {
		return ProtoICMPv6, 129
	}
	return ProtoICMPv6, 128
}

func (c *icmpConv) fire(e *Engine) {
	if c.replied {
		c.replied = false
		proto, typ := c.echo(true)
		p := c.fromServer(proto, 0, 64, 1)
		p.ICMPType = typ
		e.send(c.st, p)
		if c.left > 0 {
			e.schedule(c.sentAt.Add(time.Second), c)
		}
		return
	}
	proto, typ := c.echo(false)
	p := c.fromClient(proto, 0, 64, 1)
	p.SrcPort, p.DstPort, p.ICMPType = 0, 0, typ
	c.left--
	c.sentAt = e.now
	d, ok := e.send(c.st, p)
	if ok {
		c.learn(d)
		c.replied = true
		e.schedule(e.now.Add(c.rtt/2), c)
		return
	}
	if c.left > 0 {
		e.schedule(e.now.Add(time.Second), c)
	}
}

// probeConv is one SYN-scan probe: a SYN (retransmitted once when
// unanswered), answered by RST-ACK from a closed port or SYN-ACK from an
// open one, which the scanner resets.
type probeConv struct {
	conv
	open  bool
	state int
}

func (c *probeConv) fire(e *Engine) {
	switch c.state {
	case 0:
		d, ok := e.send(c.st, c.fromClient(ProtoTCP, FlagSYN, tcpBareHdr+4, 1))
		if ok {
			c.learn(d)
			c.state = 1
			e.schedule(e.now.Add(c.rtt/2), c)
			return
		}
		if c.tries == 0 {
			c.tries++
			e.schedule(e.now.Add(time.Second), c)
		}
	case 1:
		if !c.open {
			e.send(c.st, c.fromServer(ProtoTCP, FlagRST|FlagACK, tcpBareHdr, 1))
			return
		}
		if _, ok := e.send(c.st, c.fromServer(ProtoTCP, FlagSYN|FlagACK, tcpBareHdr+4, 1)); ok {
			c.state = 2
			e.schedule(e.now.Add(c.rtt/2), c)
		}
	case 2:
		e.send(c.st, c.fromClient(ProtoTCP, FlagRST, tcpBareHdr, 1))
	}
}
