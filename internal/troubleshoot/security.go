package troubleshoot

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

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

// security finds port scans, SSH/RDP brute force and unusual egress. It
// also fills a.hostile for the fix advice.
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
		a.hostile[src] = "is scanning ports (" + f.Summary + ")"
	}
	// Brute force: many connections from one source to SSH or RDP.
	for _, c := range a.convs {
		if c.Protocol != 6 || (c.Port != 22 && c.Port != 3389) {
			continue
		}
		acc, rej := requestCounts(c)
		attempts := max(c.ClientPorts, acc+rej)
		if attempts < a.opts.BruteForceAttempts {
			continue
		}
		name := "SSH"
		if c.Port == 3389 {
			name = "RDP"
		}
		sev := "warning"
		detail := "every attempt was rejected"
		if acc > 0 {
			sev = "high"
			detail = fmt.Sprintf("%d attempts were ACCEPTed: the port is open to this source; restrict it", acc)
		}
		out = append(out, Finding{Kind: KindBruteForce, Severity: sev, Client: c.Client, Server: c.Server, Port: c.Port, Protocol: 6,
			Records: acc + rej, First: c.First, Last: c.Last, Confidence: Medium,
			Summary: fmt.Sprintf("%s brute force: %s made %d connection attempts to %s:%d", name, c.Client, attempts, c.Server, c.Port),
			Detail:  detail})
		if _, ok := a.hostile[c.Client]; !ok {
			a.hostile[c.Client] = fmt.Sprintf("is brute-forcing %s (%d attempts)", name, attempts)
		}
	}
	out = append(out, a.egressVolume()...)
	return out
}

// egressVolume flags interfaces that send far more bytes out of the VPC than
// the others.
func (a *analysis) egressVolume() []Finding {
	type vol struct {
		bytes   int64
		records int
		top     map[netip.Addr]int64
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
			v = &vol{top: map[netip.Addr]int64{}}
			per[r.InterfaceID] = v
		}
		v.bytes += r.Bytes
		v.records++
		v.top[dst.addr] += r.Bytes
	}
	if len(per) == 0 {
		return nil
	}
	var all []int64
	for _, v := range per {
		all = append(all, v.bytes)
	}
	slices.Sort(all)
	median := all[len(all)/2]
	if len(all)%2 == 0 {
		median = (all[len(all)/2-1] + all[len(all)/2]) / 2
	}
	var out []Finding
	enis := make([]string, 0, len(per))
	for k := range per {
		enis = append(enis, k)
	}
	slices.Sort(enis)
	for _, eni := range enis {
		v := per[eni]
		if v.bytes < a.opts.EgressMinBytes {
			continue
		}
		if len(per) >= 3 && float64(v.bytes) < a.opts.EgressFactor*float64(median) {
			continue
		}
		var topDst netip.Addr
		var topB int64
		for d, b := range v.top {
			if b > topB || (b == topB && d.Less(topDst)) {
				topDst, topB = d, b
			}
		}
		f := Finding{Kind: KindEgressVolume, Severity: "warning", Interface: eni, Server: topDst, Records: v.records, Confidence: Medium,
			Summary: fmt.Sprintf("%s sent %s out of the VPC, %s of it to %s", eni, humanBytes(v.bytes), humanBytes(topB), topDst)}
		if len(per) >= 3 {
			f.Detail = fmt.Sprintf("%.0fx the median of the %d interfaces with egress (%s): check for exfiltration or a runaway job",
				float64(v.bytes)/float64(max(median, 1)), len(per), humanBytes(median))
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
	m := map[netip.Addr]*acc{}
	for _, i := range a.idx {
		r := &a.recs[i]
		if r.Action != flow.ActionReject {
			continue
		}
		if a.opts.Interface != "" && r.InterfaceID != a.opts.Interface {
			continue
		}
		src, dst := endpoints(r)
		s := m[src.addr]
		if s == nil {
			s = &acc{Source: Source{Addr: src.addr}, ports: map[uint16]struct{}{}, hosts: map[netip.Addr]struct{}{}, enis: map[string]struct{}{}}
			m[src.addr] = s
		}
		s.Records++
		s.Packets += r.Packets
		s.ports[dst.port] = struct{}{}
		s.hosts[dst.addr] = struct{}{}
		s.enis[r.InterfaceID] = struct{}{}
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
