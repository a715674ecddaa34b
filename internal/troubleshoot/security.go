package troubleshoot

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"vpcflow/internal/flow"
)

type sourceStats struct {
	ports       map[uint16]struct{}
	hosts       map[netip.Addr]struct{}
	hostsOnPort map[uint16]map[netip.Addr]struct{}
	accept      int
	reject      int
	first, last int64
	interfaces  map[string]struct{}
}

// requestCounts sums the request records of a conversation over its views,
// counting each request once: the server side when logged, else the client.
func requestCounts(c *Conversation) (accept, reject int) {
	var sa, sr, ca, cr int
	for _, v := range c.Views {
		sa += v.ReqIn.Accept
		sr += v.ReqIn.Reject
		ca += v.ReqOut.Accept
		cr += v.ReqOut.Reject
	}
	if sa+sr > 0 {
		// a request rejected on the client side never reaches the server
		return sa, sr + cr
	}
	return ca, cr
}

// campaign is hostile activity that blocked traffic belongs to.
type campaign struct {
	Label  string // "port scan by 185.220.101.77", "SSH brute force on 10.0.0.30:22"
	Advice string
	// Responses: the responses to it should stay blocked too (floods).
	Responses bool
	// AnyService: every conversation of the source is part of it (a port
	// scan); else only those to Server, Port and Proto (brute force and
	// floods come from address pools that also carry ordinary traffic).
	AnyService bool
	Server     netip.Addr
	Port       uint16
	Proto      uint8
}

// mark records that src takes part in a campaign.
func (a *analysis) mark(src netip.Addr, c *campaign) {
	a.hostile[src] = append(a.hostile[src], c)
}

// campaignOf returns the hostile campaign a conversation belongs to, or nil.
func (a *analysis) campaignOf(c *Conversation) *campaign {
	for _, h := range a.hostile[c.Client] {
		if h.AnyService || (h.Server == c.Server && h.Port == c.Port && h.Proto == c.Protocol) {
			return h
		}
	}
	return nil
}

// security finds port scans, SSH/RDP brute force, floods and unusual
// egress. It also fills a.hostile for the fix advice.
func (a *analysis) security() []Finding {
	var out []Finding
	stats := map[netip.Addr]*sourceStats{}
	var order []netip.Addr
	for _, c := range a.convs {
		acc, rej := requestCounts(c)
		if acc+rej == 0 {
			continue
		}
		s := stats[c.Client]
		if s == nil {
			s = &sourceStats{ports: map[uint16]struct{}{}, hosts: map[netip.Addr]struct{}{},
				hostsOnPort: map[uint16]map[netip.Addr]struct{}{}, interfaces: map[string]struct{}{}, first: c.First}
			stats[c.Client] = s
			order = append(order, c.Client)
		}
		s.ports[c.Port] = struct{}{}
		s.hosts[c.Server] = struct{}{}
		hp := s.hostsOnPort[c.Port]
		if hp == nil {
			hp = map[netip.Addr]struct{}{}
			s.hostsOnPort[c.Port] = hp
		}
		hp[c.Server] = struct{}{}
		s.accept += acc
		s.reject += rej
		s.first = min(s.first, c.First)
		s.last = max(s.last, c.Last)
		for _, v := range c.Views {
			s.interfaces[v.Interface] = struct{}{}
		}
	}
	for _, src := range order {
		s := stats[src]
		widest := 0
		var widestPort uint16
		for p, hs := range s.hostsOnPort {
			if len(hs) > widest || (len(hs) == widest && p < widestPort) {
				widest, widestPort = len(hs), p
			}
		}
		total := s.accept + s.reject
		if total == 0 || float64(s.reject) < 0.5*float64(total) {
			continue
		}
		if len(s.ports) < a.opts.ScanPorts && widest < a.opts.ScanHosts {
			continue
		}
		sev := "warning"
		if s.accept > 0 {
			sev = "high"
		}
		f := Finding{Kind: KindPortScan, Severity: sev, Client: src, Records: total, First: s.first, Last: s.last, Confidence: High,
			Summary: fmt.Sprintf("%s probed %d ports on %d hosts (%d attempts, %.0f%% rejected)", src, len(s.ports), len(s.hosts), total,
				100*float64(s.reject)/float64(total))}
		if widest >= a.opts.ScanHosts {
			f.Summary += fmt.Sprintf("; %d hosts on port %d", widest, widestPort)
		}
		if s.accept > 0 {
			f.Detail = fmt.Sprintf("%d probes were ACCEPTed: those ports are open to this source", s.accept)
		} else {
			f.Detail = "every probe was rejected: the rules hold; keep them"
		}
		out = append(out, f)
		a.mark(src, &campaign{Label: "port scan by " + src.String(),
			Advice: "keep it blocked: " + f.Summary, AnyService: true})
	}
	out = append(out, a.bruteForce()...)
	out = append(out, a.floods()...)
	out = append(out, a.egressVolume()...)
	return out
}

// egressVolume flags interfaces that send far more bytes out of the VPC
// than usual: in one hour compared with their own median hour (a burst,
// such as an exfiltration at night), or in total compared with the other
// interfaces.
func (a *analysis) egressVolume() []Finding {
	type vol struct {
		bytes   int64
		records int
		hours   map[int64]int64
		top     map[int64]map[netip.Addr]int64 // per hour, per destination
		dests   map[netip.Addr]int64
	}
	per := map[string]*vol{}
	for _, i := range a.idx {
		r := &a.recs[i]
		if r.Action != flow.ActionAccept || !egress(r, a.own[r.InterfaceID]) {
			continue
		}
		_, dst := endpoints(r)
		if !publicOutside(a.opts.Topology, dst.addr) {
			continue
		}
		if a.opts.Interface != "" && r.InterfaceID != a.opts.Interface {
			continue
		}
		v := per[r.InterfaceID]
		if v == nil {
			v = &vol{hours: map[int64]int64{}, top: map[int64]map[netip.Addr]int64{}, dests: map[netip.Addr]int64{}}
			per[r.InterfaceID] = v
		}
		h := r.Start / 3600
		v.bytes += r.Bytes
		v.records++
		v.hours[h] += r.Bytes
		if v.top[h] == nil {
			v.top[h] = map[netip.Addr]int64{}
		}
		v.top[h][dst.addr] += r.Bytes
		v.dests[dst.addr] += r.Bytes
	}
	if len(per) == 0 {
		return nil
	}
	topOf := func(m map[netip.Addr]int64) (netip.Addr, int64) {
		var best netip.Addr
		var bestB int64 = -1
		for d, b := range m {
			if b > bestB || (b == bestB && d.Less(best)) {
				best, bestB = d, b
			}
		}
		return best, bestB
	}
	median := func(xs []int64) int64 {
		slices.Sort(xs)
		if len(xs)%2 == 0 {
			return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
		}
		return xs[len(xs)/2]
	}
	var all []int64
	for _, v := range per {
		all = append(all, v.bytes)
	}
	fleetMedian := median(all)
	enis := make([]string, 0, len(per))
	for k := range per {
		enis = append(enis, k)
	}
	slices.Sort(enis)
	var out []Finding
	for _, eni := range enis {
		v := per[eni]
		// A burst: one hour far above the interface's own median hour.
		if len(v.hours) >= 6 {
			var hs []int64
			var peak, peakB int64 = 0, -1
			for h, b := range v.hours {
				hs = append(hs, b)
				if b > peakB || (b == peakB && h < peak) {
					peak, peakB = h, b
				}
			}
			med := median(hs)
			if peakB >= a.opts.EgressMinBytes && float64(peakB) >= a.opts.EgressFactor*float64(max(med, 1)) {
				dst, db := topOf(v.top[peak])
				out = append(out, Finding{Kind: KindEgressVolume, Severity: "high", Interface: eni, Server: dst, Confidence: Medium,
					First: peak * 3600, Last: (peak + 1) * 3600,
					Summary: fmt.Sprintf("%s sent %s out of the VPC in the hour from %s, %s of it to %s; its median hour is %s",
						eni, humanBytes(peakB), unix(peak*3600), humanBytes(db), dst, humanBytes(med)),
					Detail: fmt.Sprintf("%.0fx its usual hourly egress: check for exfiltration or a runaway job", float64(peakB)/float64(max(med, 1)))})
				continue
			}
		}
		// A heavy interface: far above the others in total.
		if v.bytes < a.opts.EgressMinBytes || (len(per) >= 3 && float64(v.bytes) < a.opts.EgressFactor*float64(fleetMedian)) {
			continue
		}
		dst, db := topOf(v.dests)
		f := Finding{Kind: KindEgressVolume, Severity: "warning", Interface: eni, Server: dst, Records: v.records, Confidence: Medium,
			Summary: fmt.Sprintf("%s sent %s out of the VPC, %s of it to %s", eni, humanBytes(v.bytes), humanBytes(db), dst)}
		if len(per) >= 3 {
			f.Detail = fmt.Sprintf("%.0fx the median of the %d interfaces with egress (%s): check for exfiltration or a runaway job",
				float64(v.bytes)/float64(max(fleetMedian, 1)), len(per), humanBytes(fleetMedian))
		} else {
			f.Detail = fmt.Sprintf("over the %s threshold", humanBytes(a.opts.EgressMinBytes))
		}
		out = append(out, f)
	}
	return out
}

func humanBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

// topRejected ranks the sources of REJECT records.
func (a *analysis) topRejected() []Source {
	type acc struct {
		Source
		ports map[uint16]struct{}
		hosts map[netip.Addr]struct{}
		enis  map[string]struct{}
	}
	// A rejected record counts for the conversation's client, whose
	// traffic it is: a rejected response is the client's request failing,
	// not the server reaching out to the client's ports.
	m := map[netip.Addr]*acc{}
	for _, c := range a.convs {
		for _, i := range c.records {
			r := &a.recs[i]
			if r.Action != flow.ActionReject {
				continue
			}
			if a.opts.Interface != "" && r.InterfaceID != a.opts.Interface {
				continue
			}
			s := m[c.Client]
			if s == nil {
				s = &acc{Source: Source{Addr: c.Client}, ports: map[uint16]struct{}{}, hosts: map[netip.Addr]struct{}{}, enis: map[string]struct{}{}}
				m[c.Client] = s
			}
			s.Records++
			s.Packets += r.Packets
			if src, _ := endpoints(r); src.addr != c.Client {
				s.Responses++
			}
			s.ports[c.Port] = struct{}{}
			s.hosts[c.Server] = struct{}{}
			s.enis[r.InterfaceID] = struct{}{}
		}
	}
	out := make([]Source, 0, len(m))
	for _, s := range m {
		s.Ports, s.Hosts, s.Interface = len(s.ports), len(s.hosts), len(s.enis)
		out = append(out, s.Source)
	}
	slices.SortFunc(out, func(x, y Source) int {
		if c := cmp.Compare(y.Records, x.Records); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Packets, x.Packets); c != 0 {
			return c
		}
		return x.Addr.Compare(y.Addr)
	})
	if len(out) > a.opts.TopN {
		out = out[:a.opts.TopN]
	}
	return out
}

type serviceKey struct {
	server netip.Addr
	port   uint16
	proto  uint8
}

// bruteForce finds many connections to SSH or RDP from one source, and
// groups the sources attacking one server port into one finding.
func (a *analysis) bruteForce() []Finding {
	type attack struct {
		sources     []netip.Addr
		attempts    map[netip.Addr]int
		acc, rej    int
		first, last int64
	}
	attacks := map[serviceKey]*attack{}
	var order []serviceKey
	for _, c := range a.convs {
		if c.Protocol != 6 || (c.Port != 22 && c.Port != 3389) {
			continue
		}
		acc, rej := requestCounts(c)
		attempts := max(c.ClientPorts, acc+rej)
		if attempts < a.opts.BruteForceAttempts {
			continue
		}
		k := serviceKey{c.Server, c.Port, 6}
		at := attacks[k]
		if at == nil {
			at = &attack{attempts: map[netip.Addr]int{}, first: c.First}
			attacks[k] = at
			order = append(order, k)
		}
		if _, ok := at.attempts[c.Client]; !ok {
			at.sources = append(at.sources, c.Client)
		}
		at.attempts[c.Client] += attempts
		at.acc += acc
		at.rej += rej
		at.first = min(at.first, c.First)
		at.last = max(at.last, c.Last)
	}
	var out []Finding
	for _, k := range order {
		at := attacks[k]
		name := "SSH"
		if k.port == 3389 {
			name = "RDP"
		}
		slices.SortFunc(at.sources, func(x, y netip.Addr) int {
			return cmp.Or(cmp.Compare(at.attempts[y], at.attempts[x]), x.Compare(y))
		})
		total := 0
		for _, n := range at.attempts {
			total += n
		}
		f := Finding{Kind: KindBruteForce, Severity: "warning", Client: at.sources[0], Server: k.server, Port: k.port, Protocol: 6,
			Records: at.acc + at.rej, First: at.first, Last: at.last, Confidence: Medium, Sources: len(at.sources)}
		if len(at.sources) == 1 {
			f.Summary = fmt.Sprintf("%s brute force: %s made %d connection attempts to %s:%d", name, at.sources[0], total, k.server, k.port)
		} else {
			top := make([]string, 0, 5)
			for _, src := range at.sources[:min(5, len(at.sources))] {
				top = append(top, fmt.Sprintf("%s (%d)", src, at.attempts[src]))
			}
			f.Summary = fmt.Sprintf("%s brute force on %s:%d from %d sources, %d connection attempts; most active: %s",
				name, k.server, k.port, len(at.sources), total, strings.Join(top, ", "))
		}
		f.Detail = "every attempt was rejected: the rules hold; keep them"
		if at.acc > 0 {
			f.Severity = "high"
			f.Detail = fmt.Sprintf("%d attempts were ACCEPTed: the port is open to them; restrict it to known addresses (or use a bastion / Session Manager)", at.acc)
		}
		out = append(out, f)
		c := &campaign{Label: fmt.Sprintf("%s brute force on %s:%d", name, k.server, k.port),
			Advice: fmt.Sprintf("keep it blocked: %s brute force (%d sources, %d attempts)", name, len(at.sources), total),
			Server: k.server, Port: k.port, Proto: 6}
		for _, src := range at.sources {
			a.mark(src, c)
		}
	}
	return out
}

// floodBucket is the width of the time buckets floods are counted in.
const floodBucket = 300

// floods finds services that receive, in one 5-minute bucket, at least
// FloodRequests requests from at least 20 sources and 10 times their median
// bucket: a flood (DNS amplification through an open resolver, SYN flood).
func (a *analysis) floods() []Finding {
	type bucket struct {
		requests int
		clients  map[netip.Addr]struct{}
		rejected int // rejected responses
	}
	per := map[serviceKey]map[int64]*bucket{}
	var order []serviceKey
	for _, c := range a.convs {
		k := serviceKey{c.Server, c.Port, c.Protocol}
		m := per[k]
		if m == nil {
			m = map[int64]*bucket{}
			per[k] = m
			order = append(order, k)
		}
		// A request logged at both ends counts once: at the server's
		// interface when it logged the conversation.
		serverLogged := slices.ContainsFunc(c.Views, func(v *View) bool { return v.ReqIn.records() > 0 })
		for _, i := range c.records {
			r := &a.recs[i]
			src, _ := endpoints(r)
			b := m[r.Start/floodBucket]
			if b == nil {
				b = &bucket{clients: map[netip.Addr]struct{}{}}
				m[r.Start/floodBucket] = b
			}
			if src.addr == c.Client {
				out := egress(r, a.own[r.InterfaceID])
				if !out || (!serverLogged && r.Action == flow.ActionAccept) {
					b.requests++
					b.clients[c.Client] = struct{}{}
				}
			} else if r.Action == flow.ActionReject {
				b.rejected++
			}
		}
	}
	var out []Finding
	for _, k := range order {
		m := per[k]
		counts := make([]int, 0, len(m))
		for _, b := range m {
			counts = append(counts, b.requests)
		}
		slices.Sort(counts)
		median := counts[len(counts)/2]
		if len(counts) < 3 {
			median = 0
		}
		var worst int64 = -1
		for t, b := range m {
			if b.requests < a.opts.FloodRequests || len(b.clients) < 20 || float64(b.requests) < 10*float64(median) {
				continue
			}
			if worst < 0 || b.requests > m[worst].requests {
				worst = t
			}
		}
		if worst < 0 {
			continue
		}
		b := m[worst]
		svc := service(k.proto, k.port)
		f := Finding{Kind: KindFlood, Severity: "high", Server: k.server, Port: k.port, Protocol: k.proto, Records: b.requests,
			First: worst * floodBucket, Last: (worst + 1) * floodBucket, Confidence: Medium, Sources: len(b.clients),
			Summary: fmt.Sprintf("flood of %s on %s: %d requests from %d sources in 5 minutes (median %d)", svc, k.server, b.requests, len(b.clients), median)}
		advice := "keep it blocked; filter or rate-limit it upstream"
		if k.port == 53 && k.proto == 17 {
			f.Detail = "an open DNS resolver used for amplification: restrict inbound udp/53 to the networks that need it"
			advice = "keep the answers blocked and stop accepting the queries: restrict inbound udp/53 (open resolver used for amplification)"
		}
		if b.rejected > 0 {
			f.Detail += fmt.Sprintf("; %d responses were REJECTed", b.rejected)
			f.Detail = strings.TrimPrefix(f.Detail, "; ")
		}
		out = append(out, f)
		c := &campaign{Label: fmt.Sprintf("%s flood on %s", svc, k.server), Advice: advice, Responses: true,
			Server: k.server, Port: k.port, Proto: k.proto}
		for src := range b.clients {
			if publicOutside(a.opts.Topology, src) {
				a.mark(src, c)
			}
		}
	}
	return out
}
