package traffic

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
	"vpcflow/internal/yamlerr"
)

// Scenario is a validated scenario bound to a topology.
type Scenario struct {
	Name        string
	Description string
	Start       time.Time
	Duration    time.Duration
	Seed        uint64
	FlowLogs    []FlowLogDoc
	Workloads   []*Workload

	// inside reports whether an address is in one of the topology's VPCs
	// (it chooses the default round-trip time).
	inside func(netip.Addr) bool
}

// End is Start + Duration.
func (s *Scenario) End() time.Time { return s.Start.Add(s.Duration) }

// Incidents lists the workloads that come from incident patterns.
func (s *Scenario) Incidents() []*Workload {
	var out []*Workload
	for _, w := range s.Workloads {
		if w.Pattern != "" {
			out = append(out, w)
		}
	}
	return out
}

// Incident patterns.
const (
	PatternPortScan        = "port-scan"
	PatternSSHBruteForce   = "ssh-brute-force"
	PatternRDPBruteForce   = "rdp-brute-force"
	PatternNACLReturnBlock = "nacl-return-block"
	PatternSGBlockedPort   = "sg-blocked-port"
	PatternExfiltration    = "exfiltration"
	PatternDNSFlood        = "dns-flood"
)

// Patterns lists the incident patterns a scenario may name.
var Patterns = []string{PatternPortScan, PatternSSHBruteForce, PatternRDPBruteForce, PatternNACLReturnBlock, PatternSGBlockedPort, PatternExfiltration, PatternDNSFlood}

type convKind uint8

const (
	convTCP   convKind = iota // handshake, request/response exchanges, FIN or RST
	convUDP                   // request/response datagrams with retries
	convICMP                  // echo requests and replies
	convProbe                 // a SYN scan probe
	convBulk                  // one long upload at a steady rate
)

// Workload is a source of conversations: a steady workload or an incident.
type Workload struct {
	Name        string
	Pattern     string // incident pattern, "" for steady workloads
	Description string
	Expect      string

	Protocol uint8
	Clients  *Endpoints
	Servers  *Endpoints
	Ports    []vpc.PortRange
	Rate     Rate
	Diurnal  Diurnal
	Request  Dist
	Response Dist
	Requests Dist
	RST      bool
	RTT      time.Duration
	Begin    time.Duration // offset from the scenario start
	Length   time.Duration // 0 = until the scenario ends
	Open     []uint16
	Bytes    float64

	kind convKind
}

// Endpoints is a set of addresses a workload picks from.
type Endpoints struct {
	fixed  []netip.Addr
	ranges []netip.Prefix
	// Internet is set when every address is outside the topology's VPCs.
	names []string
}

// String lists the endpoint expressions.
func (e *Endpoints) String() string { return strings.Join(e.names, ", ") }

// Addrs returns the fixed addresses (not the random hosts of CIDRs).
func (e *Endpoints) Addrs() []netip.Addr { return e.fixed }

// pick draws one address.
func (e *Endpoints) pick(r *rand.Rand) netip.Addr {
	n := len(e.fixed) + len(e.ranges)
	i := r.IntN(n)
	if i < len(e.fixed) {
		return e.fixed[i]
	}
	return randomHost(e.ranges[i-len(e.fixed)], r)
}

func randomHost(p netip.Prefix, r *rand.Rand) netip.Addr {
	a := p.Masked().Addr()
	if !a.Is4() {
		b := a.As16()
		for i := p.Bits() / 8; i < 16; i++ {
			host := byte(0xff)
			if i == p.Bits()/8 {
				host >>= p.Bits() % 8 // keep the prefix's bits of a split byte
			}
			b[i] |= byte(r.Uint32()) & host
		}
		return netip.AddrFrom16(b)
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	host := 32 - p.Bits()
	if host >= 2 {
		span := uint32(1)<<host - 2
		v += 1 + r.Uint32N(span)
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// defaultInternet is where "internet" hosts come from when the scenario sets
// no pool: public blocks of several regional registries.
var defaultInternet = []string{"23.0.0.0/8", "45.0.0.0/8", "61.0.0.0/8", "81.0.0.0/8", "101.0.0.0/8", "121.0.0.0/8", "175.0.0.0/8", "211.0.0.0/8"}

// Compile validates a decoded document against a topology. data and name
// are the source bytes and file name, used to give errors their line and
// column.
func Compile(doc *Document, topo *vpc.Topology, data []byte, name string) (*Scenario, error) {
	c := &compiler{topo: topo}
	s := c.compile(doc)
	if len(c.errs) > 0 {
		return nil, yamlerr.Position(data, name, ErrInvalid, c.errs)
	}
	s.inside = func(a netip.Addr) bool { return topo.VPCOf(a) != nil }
	return s, nil
}

type compiler struct {
	topo     *vpc.Topology
	errs     Errors
	internet []netip.Addr
}

func (c *compiler) errf(path, format string, args ...any) {
	c.errs = append(c.errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...), Kind: ErrInvalid})
}

func (c *compiler) compile(doc *Document) *Scenario {
	s := &Scenario{Name: doc.Name, Description: doc.Description, Seed: doc.Seed}
	if doc.Start == "" {
		c.errf("$.start", "missing start time (RFC 3339, e.g. 2026-11-20T00:00:00Z)")
	} else if t, err := time.Parse(time.RFC3339, doc.Start); err != nil {
		c.errf("$.start", "invalid start time %q: expected RFC 3339 such as 2026-11-20T00:00:00Z", doc.Start)
	} else {
		s.Start = t.UTC()
	}
	if doc.Duration == "" {
		c.errf("$.duration", "missing duration (e.g. 24h)")
	} else if d, err := parseOffset(doc.Duration, 0); err != nil || d == 0 {
		c.errf("$.duration", "invalid duration %q: expected a positive duration such as 24h", doc.Duration)
	} else {
		s.Duration = d
	}
	c.buildInternet(doc)
	for i, fl := range doc.FlowLogs {
		c.flowLog(fmt.Sprintf("$.flow_logs[%d]", i), fl)
		s.FlowLogs = append(s.FlowLogs, fl)
	}
	names := map[string]bool{}
	for i, wd := range doc.Workload {
		p := fmt.Sprintf("$.workloads[%d]", i)
		if w := c.workload(p, wd, s.Duration); w != nil {
			if names[w.Name] {
				c.errf(p+".name", "duplicate workload name %q", w.Name)
			}
			names[w.Name] = true
			s.Workloads = append(s.Workloads, w)
		}
	}
	for i, id := range doc.Incident {
		p := fmt.Sprintf("$.incidents[%d]", i)
		if w := c.incident(p, id, s.Duration); w != nil {
			if names[w.Name] {
				c.errf(p+".name", "duplicate name %q", w.Name)
			}
			names[w.Name] = true
			s.Workloads = append(s.Workloads, w)
		}
	}
	if len(s.Workloads) == 0 {
		c.errf("$", "the scenario has no workloads and no incidents")
	}
	return s
}

func (c *compiler) buildInternet(doc *Document) {
	cidrs, hosts := defaultInternet, 5000
	if doc.Internet != nil {
		if len(doc.Internet.CIDRs) > 0 {
			cidrs = doc.Internet.CIDRs
		}
		switch h := doc.Internet.Hosts; {
		case h < 0 || h > maxInternetHosts:
			c.errf("$.internet.hosts", "invalid hosts %d: expected 1 to %d public hosts (default %d)", h, maxInternetHosts, hosts)
		case h > 0:
			hosts = h
		}
	}
	var prefixes []netip.Prefix
	for i, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			c.errf(fmt.Sprintf("$.internet.cidrs[%d]", i), "invalid CIDR %q", s)
			continue
		}
		prefixes = append(prefixes, p.Masked())
	}
	if len(prefixes) == 0 {
		return
	}
	r := rand.New(rand.NewPCG(doc.Seed, 0x1e7e3e7))
	seen := map[netip.Addr]bool{}
	for try := 0; len(c.internet) < hosts && try < hosts*4; try++ {
		a := randomHost(prefixes[r.IntN(len(prefixes))], r)
		if !seen[a] && c.topo.VPCOf(a) == nil {
			seen[a] = true
			c.internet = append(c.internet, a)
		}
	}
}

var validFlowLogDest = map[string]bool{"": true, "s3": true, "cloud-watch-logs": true, "kinesis-data-firehose": true}

func (c *compiler) flowLog(p string, fl FlowLogDoc) {
	if fl.Resource == "" {
		c.errf(p, "missing resource (a vpc-, subnet- or eni- id)")
	} else {
		switch {
		case strings.HasPrefix(fl.Resource, "vpc-"):
			if c.topo.VPC(fl.Resource) == nil {
				c.errf(p+".resource", "unknown VPC %q", fl.Resource)
			}
		case strings.HasPrefix(fl.Resource, "subnet-"):
			if c.topo.Subnet(fl.Resource) == nil {
				c.errf(p+".resource", "unknown subnet %q", fl.Resource)
			}
		case strings.HasPrefix(fl.Resource, "eni-"):
			if c.topo.Interface(fl.Resource) == nil {
				c.errf(p+".resource", "unknown network interface %q", fl.Resource)
			}
		default:
			c.errf(p+".resource", "invalid resource %q: expected a vpc-, subnet- or eni- id", fl.Resource)
		}
	}
	switch fl.TrafficType {
	case "", "ALL", "ACCEPT", "REJECT":
	default:
		c.errf(p+".traffic_type", "invalid traffic_type %q: expected ALL, ACCEPT or REJECT", fl.TrafficType)
	}
	if !validFlowLogDest[fl.Destination] {
		c.errf(p+".destination", "invalid destination %q: expected s3, cloud-watch-logs or kinesis-data-firehose", fl.Destination)
	}
	switch fl.MaxAggregationInterval {
	case 0, 60, 600:
	default:
		c.errf(p+".max_aggregation_interval", "invalid max_aggregation_interval %d: expected 60 or 600", fl.MaxAggregationInterval)
	}
	switch fl.FileFormat {
	case "", "plain-text", "parquet":
	default:
		c.errf(p+".file_format", "invalid file_format %q: expected plain-text or parquet", fl.FileFormat)
	}
	if fl.LogFormat != "" {
		if _, err := flow.ParseFormat(fl.LogFormat); err != nil {
			c.errf(p+".log_format", "invalid log_format: %v", err)
		}
	}
}

func (c *compiler) protocol(p, s string) uint8 {
	switch strings.ToLower(s) {
	case "tcp":
		return ProtoTCP
	case "udp":
		return ProtoUDP
	case "icmp":
		return ProtoICMP
	case "":
		c.errf(p, "missing protocol (tcp, udp or icmp)")
	default:
		c.errf(p, "invalid protocol %q: expected tcp, udp or icmp", s)
	}
	return 0
}

func (c *compiler) workload(p string, d WorkloadDoc, total time.Duration) *Workload {
	w := &Workload{Name: d.Name}
	if d.Name == "" {
		c.errf(p, "missing name")
	}
	w.Protocol = c.protocol(p+".protocol", d.Protocol)
	switch w.Protocol {
	case ProtoTCP:
		w.kind = convTCP
	case ProtoUDP:
		w.kind = convUDP
	case ProtoICMP:
		w.kind = convICMP
	}
	w.Clients = c.endpoints(p+".clients", d.Clients)
	w.Servers = c.endpoints(p+".servers", d.Servers)
	if w.Protocol != ProtoICMP {
		w.Ports = c.ports(p+".port", string(d.Port), true)
	}
	w.Rate = c.rate(p+".rate", string(d.Rate), true)
	if d.Diurnal != nil {
		w.Diurnal = c.diurnal(p+".diurnal", *d.Diurnal)
	}
	w.Request = c.limitDist(p+".request", string(d.Request), Fixed(500), maxMessage, "1e12 bytes (a terabyte) per request")
	w.Response = c.limitDist(p+".response", string(d.Response), Fixed(2000), maxMessage, "1e12 bytes (a terabyte) per response")
	w.Requests = c.limitDist(p+".requests", string(d.Requests), Fixed(1), maxRequests, "100000 request/response exchanges per connection")
	switch d.Close {
	case "", "fin":
	case "rst":
		w.RST = true
	default:
		c.errf(p+".close", "invalid close %q: expected fin or rst", d.Close)
	}
	w.RTT = c.duration(p+".rtt", d.RTT, 0)
	c.window(p, w, d.Start, d.Duration, total)
	return w
}

func (c *compiler) window(p string, w *Workload, start, dur string, total time.Duration) {
	w.Begin = c.duration(p+".start", start, 0)
	w.Length = c.duration(p+".duration", dur, 0)
	if total > 0 && w.Begin >= total {
		c.errf(p+".start", "starts at %s, after the scenario ends (%s)", w.Begin, total)
	}
}

// incidentDefaults gives each pattern its protocol, conversation shape,
// ports and rate.
var incidentDefaults = map[string]struct {
	proto uint8
	kind  convKind
	ports string
	rate  string
	req   string
	resp  string
	n     string
}{
	PatternPortScan:        {ProtoTCP, convProbe, "1-1024", "20/s", "0", "0", "1"},
	PatternSSHBruteForce:   {ProtoTCP, convTCP, "22", "2/s", "uniform(600, 1400)", "uniform(900, 1800)", "uniform(2, 6)"},
	PatternRDPBruteForce:   {ProtoTCP, convTCP, "3389", "2/s", "uniform(1500, 3000)", "uniform(1500, 4000)", "uniform(1, 3)"},
	PatternNACLReturnBlock: {ProtoTCP, convTCP, "443", "1/s", "lognormal(800, 0.5)", "lognormal(6000, 1)", "1"},
	PatternSGBlockedPort:   {ProtoTCP, convTCP, "8080", "1/s", "300", "2000", "1"},
	PatternExfiltration:    {ProtoTCP, convBulk, "443", "1/h", "0", "0", "1"},
	PatternDNSFlood:        {ProtoUDP, convUDP, "53", "200/s", "uniform(40, 80)", "uniform(90, 500)", "1"},
}

func (c *compiler) incident(p string, d IncidentDoc, total time.Duration) *Workload {
	def, ok := incidentDefaults[d.Pattern]
	if !ok {
		c.errf(p+".pattern", "unknown pattern %q: expected one of %s", d.Pattern, strings.Join(Patterns, ", "))
		return nil
	}
	w := &Workload{
		Name: d.Name, Pattern: d.Pattern, Description: d.Description, Expect: d.Expect,
		Protocol: def.proto, kind: def.kind,
	}
	if w.Name == "" {
		w.Name = d.Pattern
	}
	w.Clients = c.endpoints(p+".from", d.From)
	w.Servers = c.endpoints(p+".targets", d.Targets)
	ports := string(d.Ports)
	if ports == "" {
		ports = def.ports
	}
	w.Ports = c.ports(p+".ports", ports, true)
	rate := string(d.Rate)
	if rate == "" {
		rate = def.rate
	}
	w.Rate = c.rate(p+".rate", rate, true)
	w.Request, _ = ParseDist(def.req)
	w.Response, _ = ParseDist(def.resp)
	w.Requests, _ = ParseDist(def.n)
	if d.Pattern == PatternSSHBruteForce || d.Pattern == PatternRDPBruteForce {
		w.Request, w.Response = Dist{kind: distUniform, a: 600, b: 1400}, Dist{kind: distUniform, a: 900, b: 1800}
	}
	for i, o := range d.Open {
		if o < 1 || o > 65535 {
			c.errf(fmt.Sprintf("%s.open[%d]", p, i), "invalid port %d", o)
			continue
		}
		w.Open = append(w.Open, uint16(o))
	}
	if d.Pattern == PatternExfiltration {
		if d.Bytes == "" {
			c.errf(p, "exfiltration needs bytes (e.g. 2GB)")
		} else if v, err := parseQuantity(string(d.Bytes)); err != nil || v <= 0 {
			c.errf(p+".bytes", "invalid bytes %q: expected a size such as 500MB or 2GB", d.Bytes)
		} else if v > maxBulk {
			c.errf(p+".bytes", "invalid bytes %q: at most 1e15 (a petabyte)", d.Bytes)
		} else {
			w.Bytes = v
		}
	} else if d.Bytes != "" {
		c.errf(p+".bytes", "bytes applies only to the exfiltration pattern")
	}
	if d.Start == "" {
		c.errf(p, "missing start (offset from the scenario start, e.g. 3h15m)")
	}
	if d.Duration == "" {
		c.errf(p, "missing duration (e.g. 10m)")
	}
	c.window(p, w, d.Start, d.Duration, total)
	return w
}

func (c *compiler) duration(p, s string, def time.Duration) time.Duration {
	d, err := parseOffset(s, def)
	if err != nil {
		c.errf(p, "%v", err)
	}
	return d
}

func (c *compiler) rate(p, s string, required bool) Rate {
	if s == "" {
		if required {
			c.errf(p, "missing rate (e.g. 5/s, 120/m, 300/h)")
		}
		return 0
	}
	r, err := ParseRate(s)
	if err != nil {
		c.errf(p, "%v", err)
	} else if r > maxRate {
		c.errf(p, "invalid rate %q: at most %d/s (conversations a second)", s, maxRate)
	}
	return r
}

func (c *compiler) dist(p, s string, def Dist) Dist {
	if s == "" {
		return def
	}
	d, err := ParseDist(s)
	if err != nil {
		c.errf(p, "%v", err)
	}
	return d
}

// limitDist parses a distribution that sizes what the engine builds and
// checks it against limit: every draw of a fixed or uniform one, the mean
// of an exp or lognormal one (whose draws the engine cuts to limit).
// bound says limit in words.
func (c *compiler) limitDist(p, s string, def Dist, limit float64, bound string) Dist {
	d := c.dist(p, s, def)
	switch {
	case s == "":
	case d.upper() <= limit:
	case math.IsInf(d.upper(), 1) && d.Mean() <= limit:
	case math.IsInf(d.upper(), 1):
		c.errf(p, "invalid distribution %q: the mean may be at most %s (draws above it are cut to it)", s, bound)
	default:
		c.errf(p, "invalid distribution %q: at most %s", s, bound)
	}
	return d
}

func (c *compiler) diurnal(p string, d DiurnalDoc) Diurnal {
	t, err := time.Parse("15:04", d.Peak)
	if err != nil {
		c.errf(p+".peak", "invalid peak %q: expected HH:MM (UTC)", d.Peak)
	}
	if d.Trough < 0 || d.Trough > 1 {
		c.errf(p+".trough", "invalid trough %v: expected a fraction between 0 and 1", d.Trough)
	}
	return Diurnal{Peak: time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, Trough: d.Trough, On: true}
}

func (c *compiler) ports(p, s string, required bool) []vpc.PortRange {
	if s == "" {
		if required {
			c.errf(p, "missing port (N, N-M or a list N,M-K)")
		}
		return nil
	}
	var out []vpc.PortRange
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		}
		if err1 != nil || err2 != nil || a > b {
			c.errf(p, "invalid port %q: expected N, N-M or a list N,M-K with ports 0-65535", s)
			return nil
		}
		out = append(out, vpc.PortRange{From: uint16(a), To: uint16(b)})
	}
	return out
}

// endpoints resolves endpoint expressions:
//
//	internet          the scenario's pool of public hosts
//	internet:N        N hosts of that pool (the same N for the same seed)
//	eni-… or a name   the interface's primary private IPv4
//	eni-…:public      its public (or first Elastic) IPv4
//	subnet-…          every instance interface of the subnet
//	203.0.113.7       an address
//	203.0.113.0/24    random hosts of a CIDR
func (c *compiler) endpoints(p string, exprs []string) *Endpoints {
	e := &Endpoints{names: exprs}
	if len(exprs) == 0 {
		c.errf(p, "no endpoints: expected internet, internet:N, an interface id or name, a subnet id, an IP or a CIDR")
		return e
	}
	for i, x := range exprs {
		ip := fmt.Sprintf("%s[%d]", p, i)
		x = strings.TrimSpace(x)
		switch {
		case x == "internet" || strings.HasPrefix(x, "internet:"):
			n := len(c.internet)
			if _, num, ok := strings.Cut(x, ":"); ok {
				v, err := strconv.Atoi(num)
				if err != nil || v < 1 {
					c.errf(ip, "invalid %q: expected internet:N with N ≥ 1", x)
					continue
				}
				n = min(v, len(c.internet))
			}
			// A stable subset: hash the expression into an offset.
			h := fnv.New64a()
			h.Write([]byte(p))
			off := 0
			if len(c.internet) > 0 {
				off = int(h.Sum64() % uint64(len(c.internet)))
			}
			for k := range n {
				e.fixed = append(e.fixed, c.internet[(off+k)%len(c.internet)])
			}
		case strings.Contains(x, "/"):
			pr, err := netip.ParsePrefix(x)
			if err != nil {
				c.errf(ip, "invalid CIDR %q", x)
				continue
			}
			e.ranges = append(e.ranges, pr.Masked())
		default:
			if a, err := netip.ParseAddr(x); err == nil {
				e.fixed = append(e.fixed, a.Unmap())
				continue
			}
			name, public := strings.CutSuffix(x, ":public")
			if sn := c.subnet(name); sn != nil && !public {
				n := 0
				for _, eni := range c.topo.InterfacesInSubnet(sn.ID) {
					if eni.InstanceID != "" || eni.Owner == "instance" {
						e.fixed = append(e.fixed, eni.PrimaryIP)
						n++
					}
				}
				if n == 0 {
					c.errf(ip, "subnet %q has no instance interfaces", x)
				}
				continue
			}
			eni := c.iface(name)
			if eni == nil {
				c.errf(ip, "unknown endpoint %q: not an interface id or name, subnet id, IP, CIDR or internet[:N]", x)
				continue
			}
			if public {
				if len(eni.PublicIPs) == 0 {
					c.errf(ip, "interface %s has no public or Elastic IP", eni.ID)
					continue
				}
				e.fixed = append(e.fixed, eni.PublicIPs[0].Public)
				continue
			}
			e.fixed = append(e.fixed, eni.PrimaryIP)
		}
	}
	return e
}

func (c *compiler) iface(name string) *vpc.Interface {
	if e := c.topo.Interface(name); e != nil {
		return e
	}
	for _, e := range c.topo.Interfaces {
		if e.Name == name {
			return e
		}
	}
	if n := c.topo.NATGateway(name); n != nil {
		return c.topo.Interface(n.InterfaceID)
	}
	return nil
}

func (c *compiler) subnet(name string) *vpc.Subnet {
	if s := c.topo.Subnet(name); s != nil {
		return s
	}
	for _, s := range c.topo.Subnets {
		if s.Name == name {
			return s
		}
	}
	return nil
}
