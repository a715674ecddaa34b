package aggregate

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"vpcflow/internal/flow"
	"vpcflow/internal/policy"
)

// at is Unix seconds plus milliseconds.
func at(sec int64, ms int64) time.Time { return time.Unix(sec, ms*1e6).UTC() }

var (
	eniSSH = &Interface{
		ID: "eni-1235b8ca123456789", AccountID: "123456789010",
		VPCID: "vpc-abcdefab012345678", SubnetID: "subnet-aaaaaaaa012345678",
		InstanceID: "i-01234567890123456", Region: "us-east-1", AZID: "use1-az6",
		PrimaryIPv4: netip.MustParseAddr("10.0.0.62"),
	}
	eniSkip = &Interface{ID: "eni-11111111aaaaaaaaa", AccountID: "123456789010"}
)

type pkt struct {
	t          time.Time
	dir        flow.Direction
	action     flow.Action
	proto      uint8
	src, dst   string
	sport      uint16
	dport      uint16
	packets    int64
	bytes      int64
	flags      uint8
	path       uint8
	srvS, srvD string
	eni        *Interface
}

func (p pkt) obs(def *Interface) Observation {
	e := p.eni
	if e == nil {
		e = def
	}
	action := p.action
	if action == flow.ActionNone {
		action = flow.ActionAccept
	}
	proto := p.proto
	if proto == 0 {
		proto = 6
	}
	src, dst := netip.MustParseAddr(p.src), netip.MustParseAddr(p.dst)
	return Observation{
		Time: p.t, Interface: e, Direction: p.dir, Action: action, Protocol: proto,
		SrcPort: p.sport, DstPort: p.dport,
		SrcAddr: src, DstAddr: dst, PktSrcAddr: src, PktDstAddr: dst,
		Packets: p.packets, Bytes: p.bytes, TCPFlags: p.flags, TrafficPath: p.path,
		PktSrcAWSService: p.srvS, PktDstAWSService: p.srvD,
	}
}

func text(f flow.Format, recs []flow.Record) []string {
	var out []string
	for i := range recs {
		out = append(out, flow.Text(f, &recs[i]))
	}
	return out
}

const tcpFormat = "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}"

const (
	syn    = 0x02
	fin    = 0x01
	ack    = 0x10
	psh    = 0x08
	synack = syn | ack
)

func TestWindows(t *testing.T) {
	type step struct {
		track   *Interface // Track this interface at trackAt
		trackAt time.Time
		add     []pkt
		advance time.Time // zero: Flush
	}
	cases := []struct {
		name   string
		cfg    func(*Config)
		eni    *Interface
		format string
		steps  []step
		want   [][]string // records per step
	}{
		{
			name: "accepted SSH (spec 7.1)",
			eni:  &Interface{ID: "eni-1235b8ca123456789", AccountID: "123456789010"},
			steps: []step{{
				add: []pkt{
					{t: at(1418530010, 100), src: "172.31.16.139", dst: "172.31.16.21", sport: 20641, dport: 22, packets: 1, bytes: 60, flags: syn},
					{t: at(1418530040, 0), src: "172.31.16.139", dst: "172.31.16.21", sport: 20641, dport: 22, packets: 18, bytes: 4129, flags: ack | psh},
					{t: at(1418530070, 900), src: "172.31.16.139", dst: "172.31.16.21", sport: 20641, dport: 22, packets: 1, bytes: 60, flags: ack},
				},
				advance: at(1418530700, 0),
			}},
			want: [][]string{{"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"}},
		},
		{
			name: "window still open: nothing emitted",
			eni:  eniSSH,
			steps: []step{{
				add:     []pkt{{t: at(1000, 0), src: "1.2.3.4", dst: "10.0.0.62", sport: 1, dport: 2, packets: 1, bytes: 40}},
				advance: at(1599, 999),
			}},
			want: [][]string{nil},
		},
		{
			name: "NODATA with window bounds (spec 7.2)",
			cfg:  func(c *Config) { c.Interval = 58 * time.Second },
			eni:  &Interface{ID: "eni-1235b8ca123456789", AccountID: "123456789010"},
			steps: []step{{
				track: &Interface{ID: "eni-1235b8ca123456789", AccountID: "123456789010"}, trackAt: at(1431280876, 0),
				advance: at(1431280934, 0),
			}},
			want: [][]string{{"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"}},
		},
		{
			name: "NODATA for every idle window, windows back to back",
			cfg:  func(c *Config) { c.Interval = 60 * time.Second },
			steps: []step{{
				track: eniSkip, trackAt: at(100, 500),
				advance: at(281, 0),
			}},
			want: [][]string{{
				"2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 100 160 - NODATA",
				"2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 160 220 - NODATA",
				"2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 220 280 - NODATA",
			}},
		},
		{
			name: "SKIPDATA on flow table overflow (spec 7.2)",
			cfg:  func(c *Config) { c.Interval = 58 * time.Second; c.MaxFlowsPerInterface = 2 },
			eni:  eniSkip,
			steps: []step{{
				track: eniSkip, trackAt: at(1431280876, 0),
				add: []pkt{
					{t: at(1431280880, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 80, packets: 1, bytes: 40},
					{t: at(1431280881, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1001, dport: 80, packets: 1, bytes: 40},
					{t: at(1431280882, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1002, dport: 80, packets: 1, bytes: 40},
					{t: at(1431280883, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 80, packets: 2, bytes: 80},
					{t: at(1431280884, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1003, dport: 80, packets: 1, bytes: 40},
				},
				advance: at(1431280934, 0),
			}},
			want: [][]string{{
				"2 123456789010 eni-11111111aaaaaaaaa 10.0.0.1 10.0.0.2 1000 80 6 3 120 1431280880 1431280883 ACCEPT OK",
				"2 123456789010 eni-11111111aaaaaaaaa 10.0.0.1 10.0.0.2 1001 80 6 1 40 1431280881 1431280881 ACCEPT OK",
				"2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
			}},
		},
		{
			name:   "TCP flag sequence, window rollover with shared boundary second (spec 7.5)",
			eni:    eniSSH,
			format: tcpFormat,
			steps: []step{
				{
					track: eniSSH, trackAt: at(1566848333, 500), // window [..333.5, ..933.5)
					add: []pkt{
						{t: at(1566848875, 0), src: "52.213.180.42", dst: "10.0.0.62", sport: 43416, dport: 5001, packets: 1, bytes: 60, flags: syn},
						{t: at(1566848875, 100), dir: flow.Egress, src: "10.0.0.62", dst: "52.213.180.42", sport: 5001, dport: 43416, packets: 1, bytes: 60, flags: synack},
						{t: at(1566848875, 200), src: "52.213.180.42", dst: "10.0.0.62", sport: 43418, dport: 5001, packets: 1, bytes: 60, flags: syn},
						{t: at(1566848875, 300), dir: flow.Egress, src: "10.0.0.62", dst: "52.213.180.42", sport: 5001, dport: 43418, packets: 1, bytes: 60, flags: synack},
						{t: at(1566848900, 0), src: "52.213.180.42", dst: "10.0.0.62", sport: 43416, dport: 5001, packets: 7, bytes: 508, flags: ack | psh},
						{t: at(1566848933, 200), src: "52.213.180.42", dst: "10.0.0.62", sport: 43418, dport: 5001, packets: 69, bytes: 100641, flags: ack},
						{t: at(1566848910, 0), dir: flow.Egress, src: "10.0.0.62", dst: "52.213.180.42", sport: 5001, dport: 43416, packets: 6, bytes: 316, flags: ack},
						{t: at(1566848933, 0), dir: flow.Egress, src: "10.0.0.62", dst: "52.213.180.42", sport: 5001, dport: 43418, packets: 11, bytes: 572, flags: ack},
						// Second window.
						{t: at(1566848933, 600), dir: flow.Egress, src: "10.0.0.62", dst: "52.213.180.42", sport: 5001, dport: 43418, packets: 1218, bytes: 63328, flags: ack},
						{t: at(1566848933, 700), src: "52.213.180.42", dst: "10.0.0.62", sport: 43418, dport: 5001, packets: 15773, bytes: 23294528, flags: ack | psh},
						{t: at(1566849113, 0), dir: flow.Egress, src: "10.0.0.62", dst: "52.213.180.42", sport: 5001, dport: 43418, packets: 1, bytes: 60, flags: fin | ack},
						{t: at(1566849113, 100), src: "52.213.180.42", dst: "10.0.0.62", sport: 43418, dport: 5001, packets: 1, bytes: 60, flags: fin | ack},
						// Connection 43416 stays idle in the second window.
					},
					advance: at(1566849533, 500),
				},
			},
			want: [][]string{{
				"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848900 ACCEPT 2 OK",
				"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 376 7 1566848875 1566848910 ACCEPT 18 OK",
				"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 100701 70 1566848875 1566848933 ACCEPT 2 OK",
				"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 632 12 1566848875 1566848933 ACCEPT 18 OK",
				"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 63388 1219 1566848933 1566849113 ACCEPT 1 OK",
				"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 23294588 15774 1566848933 1566849113 ACCEPT 1 OK",
			}},
		},
		{
			name:   "short connection OR-s tcp-flags to 3 and 19 (spec 7.5)",
			eni:    eniSSH,
			format: tcpFormat,
			steps: []step{{
				add: []pkt{
					{t: at(1566933133, 0), src: "52.213.180.42", dst: "10.0.0.62", sport: 43638, dport: 5001, packets: 1, bytes: 60, flags: syn},
					{t: at(1566933133, 10), dir: flow.Egress, src: "10.0.0.62", dst: "52.213.180.42", sport: 5001, dport: 43638, packets: 1, bytes: 60, flags: synack},
					{t: at(1566933150, 0), src: "52.213.180.42", dst: "10.0.0.62", sport: 43638, dport: 5001, packets: 15, bytes: 1140, flags: ack | psh},
					{t: at(1566933150, 10), dir: flow.Egress, src: "10.0.0.62", dst: "52.213.180.42", sport: 5001, dport: 43638, packets: 12, bytes: 847, flags: ack},
					{t: at(1566933193, 0), src: "52.213.180.42", dst: "10.0.0.62", sport: 43638, dport: 5001, packets: 1, bytes: 60, flags: fin | ack},
					{t: at(1566933193, 10), dir: flow.Egress, src: "10.0.0.62", dst: "52.213.180.42", sport: 5001, dport: 43638, packets: 1, bytes: 60, flags: fin | ack},
				},
			}},
			want: [][]string{{
				"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43638 5001 52.213.180.42 10.0.0.62 6 1260 17 1566933133 1566933193 ACCEPT 3 OK",
				"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43638 10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK",
			}},
		},
		{
			name: "observation past the window end rolls the window without Advance",
			cfg:  func(c *Config) { c.Interval = 60 * time.Second },
			eni:  eniSkip,
			steps: []step{
				{
					add: []pkt{
						{t: at(100, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, packets: 1, bytes: 40},
						{t: at(159, 999), src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, packets: 1, bytes: 40},
						{t: at(160, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, packets: 1, bytes: 40},
						{t: at(290, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, packets: 1, bytes: 40},
					},
					advance: at(290, 0),
				},
				{advance: at(340, 0)},
			},
			want: [][]string{
				{
					"2 123456789010 eni-11111111aaaaaaaaa 10.0.0.1 10.0.0.2 1 2 6 2 80 100 159 ACCEPT OK",
					"2 123456789010 eni-11111111aaaaaaaaa 10.0.0.1 10.0.0.2 1 2 6 1 40 160 160 ACCEPT OK",
					"2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 220 280 - NODATA",
				},
				{"2 123456789010 eni-11111111aaaaaaaaa 10.0.0.1 10.0.0.2 1 2 6 1 40 290 290 ACCEPT OK"},
			},
		},
		{
			name: "Nitro interface: windows of at most 60 s",
			eni:  &Interface{ID: "eni-0nitro", AccountID: "123456789010", Nitro: true},
			steps: []step{{
				add: []pkt{
					{t: at(1000, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, packets: 1, bytes: 40},
					{t: at(1059, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, packets: 1, bytes: 40},
					{t: at(1060, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, packets: 1, bytes: 40},
				},
				advance: at(1120, 0),
			}},
			want: [][]string{{
				"2 123456789010 eni-0nitro 10.0.0.1 10.0.0.2 1 2 6 2 80 1000 1059 ACCEPT OK",
				"2 123456789010 eni-0nitro 10.0.0.1 10.0.0.2 1 2 6 1 40 1060 1060 ACCEPT OK",
			}},
		},
		{
			name: "Flush closes partial windows, no NODATA for idle ones",
			eni:  eniSkip,
			steps: []step{{
				track: &Interface{ID: "eni-idle", AccountID: "1"}, trackAt: at(0, 0),
				add: []pkt{{t: at(10, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, packets: 1, bytes: 40}},
			}},
			want: [][]string{{"2 123456789010 eni-11111111aaaaaaaaa 10.0.0.1 10.0.0.2 1 2 6 1 40 10 10 ACCEPT OK"}},
		},
		{
			name:   "v5 fields: flow-direction, traffic-path egress only, aws services, sublocation, instance-id -",
			eni:    &Interface{ID: "eni-nat", AccountID: "123456789010", VPCID: "vpc-1", SubnetID: "subnet-1", Region: "us-west-2", AZID: "usw2-az1"},
			format: "${version} ${interface-id} ${instance-id} ${flow-direction} ${traffic-path} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${az-id} ${sublocation-type} ${sublocation-id} ${type} ${tcp-flags}",
			steps: []step{{
				add: []pkt{
					{t: at(10, 0), dir: flow.Egress, src: "10.0.0.5", dst: "52.95.128.1", sport: 40000, dport: 443, packets: 1, bytes: 60, flags: syn, path: 8, srvD: "S3"},
					{t: at(11, 0), dir: flow.Ingress, src: "52.95.128.1", dst: "10.0.0.5", sport: 443, dport: 40000, packets: 1, bytes: 60, flags: synack, path: 8, srvS: "S3"},
					{t: at(12, 0), dir: flow.Ingress, proto: 17, src: "2001:db8::1", dst: "2001:db8::2", sport: 53, dport: 5353, packets: 1, bytes: 60,
						eni: &Interface{ID: "eni-lz", AccountID: "123456789010", InstanceID: "i-1", AZID: "usw2-lax1-az1", SublocationType: "localzone", SublocationID: "usw2-lax1-az1"}},
				},
			}},
			want: [][]string{{
				"5 eni-nat - egress 8 - S3 usw2-az1 - - IPv4 2",
				"5 eni-nat - ingress - S3 - usw2-az1 - - IPv4 18",
				"5 eni-lz i-1 ingress - - - - localzone usw2-lax1-az1 IPv6 0",
			}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.format != "" {
				f, err := flow.ParseFormat(tc.format)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Format = f
			}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			a, err := New(cfg, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, s := range tc.steps {
				if s.track != nil {
					a.Track(s.track, s.trackAt)
				}
				for _, p := range s.add {
					o := p.obs(tc.eni)
					a.Add(&o)
				}
				var recs []flow.Record
				if s.advance.IsZero() {
					recs = a.Flush()
				} else {
					recs = a.Advance(s.advance)
				}
				got = append(got, text(cfg.Format, recs))
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("records (-got +want):\n%s", diff)
			}
		})
	}
}

// The ping example of spec 7.3: the request is accepted, the response
// (denied by a stateless NACL) rejected; TrafficType picks the records.
func TestTrafficType(t *testing.T) {
	eni := &Interface{ID: "eni-1235b8ca123456789", AccountID: "123456789010"}
	in := []pkt{
		{t: at(1432917027, 0), proto: 1, src: "203.0.113.12", dst: "172.31.16.139", packets: 1, bytes: 84},
		{t: at(1432917094, 0), proto: 1, dir: flow.Egress, action: flow.ActionReject, src: "172.31.16.139", dst: "203.0.113.12", packets: 1, bytes: 84},
		{t: at(1432917100, 0), proto: 1, src: "203.0.113.12", dst: "172.31.16.139", packets: 2, bytes: 168},
		{t: at(1432917142, 0), proto: 1, dir: flow.Egress, action: flow.ActionReject, src: "172.31.16.139", dst: "203.0.113.12", packets: 3, bytes: 252},
		{t: at(1432917142, 0), proto: 1, src: "203.0.113.12", dst: "172.31.16.139", packets: 1, bytes: 84},
	}
	accept := "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK"
	reject := "2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK"
	for _, tc := range []struct {
		tt       TrafficType
		want     []string
		filtered int64
	}{
		{TrafficAll, []string{accept, reject}, 0},
		{TrafficAccept, []string{accept}, 2},
		{TrafficReject, []string{reject}, 3},
	} {
		t.Run(tc.tt.String(), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.TrafficType = tc.tt
			a, err := New(cfg, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range in {
				o := p.obs(eni)
				a.Add(&o)
			}
			got := text(cfg.Format, a.Advance(at(1432917027+600, 0)))
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("records (-got +want):\n%s", diff)
			}
			if got := a.Stats().Filtered; got != tc.filtered {
				t.Errorf("filtered = %d, want %d", got, tc.filtered)
			}
		})
	}
}

// A window that saw only filtered-out traffic had traffic: no NODATA.
func TestFilteredTrafficIsNotNoData(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TrafficType = TrafficReject
	a, _ := New(cfg, Deps{})
	eni := &Interface{ID: "eni-1", AccountID: "1"}
	a.Track(eni, at(0, 0))
	o := pkt{t: at(5, 0), src: "10.0.0.1", dst: "10.0.0.2", packets: 1, bytes: 1}.obs(eni)
	a.Add(&o)
	if got := text(cfg.Format, a.Advance(at(600, 0))); got != nil {
		t.Errorf("got %q, want no record", got)
	}
	if got := text(cfg.Format, a.Advance(at(1200, 0))); len(got) != 1 || !strings.HasSuffix(got[0], "NODATA") {
		t.Errorf("second window: got %q, want one NODATA", got)
	}
}

// Identical input gives identical output whatever the interleaving of
// interfaces with equal timestamps.
func TestDeterministicOrder(t *testing.T) {
	enis := []*Interface{{ID: "eni-c", AccountID: "1"}, {ID: "eni-a", AccountID: "1"}, {ID: "eni-b", AccountID: "1"}}
	run := func(order []int) []string {
		a, _ := New(DefaultConfig(), Deps{})
		for _, i := range order {
			for port := uint16(3); port > 0; port-- {
				o := pkt{t: at(100, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: port, dport: 80, packets: 1, bytes: 1}.obs(enis[i])
				a.Add(&o)
			}
		}
		return text(flow.DefaultFormat, a.Advance(at(1000, 0)))
	}
	first := run([]int{0, 1, 2})
	if len(first) != 9 || !strings.Contains(first[0], "eni-a 10.0.0.1 10.0.0.2 1 80") {
		t.Fatalf("unexpected records %q", first)
	}
	if diff := cmp.Diff(run([]int{2, 1, 0}), first); diff != "" {
		t.Errorf("order depends on input interleaving (-got +want):\n%s", diff)
	}
}

func TestSkipDataMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.FlowLogID = "fl-1"
	cfg.MaxFlowsPerInterface = 1
	a, _ := New(cfg, Deps{Metrics: m})
	eni := &Interface{ID: "eni-1", AccountID: "1"}
	for port := uint16(1); port <= 4; port++ {
		o := pkt{t: at(10, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: port, dport: 80, packets: 2, bytes: 1}.obs(eni)
		a.Add(&o)
	}
	a.Advance(at(700, 0))
	got := gather(t, reg)
	want := map[string]float64{
		`vpcflow_aggregate_records_total{flow_log_id="fl-1",log_status="OK"}`:       1,
		`vpcflow_aggregate_records_total{flow_log_id="fl-1",log_status="SKIPDATA"}`: 1,
		`vpcflow_aggregate_skipped_observations_total{flow_log_id="fl-1"}`:          3,
		`vpcflow_aggregate_skipped_packets_total{flow_log_id="fl-1"}`:               6,
		`vpcflow_aggregate_observations_total{flow_log_id="fl-1"}`:                  4,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// TestAnnotateHook: the hook runs for flow logs whose format has a vpcflow
// extension field, and only for them; DecisionFields names the deciding
// layer and rule of REJECT records and leaves ACCEPT records "-".
func TestAnnotateHook(t *testing.T) {
	eni := &Interface{ID: "eni-1"}
	reject := pkt{t: at(1, 0), action: flow.ActionReject, src: "10.0.0.1", dst: "10.0.0.2", packets: 1, bytes: 1}.obs(eni)
	reject.Decision = policy.Decision{Verdict: flow.ActionReject, Layer: policy.LayerNACL, ResourceID: "acl-0b",
		Direction: "ingress", RuleNumber: policy.DefaultRuleNumber}
	accept := pkt{t: at(2, 0), src: "10.0.0.2", dst: "10.0.0.1", packets: 1, bytes: 1}.obs(eni)
	calls := 0
	hook := func(r *flow.Record, first *Observation) {
		calls++
		DecisionFields(r, first)
	}
	for _, tc := range []struct {
		format string
		want   []string
		calls  int
	}{
		{"${interface-id} ${action} ${vpcflow-decision-layer} ${vpcflow-decision-rule}",
			[]string{"eni-1 REJECT nacl acl-0b/ingress/*", "eni-1 ACCEPT - -"}, 2},
		{"${vpcflow-decision-rule} ${srcaddr}", []string{"acl-0b/ingress/* 10.0.0.1", "- 10.0.0.2"}, 2},
		{"${interface-id} ${action}", []string{"eni-1 REJECT", "eni-1 ACCEPT"}, 0},
	} {
		f, err := flow.ParseFormat(tc.format)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Format = f
		a, err := New(cfg, Deps{Annotate: hook})
		if err != nil {
			t.Fatal(err)
		}
		calls = 0
		a.Add(&reject)
		a.Add(&accept)
		recs := a.Flush()
		if diff := cmp.Diff(text(f, recs), tc.want); diff != "" {
			t.Errorf("%s (-got +want):\n%s", tc.format, diff)
		}
		if calls != tc.calls {
			t.Errorf("%s: hook called %d times, want %d", tc.format, calls, tc.calls)
		}
		var inFormat uint64
		for _, id := range f.Fields() {
			inFormat |= 1 << id
		}
		for _, r := range recs {
			if r.Present&^inFormat != 0 {
				t.Errorf("%s: record has fields outside the format: %b", tc.format, r.Present)
			}
		}
	}
}

func TestRemove(t *testing.T) {
	a, _ := New(DefaultConfig(), Deps{})
	eni := &Interface{ID: "eni-1", AccountID: "1"}
	a.Track(eni, at(0, 0))
	o := pkt{t: at(5, 0), src: "10.0.0.1", dst: "10.0.0.2", packets: 1, bytes: 1}.obs(eni)
	a.Add(&o)
	a.Remove("eni-1")
	if got := text(flow.DefaultFormat, a.Advance(at(10000, 0))); len(got) != 1 || !strings.HasSuffix(got[0], " 5 5 ACCEPT OK") {
		t.Errorf("got %q, want the partial window's record only", got)
	}
	if !a.NextDeadline().IsZero() {
		t.Errorf("interface still tracked")
	}
}

// TestManyFlowsInOneWindow: a window with more flows than one chunk of the
// entry store keeps every flow's counters apart and in order, also in the
// next window, which reuses the drained store.
func TestManyFlowsInOneWindow(t *testing.T) {
	a, _ := New(DefaultConfig(), Deps{})
	eni := &Interface{ID: "eni-1", AccountID: "1"}
	const flows = 3*entryChunk + 17
	for w := int64(0); w < 2; w++ {
		base := w * 600
		for pass := int64(0); pass < 2; pass++ {
			for i := int64(0); i < flows; i++ {
				port := uint16(flows - i)
				o := pkt{t: at(base, pass*flows+i), src: "10.0.0.1", dst: "10.0.0.2", sport: port, dport: 80,
					packets: 1, bytes: int64(port)}.obs(eni)
				a.Add(&o)
			}
		}
		got := text(flow.DefaultFormat, a.Advance(at(base+600, 0)))
		if len(got) != flows {
			t.Fatalf("window %d: %d records, want %d", w, len(got), flows)
		}
		for j, line := range got {
			f := strings.Fields(line)
			port := flows - j
			want := []string{strconv.Itoa(port), "80", "6", "2", strconv.Itoa(2 * port)}
			if diff := cmp.Diff(want, f[5:10]); diff != "" {
				t.Fatalf("window %d record %d %q (-want +got):\n%s", w, j, line, diff)
			}
		}
	}
}

func TestAddDoesNotAllocateOnExistingFlow(t *testing.T) {
	a, _ := New(DefaultConfig(), Deps{})
	eni := &Interface{ID: "eni-1", AccountID: "1"}
	o := pkt{t: at(5, 0), src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, packets: 1, bytes: 1}.obs(eni)
	a.Add(&o)
	if n := testing.AllocsPerRun(1000, func() { a.Add(&o) }); n != 0 {
		t.Errorf("Add allocates %v times per call on an existing flow", n)
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFlowsPerInterface = 0
	if _, err := New(cfg, Deps{}); err == nil {
		t.Error("MaxFlowsPerInterface 0 accepted")
	}
	cfg = DefaultConfig()
	cfg.Interval = 0
	if _, err := New(cfg, Deps{}); err == nil {
		t.Error("Interval 0 accepted")
	}
}

// gather returns every counter and gauge sample as name{labels} → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

// TestSlotHints: observations that carry a Slot (the dataplane gives each
// flow's path one per interface and direction) give the records they give
// without one, whatever the slot holds: hints left by another aggregator
// (two flow logs), by an earlier window, by another action of the flow, or
// garbage; and with a full flow table.
func TestSlotHints(t *testing.T) {
	enis := []*Interface{{ID: "eni-a", AccountID: "1", Nitro: true}, {ID: "eni-b", AccountID: "1"}}
	type flowSlot struct {
		eni   *Interface
		sport uint16
		dir   flow.Direction
	}
	for _, maxFlows := range []int{1 << 16, 40} {
		cfg := DefaultConfig()
		cfg.MaxFlowsPerInterface = maxFlows
		plain, _ := New(cfg, Deps{})
		hinted, _ := New(cfg, Deps{})
		other, _ := New(cfg, Deps{})
		slots := map[flowSlot]*uint32{}
		var want, got, got2 []string
		for i := range 20000 {
			eni := enis[i%2]
			fs := flowSlot{eni: eni, sport: uint16(1 + (i*7919)%97), dir: flow.Direction(i % 3 % 2)}
			p := pkt{t: at(1000+int64(i/100), int64(i%100)), dir: fs.dir, src: "10.0.0.1", dst: "10.0.0.2",
				sport: fs.sport, dport: 443, packets: 1, bytes: int64(i % 1500)}
			if i%13 == 0 {
				p.action = flow.ActionReject
			}
			o := p.obs(eni)
			plain.Add(&o)
			s := slots[fs]
			if s == nil {
				s = new(uint32)
				slots[fs] = s
			}
			if i%1000 == 999 {
				*s = uint32(i) // garbage
			}
			o.Slot = s
			hinted.Add(&o)
			other.Add(&o)
			if i%2500 == 0 {
				now := at(1000+int64(i/100), 0)
				want = append(want, text(flow.DefaultFormat, plain.Advance(now))...)
				got = append(got, text(flow.DefaultFormat, hinted.Advance(now))...)
				got2 = append(got2, text(flow.DefaultFormat, other.Advance(now))...)
			}
		}
		want = append(want, text(flow.DefaultFormat, plain.Flush())...)
		got = append(got, text(flow.DefaultFormat, hinted.Flush())...)
		got2 = append(got2, text(flow.DefaultFormat, other.Flush())...)
		if len(want) < 100 {
			t.Fatalf("only %d records", len(want))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("max flows %d: records with slots differ (-want +got):\n%s", maxFlows, diff)
		}
		if diff := cmp.Diff(want, got2); diff != "" {
			t.Errorf("max flows %d: records of the second aggregator differ (-want +got):\n%s", maxFlows, diff)
		}
	}
}

// TestInterfaceIndex: Interface.Index is only a hint. Interfaces whose
// indexes collide, are out of range or negative, interfaces replaced by a
// new description (a topology reload) with the same or another index, and
// removed ones give the same records as interfaces without an index.
func TestInterfaceIndex(t *testing.T) {
	mk := func(id string, idx int, nitro bool) *Interface {
		return &Interface{ID: id, AccountID: "1", Nitro: nitro, Index: idx}
	}
	plain := []*Interface{mk("eni-a", 0, true), mk("eni-b", 0, false), mk("eni-c", 0, true), mk("eni-d", 0, false), mk("eni-e", 0, true)}
	indexed := []*Interface{mk("eni-a", 1, true), mk("eni-b", 2, false), mk("eni-c", 1, true), mk("eni-d", 1<<20, false), mk("eni-e", -3, true)}
	pa, _ := New(DefaultConfig(), Deps{})
	ia, _ := New(DefaultConfig(), Deps{})
	var want, got []string
	for i := range 30000 {
		switch i {
		case 10000: // reload: new descriptions, indexes shuffled
			indexed = []*Interface{mk("eni-a", 2, true), mk("eni-b", 1, false), mk("eni-c", 3, true), mk("eni-d", 5, false), mk("eni-e", 4, true)}
		case 15000:
			pa.Remove("eni-b")
			ia.Remove("eni-b")
		case 20000: // reload again, same indexes, new pointers
			for k, e := range indexed {
				c := *e
				indexed[k] = &c
			}
		}
		k := (i * 7) % len(plain)
		p := pkt{t: at(1000+int64(i/50), int64(i%50)), dir: flow.Direction(i % 2), src: "10.0.0.1", dst: "10.0.0.2",
			sport: uint16(1 + i%37), dport: 443, packets: 1, bytes: int64(i % 1500)}
		o := p.obs(plain[k])
		pa.Add(&o)
		o.Interface = indexed[k]
		ia.Add(&o)
		if i%3000 == 0 {
			now := at(1000+int64(i/50), 0)
			want = append(want, text(flow.DefaultFormat, pa.Advance(now))...)
			got = append(got, text(flow.DefaultFormat, ia.Advance(now))...)
		}
	}
	want = append(want, text(flow.DefaultFormat, pa.Flush())...)
	got = append(got, text(flow.DefaultFormat, ia.Flush())...)
	if len(want) < 1000 {
		t.Fatalf("only %d records", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records with interface indexes differ (-want +got):\n%s", diff)
	}
}

// TestAppendAdvanceReusesMemory: records appended over the memory of
// earlier records (a flow log's last delivered batch) are the records
// Advance makes in fresh memory: no field of the earlier record survives,
// whatever the kinds (OK, NODATA, SKIPDATA) and fields on either side.
func TestAppendAdvanceReusesMemory(t *testing.T) {
	ids := make([]flow.FieldID, flow.NumFields)
	for i := range ids {
		ids[i] = flow.FieldID(i)
	}
	all := flow.MustFormat(ids...)
	cfg := DefaultConfig()
	cfg.Format = all
	cfg.Interval = time.Minute
	cfg.MaxFlowsPerInterface = 2
	fresh, _ := New(cfg, Deps{Annotate: DecisionFields})
	reused, _ := New(cfg, Deps{Annotate: DecisionFields})

	// Garbage: records with every field set, as the buffer's earlier use;
	// fewer than the first window's records, so that it grows.
	var buf []flow.Record
	for range 3 {
		var r flow.Record
		for _, id := range ids {
			r.SetString(id, "junk")
			r.SetInt(id, 99)
			r.SetAddr(id, netip.MustParseAddr("192.0.2.99"))
			r.Set(id)
		}
		buf = append(buf, r)
	}
	windows := [][]pkt{
		{
			{t: at(10, 0), dir: flow.Ingress, action: flow.ActionReject, src: "2001:db8::1", dst: "2001:db8::2", sport: 1, dport: 22, packets: 1, bytes: 80, srvS: "S3"},
			{t: at(11, 0), src: "10.0.0.1", dst: "10.0.0.62", sport: 2, dport: 443, packets: 3, bytes: 300, flags: syn, path: 1},
			{t: at(12, 0), src: "10.0.0.1", dst: "10.0.0.62", sport: 3, dport: 443, packets: 1, bytes: 60, eni: eniSkip},
			{t: at(12, 0), src: "10.0.0.1", dst: "10.0.0.62", sport: 4, dport: 443, packets: 1, bytes: 60, eni: eniSkip},
			{t: at(12, 0), src: "10.0.0.1", dst: "10.0.0.62", sport: 5, dport: 443, packets: 1, bytes: 60, eni: eniSkip},
		},
		{}, // NODATA for both interfaces
		{{t: at(130, 0), proto: 17, src: "10.0.0.9", dst: "10.0.0.62", sport: 53, dport: 5353, packets: 1, bytes: 90}},
	}
	for w, pkts := range windows {
		for _, p := range pkts {
			o := p.obs(eniSSH)
			fresh.Add(&o)
			o = p.obs(eniSSH)
			reused.Add(&o)
		}
		now := at(int64(75+60*w), 0)
		want := fresh.Advance(now)
		got := reused.AppendAdvance(buf[:0], now)
		if len(want) == 0 {
			t.Fatalf("window %d: no records", w)
		}
		if len(got) <= cap(buf) && &got[0] != &buf[:1][0] {
			t.Errorf("window %d: %d records did not reuse a buffer of %d", w, len(got), cap(buf))
		}
		for i := range want {
			if got[i].Present != want[i].Present {
				t.Errorf("window %d record %d: present %b, want %b", w, i, got[i].Present, want[i].Present)
			}
		}
		if diff := cmp.Diff(text(all, got), text(all, want)); diff != "" {
			t.Errorf("window %d (-reused +fresh):\n%s", w, diff)
		}
		buf = got
	}
}

// A custom format without ${interface-id}, ${start} or ${end} still gives
// records that carry them (not present, so rendered nowhere): destinations
// pick the CloudWatch Logs stream, the event time and the S3 file by them
// (spec §5.1, §5.2). OK, NODATA and SKIPDATA records alike.
func TestRoutingFieldsOutsideTheFormat(t *testing.T) {
	f, err := flow.ParseFormat("${srcaddr} ${dstaddr} ${dstport} ${action} ${log-status}")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Format = f
	cfg.MaxFlowsPerInterface = 1
	a, _ := New(cfg, Deps{})
	idle := &Interface{ID: "eni-0idle00000000001", AccountID: "123456789010"}
	a.Track(eniSSH, at(1000, 0))
	a.Track(idle, at(1000, 0))
	for _, p := range []pkt{
		{t: at(1010, 0), src: "10.0.0.62", dst: "10.0.0.9", dport: 22, packets: 1, bytes: 60},
		{t: at(1070, 0), src: "10.0.0.62", dst: "10.0.0.9", dport: 22, packets: 1, bytes: 60},
		{t: at(1080, 0), src: "10.0.0.62", dst: "10.0.0.8", dport: 22, packets: 1, bytes: 60}, // over the limit: SKIPDATA
	} {
		o := p.obs(eniSSH)
		a.Add(&o)
	}
	recs := a.Advance(at(1700, 0))
	type routed struct {
		ENI        string
		Start, End int64
		Status     flow.LogStatus
		Shown      bool
	}
	var got []routed
	for i := range recs {
		r := &recs[i]
		got = append(got, routed{r.InterfaceID, r.Start, r.End, r.LogStatus,
			r.Has(flow.FieldInterfaceID) || r.Has(flow.FieldStart) || r.Has(flow.FieldEnd)})
	}
	want := []routed{
		{"eni-0idle00000000001", 1000, 1600, flow.StatusNoData, false},
		{"eni-1235b8ca123456789", 1010, 1070, flow.StatusOK, false},
		{"eni-1235b8ca123456789", 1000, 1600, flow.StatusSkipData, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routing fields (-want +got):\n%s", diff)
	}
	if lines := text(f, recs); lines[1] != "10.0.0.62 10.0.0.9 22 ACCEPT OK" {
		t.Errorf("OK record renders as %q", lines[1])
	}
}

// TestSpan: an observation with a Span stands for packets from Time-Span
// to Time: it starts a flow at Time-Span, moves an existing flow's start
// back when earlier, and Add returns the end of the window that counted it.
func TestSpan(t *testing.T) {
	a, _ := New(DefaultConfig(), Deps{})
	eni := &Interface{ID: "eni-1", AccountID: "1"}
	mk := func(sport uint16, at time.Time, span time.Duration, packets int64) *Observation {
		o := pkt{t: at, src: "10.0.0.1", dst: "10.0.0.2", sport: sport, dport: 443, packets: packets, bytes: 100 * packets, flags: ack}.obs(eni)
		o.Span = span
		return &o
	}
	end := a.Add(mk(1, at(100, 0), 0, 1)) // opens the window [100, 700)
	if want := at(700, 0).UnixNano(); end != want {
		t.Fatalf("Add returned window end %d, want %d", end, want)
	}
	a.Add(mk(1, at(160, 0), 50*time.Second, 4))       // flow 1: 110..160, after its start at 100
	a.Add(mk(2, at(200, 0), 30*time.Second, 3))       // flow 2: starts at 170
	a.Add(mk(2, at(150, 0), 0, 1))                    // an earlier packet of flow 2 moves its start to 150
	end = a.Add(mk(3, at(650, 0), 10*time.Second, 2)) // flow 3: 640..650
	if want := at(700, 0).UnixNano(); end != want {
		t.Fatalf("Add returned window end %d, want %d", end, want)
	}
	recs := a.Advance(at(700, 0))
	f, err := flow.ParseFormat("${srcport} ${packets} ${bytes} ${start} ${end}")
	if err != nil {
		t.Fatal(err)
	}
	got := text(f, recs)
	want := []string{"1 5 500 100 160", "2 4 400 150 200", "3 2 200 640 650"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}
