// Package troubleshoot answers the questions people ask of flow logs: which
// conversations are blocked and by which layer (security group or network
// ACL, and with a topology which rule), what is ACCEPTed but still broken,
// who is scanning or brute-forcing, and what a proposed SG/NACL change would
// do to the recorded traffic.
//
// It works on any AWS flow log records, default format included. Without a
// topology it applies the four troubleshooting rules of the study notes
// (Classify); with one it replays the rejected conversations through the
// security groups and network ACLs and names the rule.
package troubleshoot

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// Options tune a diagnosis. The zero value is usable.
type Options struct {
	// Topology, when set, is used to replay rejected conversations, name
	// the rule and check routes and NAT gateways.
	Topology *vpc.Topology
	// Interface keeps only conversations logged on this ENI.
	Interface string
	// Since and Until bound the records by time (end >= Since, start <
	// Until); zero means unbounded.
	Since, Until time.Time
	// Expect lists flows that should be in the logs.
	Expect []Expectation

	// Thresholds; zero means the default in parentheses.
	ScanPorts          int     // distinct ports probed by one source (10)
	ScanHosts          int     // distinct hosts probed by one source on one port (10)
	BruteForceAttempts int     // connection attempts to SSH/RDP from one source (20)
	TopN               int     // top rejected sources (10)
	EgressFactor       float64 // egress bytes over the median of the interfaces (10)
	EgressMinBytes     int64   // egress bytes below this are never unusual (100 MiB)
	FloodRequests      int     // requests to one service in 5 minutes (1000)
}

func (o *Options) defaults() {
	if o.ScanPorts <= 0 {
		o.ScanPorts = 10
	}
	if o.ScanHosts <= 0 {
		o.ScanHosts = 10
	}
	if o.BruteForceAttempts <= 0 {
		o.BruteForceAttempts = 20
	}
	if o.TopN <= 0 {
		o.TopN = 10
	}
	if o.EgressFactor <= 0 {
		o.EgressFactor = 10
	}
	if o.FloodRequests <= 0 {
		o.FloodRequests = 1000
	}
	if o.EgressMinBytes <= 0 {
		o.EgressMinBytes = 100 << 20
	}
}

// Report is the result of a diagnosis.
type Report struct {
	Records       int   `json:"records"`          // records analysed
	NoData        int   `json:"nodata_records"`   // NODATA records
	SkipData      int   `json:"skipdata_records"` // SKIPDATA records: data was lost
	Interfaces    int   `json:"interfaces"`
	First         int64 `json:"first,omitempty"`
	Last          int64 `json:"last,omitempty"`
	Conversations int   `json:"conversations"`
	Topology      bool  `json:"topology"`

	Problems           []Problem `json:"problems"`
	Blocked            []Blocked `json:"blocked"`
	Broken             []Finding `json:"accept_but_broken"`
	Security           []Finding `json:"security"`
	TopRejectedSources []Source  `json:"top_rejected_sources"`
}

// Blocked is one conversation that a security group or network ACL blocks.
type Blocked struct {
	Client   netip.Addr `json:"client"`
	Server   netip.Addr `json:"server"`
	Port     uint16     `json:"port"`
	Protocol uint8      `json:"protocol"`
	Service  string     `json:"service"` // tcp/22, icmp, ...
	// Interface is the ENI whose records show the rejection; Direction is
	// the rejected direction relative to it.
	Interface string   `json:"interface_id"`
	Direction string   `json:"direction"`
	Response  bool     `json:"response"` // the response, not the request, is rejected
	Seed      SeedRule `json:"seed_rule"`
	Suspect   Suspect  `json:"suspect"` // nacl, sg or nacl-or-sg from the logs alone
	Reason    string   `json:"reason"`

	Records     int        `json:"reject_records"`
	Packets     int64      `json:"reject_packets"`
	Accepted    int        `json:"accept_records,omitempty"` // ACCEPT records of the same leg
	ClientPorts int        `json:"client_ports"`
	First       int64      `json:"first"`
	Last        int64      `json:"last"`
	RoleBy      string     `json:"role_by"`
	Confidence  Confidence `json:"confidence"`

	// With a topology: the deciding check, every check made at the
	// interface, and the smallest change that would allow the traffic.
	Decision *Decision  `json:"decision,omitempty"`
	Checks   []Decision `json:"checks,omitempty"`
	Fix      *Fix       `json:"fix,omitempty"`
	// Campaign names the hostile activity the client takes part in.
	Campaign string `json:"campaign,omitempty"`

	conv *Conversation
}

// Problem groups the blocked conversations that one change would fix: same
// interface, direction, leg, service and deciding rule (or seed rule), or
// the same hostile campaign.
type Problem struct {
	Interface string     `json:"interface_id"`
	Direction string     `json:"direction"`
	Response  bool       `json:"response"`
	Server    netip.Addr `json:"server"`
	Port      uint16     `json:"port"`
	Protocol  uint8      `json:"protocol"`
	Service   string     `json:"service"`
	Seed      SeedRule   `json:"seed_rule"`
	Suspect   Suspect    `json:"suspect"`
	Reason    string     `json:"reason"`
	Decision  *Decision  `json:"decision,omitempty"`
	// Fix is the fix of the conversation with the most records; with
	// several clients the same change is needed for each (or a wider CIDR).
	Fix      *Fix   `json:"fix,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	// AlsoOn and OtherServers list the other interfaces and servers of
	// problems merged into this one because the same change fixes them.
	AlsoOn       []string     `json:"also_on,omitempty"`
	OtherServers []netip.Addr `json:"other_servers,omitempty"`

	Clients       []netip.Addr `json:"clients"` // the first 10, most records first
	ClientCount   int          `json:"client_count"`
	Conversations int          `json:"conversations"`
	Records       int          `json:"reject_records"`
	Packets       int64        `json:"reject_packets"`
	First         int64        `json:"first"`
	Last          int64        `json:"last"`
	Confidence    Confidence   `json:"confidence"`
}

// maxListed is how many clients a Problem lists.
const maxListed = 10

// problems groups blocked conversations (sorted by records, most first).
func problems(bs []Blocked) []Problem {
	idx := map[string]int{}
	seen := map[int]map[netip.Addr]bool{}
	var out []Problem
	for _, b := range bs {
		key := b.Campaign
		if key == "" {
			dec := string(b.Suspect)
			if b.Decision != nil {
				dec = b.Decision.sameCause()
			}
			key = fmt.Sprintf("%s|%s|%v|%d|%d|%s|%s", b.Interface, b.Direction, b.Response, b.Protocol, b.Port, b.Server, dec)
		}
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			seen[i] = map[netip.Addr]bool{}
			out = append(out, Problem{Interface: b.Interface, Direction: b.Direction, Response: b.Response, Server: b.Server,
				Port: b.Port, Protocol: b.Protocol, Service: b.Service, Seed: b.Seed, Suspect: b.Suspect, Reason: b.Reason,
				Decision: b.Decision, Fix: b.Fix, Campaign: b.Campaign, First: b.First, Confidence: b.Confidence})
		}
		p := &out[i]
		if !seen[i][b.Client] {
			seen[i][b.Client] = true
			p.ClientCount++
			if len(p.Clients) < maxListed {
				p.Clients = append(p.Clients, b.Client)
			}
		}
		p.Conversations++
		p.Records += b.Records
		p.Packets += b.Packets
		p.First = min(p.First, b.First)
		p.Last = max(p.Last, b.Last)
		p.Confidence = minConfidence(p.Confidence, b.Confidence)
	}
	// A host-CIDR fix shown for one of several clients: widen it to the
	// smallest prefix covering them all when that stays reasonably narrow.
	for i := range out {
		p := &out[i]
		if p.Fix == nil || p.Fix.hostCIDR == "" || p.ClientCount < 2 {
			continue
		}
		all := make([]netip.Addr, 0, len(seen[i]))
		for c := range seen[i] {
			all = append(all, c)
		}
		if pf, ok := covering(all); ok && pf.Bits() >= pf.Addr().BitLen()/2 {
			p.Fix = p.Fix.widen(pf)
		}
	}
	return mergeSameFix(out)
}

// mergeSameFix merges problems whose fix is the very same change (for
// example one security group rule for several interfaces and clients).
func mergeSameFix(ps []Problem) []Problem {
	byCmd := map[string]int{}
	var out []Problem
	for _, p := range ps {
		if p.Fix == nil || p.Fix.Command == "" || p.Campaign != "" {
			out = append(out, p)
			continue
		}
		i, ok := byCmd[p.Fix.Command]
		if !ok {
			byCmd[p.Fix.Command] = len(out)
			out = append(out, p)
			continue
		}
		q := &out[i]
		for _, c := range p.Clients {
			if !slices.Contains(q.Clients, c) {
				q.ClientCount++
				if len(q.Clients) < maxListed {
					q.Clients = append(q.Clients, c)
				}
			}
		}
		if p.Interface != q.Interface && !slices.Contains(q.AlsoOn, p.Interface) {
			q.AlsoOn = append(q.AlsoOn, p.Interface)
		}
		if p.Server != q.Server && !slices.Contains(q.OtherServers, p.Server) {
			q.OtherServers = append(q.OtherServers, p.Server)
		}
		q.Conversations += p.Conversations
		q.Records += p.Records
		q.Packets += p.Packets
		q.First = min(q.First, p.First)
		q.Last = max(q.Last, p.Last)
		q.Confidence = minConfidence(q.Confidence, p.Confidence)
	}
	return out
}

// Finding is an ACCEPT-but-broken or security observation.
type Finding struct {
	Kind       string     `json:"kind"`
	Severity   string     `json:"severity"` // info, warning, high
	Interface  string     `json:"interface_id,omitempty"`
	Resource   string     `json:"resource_id,omitempty"`
	Client     netip.Addr `json:"client,omitzero"`
	Server     netip.Addr `json:"server,omitzero"`
	Port       uint16     `json:"port,omitempty"`
	Protocol   uint8      `json:"protocol,omitempty"`
	Sources    int        `json:"sources,omitempty"` // distinct sources (brute force, flood)
	Records    int        `json:"records,omitempty"`
	First      int64      `json:"first,omitempty"`
	Last       int64      `json:"last,omitempty"`
	Summary    string     `json:"summary"`
	Detail     string     `json:"detail,omitempty"`
	Confidence Confidence `json:"confidence"`
}

// Finding kinds.
const (
	KindNoResponse        = "no-response"
	KindSYNNoSYNACK       = "syn-no-synack"
	KindConnectionRefused = "connection-refused"
	KindNoReply           = "no-reply"
	KindMissingRoute      = "missing-route"
	KindBlackhole         = "blackhole-route"
	KindNATMissing        = "nat-gateway-missing"
	KindNATOtherAZ        = "nat-gateway-other-az"
	KindNATNoIGW          = "nat-gateway-no-igw-route"
	KindNoPublicIP        = "no-public-ip"
	KindAsymmetric        = "asymmetric-return-path"
	KindNoRecords         = "no-records"
	KindSkipData          = "skipdata"
	KindPortScan          = "port-scan"
	KindBruteForce        = "brute-force"
	KindFlood             = "flood"
	KindEgressVolume      = "unusual-egress"
)

// Source is one client whose traffic was rejected: the REJECT records of
// its conversations, requests and responses alike, and the services
// (ports) and hosts it tried.
type Source struct {
	Addr    netip.Addr `json:"addr"`
	Records int        `json:"records"`
	// Responses counts the records that were the responses to its
	// requests (rejected on their way back).
	Responses int   `json:"responses,omitempty"`
	Packets   int64 `json:"packets"`
	Ports     int   `json:"distinct_ports"`
	Hosts     int   `json:"distinct_hosts"`
	Interface int   `json:"interfaces"`
}

// analysis carries the state of one diagnosis.
type analysis struct {
	opts  Options
	recs  []flow.Record
	idx   []int // usable, selected records
	own   map[string]netip.Addr
	convs []*Conversation
	ev    *evaluator
	// hostile sources (scan, brute force, flood) and their campaigns
	hostile map[netip.Addr][]*campaign
}

// Diagnose analyses flow log records.
func Diagnose(records []flow.Record, opts Options) Report {
	opts.defaults()
	a := &analysis{opts: opts, recs: records, hostile: map[netip.Addr][]*campaign{}}
	if opts.Topology != nil {
		a.ev = &evaluator{t: opts.Topology}
	}
	var rep Report
	rep.Topology = opts.Topology != nil
	enis := map[string]bool{}
	for i := range records {
		r := &records[i]
		if !a.inTime(r) {
			continue
		}
		if r.Has(flow.FieldLogStatus) {
			switch r.LogStatus {
			case flow.StatusNoData:
				rep.NoData++
				continue
			case flow.StatusSkipData:
				rep.SkipData++
				continue
			}
		}
		if !usable(r) {
			continue
		}
		a.idx = append(a.idx, i)
		enis[r.InterfaceID] = true
		if rep.Records == 0 || r.Start < rep.First {
			rep.First = r.Start
		}
		rep.Last = max(rep.Last, r.End)
		rep.Records++
	}
	rep.Interfaces = len(enis)
	a.own = ownAddresses(records, a.idx, a.knownAddr)
	a.convs = buildConversations(records, a.idx, a.own)
	if opts.Interface != "" {
		a.convs = slices.DeleteFunc(a.convs, func(c *Conversation) bool {
			return !slices.ContainsFunc(c.Views, func(v *View) bool { return v.Interface == opts.Interface })
		})
	}
	rep.Conversations = len(a.convs)

	rep.Security = a.security()
	rep.TopRejectedSources = a.topRejected()
	rep.Blocked = a.blocked()
	rep.Problems = problems(rep.Blocked)
	rep.Broken = a.broken()
	if rep.SkipData > 0 {
		rep.Broken = append(rep.Broken, Finding{Kind: KindSkipData, Severity: "warning", Records: rep.SkipData,
			Summary:    fmt.Sprintf("%d SKIPDATA records: some flows were not logged in those windows", rep.SkipData),
			Detail:     "a missing record is not proof that traffic did not happen (capacity limit or internal error, spec §1.3.2)",
			Confidence: High})
	}
	return rep
}

func (a *analysis) inTime(r *flow.Record) bool {
	if !a.opts.Since.IsZero() && r.Has(flow.FieldEnd) && r.End < a.opts.Since.Unix() {
		return false
	}
	if !a.opts.Until.IsZero() && r.Has(flow.FieldStart) && r.Start >= a.opts.Until.Unix() {
		return false
	}
	return true
}

func (a *analysis) knownAddr(eni string) (netip.Addr, bool) {
	if a.opts.Topology == nil {
		return netip.Addr{}, false
	}
	e := a.opts.Topology.Interface(eni)
	if e == nil || !e.PrimaryIP.IsValid() {
		return netip.Addr{}, false
	}
	return e.PrimaryIP, true
}

// pathOrder ranks the seed rules along a conversation's path: the client's
// outbound request, the server's inbound request, the server's outbound
// response, the client's inbound response. The first rejection on the path
// is the one to fix.
var pathOrder = map[SeedRule]int{3: 0, 1: 1, 2: 2, 4: 3}

type candidate struct {
	view *View
	rule Rule
	leg  Leg
}

// classifyConversation applies the seed rules at every interface of the
// conversation and returns the first rejection along the path.
func classifyConversation(c *Conversation) (candidate, bool) {
	var best candidate
	found := false
	consider := func(v *View, r Rule, leg Leg) {
		if r.Seed == 0 {
			return
		}
		if !found || pathOrder[r.Seed] < pathOrder[best.rule.Seed] {
			best, found = candidate{v, r, leg}, true
		}
	}
	for _, v := range c.Views {
		if v.outgoing() {
			r := Classify(Outgoing, v.ReqOut.Seen(), v.RespIn.Seen())
			leg := v.ReqOut
			if r.Response {
				leg = v.RespIn
			}
			consider(v, r, leg)
		}
		if v.incoming() {
			r := Classify(Incoming, v.ReqIn.Seen(), v.RespOut.Seen())
			leg := v.ReqIn
			if r.Response {
				leg = v.RespOut
			}
			consider(v, r, leg)
		}
	}
	return best, found
}

func service(proto uint8, port uint16) string {
	if hasPorts(proto) {
		return fmt.Sprintf("%s/%d", protoName(proto), port)
	}
	return protoName(proto)
}

func (a *analysis) blocked() []Blocked {
	accepted := a.siblingAccepts()
	var out []Blocked
	for _, c := range a.convs {
		cand, ok := classifyConversation(c)
		if !ok {
			continue
		}
		if a.opts.Interface != "" && cand.view.Interface != a.opts.Interface {
			continue
		}
		b := Blocked{
			Client: c.Client, Server: c.Server, Port: c.Port, Protocol: c.Protocol, Service: service(c.Protocol, c.Port),
			Interface: cand.view.Interface, Direction: cand.rule.Blocked, Response: cand.rule.Response,
			Seed: cand.rule.Seed, Suspect: cand.rule.Suspect, Reason: cand.rule.Text,
			Records: cand.leg.Reject, Packets: cand.leg.Packets, Accepted: cand.leg.Accept,
			ClientPorts: c.ClientPorts, First: cand.leg.RejectFirst, Last: cand.leg.RejectLast,
			RoleBy: c.RoleBy, Confidence: c.RoleConfidence, conv: c,
		}
		if b.Accepted > 0 {
			b.Reason += fmt.Sprintf("; %d ACCEPT records for the same traffic too: a rule changed during the period, or packets arrived after the connection closed (spec §1.3.1)", b.Accepted)
			if b.Accepted > b.Records {
				b.Confidence = Low
			}
		}
		// Flow-log-only refinement of "NACL or SG": NACL rules see only the
		// remote address, protocol and port, so if another interface of the
		// same subnet accepted the same traffic, the NACL allows it.
		if b.Suspect == SuspectNACLOrSG && cand.view.Subnet != "" {
			remote, port := c.Client, c.Port
			if b.Direction == "egress" {
				remote = c.Server
			}
			k := siblingKey{cand.view.Subnet, remote, c.Protocol, port, b.Direction}
			if other, ok := accepted[k]; ok && other != cand.view.Interface {
				b.Suspect = SuspectSG
				b.Reason += fmt.Sprintf("; %s in the same subnet accepted the same traffic, so the network ACL allows it: the security group of %s is the one", other, cand.view.Interface)
			}
		}
		if camp := a.campaignOf(c); camp != nil && (!b.Response || camp.Responses) {
			b.Campaign = camp.Label
		}
		if a.ev != nil {
			a.explain(&b)
		}
		out = append(out, b)
	}
	slices.SortStableFunc(out, func(x, y Blocked) int {
		if hx, hy := x.Campaign != "", y.Campaign != ""; hx != hy {
			if hx {
				return 1
			}
			return -1
		}
		return y.Records - x.Records
	})
	return out
}

type siblingKey struct {
	subnet string
	remote netip.Addr
	proto  uint8
	port   uint16
	dir    string
}

// siblingAccepts indexes accepted requests by subnet, remote address,
// protocol, service port and direction (the parts a NACL rule can see).
func (a *analysis) siblingAccepts() map[siblingKey]string {
	m := map[siblingKey]string{}
	for _, c := range a.convs {
		for _, v := range c.Views {
			if v.Subnet == "" {
				continue
			}
			if v.ReqIn.Accept > 0 {
				k := siblingKey{v.Subnet, c.Client, c.Protocol, c.Port, "ingress"}
				if _, ok := m[k]; !ok {
					m[k] = v.Interface
				}
			}
			if v.ReqOut.Accept > 0 {
				k := siblingKey{v.Subnet, c.Server, c.Protocol, c.Port, "egress"}
				if _, ok := m[k]; !ok {
					m[k] = v.Interface
				}
			}
		}
	}
	return m
}

// requestPacket returns a representative request packet of a conversation.
func requestPacket(c *Conversation) packet {
	p := packet{src: c.Client, dst: c.Server, dport: c.Port, proto: c.Protocol, icmpType: -1}
	for port := range c.clientPorts {
		p.sport = max(p.sport, port)
	}
	if c.Protocol == 1 {
		p.icmpType = 8 // echo request: what flow logs of ICMP mostly are
	} else if c.Protocol == 58 {
		p.icmpType = 128
	}
	return p
}
