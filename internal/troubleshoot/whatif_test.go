package troubleshoot

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"vpcflow/internal/flow"
)

func whatIfTraffic(s *sim) {
	s.tcp("10.0.10.15", "10.0.20.25", "10.0.20.25", 40001, 3306, answer) // rejected by the db SG
	for i := range 3 {
		s.tcp("203.0.113.77", "198.51.100.20", "10.0.0.10", uint16(41000+i), 22, answer) // SSH open to the world
	}
	s.tcp("203.0.113.5", "198.51.100.20", "10.0.0.10", 50000, 443, answer)
}

const whatIfPatch = `
security_groups:
  - id: sg-000000000000000db
    authorize_ingress:
      - {protocol: tcp, ports: 3306, group: sg-00000000000000app}
  - id: sg-00000000000000web
    revoke_ingress:
      - {protocol: tcp, ports: 22, cidr: 0.0.0.0/0}
network_acls:
  - id: acl-0000000000000app
    ingress:
      - {rule: 130, protocol: tcp, ports: 1024-65535, cidr: 10.0.20.0/24, action: allow}
`

func TestWhatIf(t *testing.T) {
	s := newSim(t, flow.DefaultFormat)
	whatIfTraffic(s)
	recs := s.records()
	patch, err := ParsePatch([]byte(whatIfPatch), "patch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	after := loadTopo(t)
	if err := patch.Apply(after); err != nil {
		t.Fatal(err)
	}
	res := WhatIf(recs, s.topo, after, Options{})
	if res.Disagreements != 0 || res.Unmodelled != 0 {
		t.Errorf("disagreements %d unmodelled %d", res.Disagreements, res.Unmodelled)
	}
	if len(res.NowAccepted) != 1 {
		t.Fatalf("now accepted = %+v", res.NowAccepted)
	}
	c := res.NowAccepted[0]
	if c.Service != "tcp/3306" || c.Interface != "eni-00000000000000db1" || c.Leg != "request-in" || c.Recorded != "REJECT" {
		t.Errorf("now accepted: %+v", c)
	}
	if c.Before.Layer != "sg" || !c.After.Allowed {
		t.Errorf("before %s after %s", c.Before, c.After)
	}
	// SSH: the request leg on the web server (3 connections in one record:
	// the aggregator keys on the client port, so 3 records).
	if len(res.NowRejected) != 1 {
		t.Fatalf("now rejected = %+v", res.NowRejected)
	}
	r := res.NowRejected[0]
	if r.Service != "tcp/22" || r.Leg != "request-in" || r.Records != 3 || r.After.Layer != "sg" || r.After.Allowed {
		t.Errorf("now rejected: %+v", r)
	}
	var buf bytes.Buffer
	if err := res.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Accepted, would be REJECTED: 1") {
		t.Errorf("text:\n%s", buf.String())
	}
}

func TestPatchErrors(t *testing.T) {
	if _, err := ParsePatch([]byte("security_groups:\n  - id: sg-1\n    authorise_ingress: []\n"), "p.yaml"); !errors.Is(err, ErrPatch) || !strings.Contains(err.Error(), "3:") {
		t.Errorf("unknown key: %v", err)
	}
	topo := loadTopo(t)
	for _, src := range []string{
		"security_groups: [{id: sg-nope, authorize_ingress: [{protocol: tcp, ports: 22, cidr: 10.0.0.0/8}]}]",
		"security_groups: [{id: sg-00000000000000web, authorize_ingress: [{protocol: tcp, ports: 99999, cidr: 10.0.0.0/8}]}]",
		"network_acls: [{id: acl-0000000000000app, ingress: [{rule: 0, protocol: tcp, cidr: 10.0.0.0/8, action: allow}]}]",
		"network_acls: [{id: acl-0000000000000app, ingress: [{rule: 5, protocol: tcp, cidr: 10.0.0.0/8, action: maybe}]}]",
		"network_acls: [{id: acl-nope, delete_ingress: [100]}]",
	} {
		p, err := ParsePatch([]byte(src), "p.yaml")
		if err != nil {
			t.Errorf("%s: parse: %v", src, err)
			continue
		}
		if err := p.Apply(topo); err == nil {
			t.Errorf("%s: applied", src)
		}
	}
}

func TestLeastPrivilege(t *testing.T) {
	s := newSim(t, flow.DefaultFormat)
	whatIfTraffic(s)
	gs := LeastPrivilege(s.records(), s.topo)
	byID := map[string]GroupSuggestion{}
	for _, g := range gs {
		byID[g.ID] = g
	}
	web := byID["sg-00000000000000web"]
	var in []string
	for _, r := range web.Ingress {
		in = append(in, string(r.Protocol)+"/"+string(r.Ports)+" "+r.CIDR+r.Group)
	}
	if got, want := strings.Join(in, ", "), "tcp/22 203.0.113.77/32, tcp/443 203.0.113.5/32"; got != want {
		t.Errorf("web ingress = %s, want %s", got, want)
	}
	if !strings.Contains(strings.Join(web.Unused, "; "), "ingress icmp all from 0.0.0.0/0") {
		t.Errorf("web unused = %v", web.Unused)
	}
	app := byID["sg-00000000000000app"]
	if len(app.Egress) != 1 || app.Egress[0].Group != "sg-000000000000000db" || app.Egress[0].Ports != "3306" {
		t.Errorf("app egress = %+v", app.Egress)
	}
	if _, err := MarshalSuggestions(gs); err != nil {
		t.Fatal(err)
	}
}

func TestAnnotate(t *testing.T) {
	s := newSim(t, flow.DefaultFormat)
	s.ping("203.0.113.12", "198.51.100.20", "10.0.0.10", 2)
	recs := s.records()
	check := func(anns []Annotation, layer, rule string) {
		t.Helper()
		n := 0
		for i, r := range recs {
			if r.Action == flow.ActionReject {
				n++
				if anns[i].Layer != layer || anns[i].Rule != rule {
					t.Errorf("REJECT annotated %+v, want %s %s", anns[i], layer, rule)
				}
			} else if anns[i] != noAnnotation {
				t.Errorf("ACCEPT annotated %+v", anns[i])
			}
		}
		if n != 1 {
			t.Errorf("%d REJECT records, want 1", n)
		}
	}
	check(Annotate(recs, s.topo), "nacl", "acl-0000000000000pub/egress/*")
	check(Annotate(recs, nil), "nacl", "-")
	var buf bytes.Buffer
	if err := WriteAnnotated(&buf, flow.DefaultFormat, recs, Annotate(recs, s.topo)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.HasSuffix(lines[0], "log-status vpcflow-decision-layer vpcflow-decision-rule") || len(lines) != len(recs)+1 {
		t.Errorf("annotated output:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), " REJECT OK nacl acl-0000000000000pub/egress/*\n") {
		t.Errorf("annotated output:\n%s", buf.String())
	}
}

// Many clients of one service widen to the narrowest cover, never wider
// than the rule that let them in; a port scanner's accepted probes get no
// rule.
func TestLeastPrivilegeWidensNarrowlyAndLeavesOutScans(t *testing.T) {
	s := newSim(t, flow.DefaultFormat)
	for i := range 20 { // the office: 20 hosts in one /24, SSH open to the world
		s.tcp(fmt.Sprintf("203.0.113.%d", 10+i), "198.51.100.20", "10.0.0.10", 40000, 22, answer)
	}
	s.tcp("203.0.113.5", "198.51.100.20", "10.0.0.10", 50000, 443, answer)
	for p := uint16(1); p <= 40; p++ { // a scanner: 22 and 443 answer
		s.tcp("198.18.0.66", "198.51.100.20", "10.0.0.10", 61000, p, answer)
	}
	s.tcp("198.18.0.66", "198.51.100.20", "10.0.0.10", 61000, 443, answer)
	gs := LeastPrivilege(s.records(), s.topo)
	i := slices.IndexFunc(gs, func(g GroupSuggestion) bool { return g.ID == "sg-00000000000000web" })
	if i < 0 {
		t.Fatalf("no suggestion for the web group: %+v", gs)
	}
	web := gs[i]
	var in []string
	for _, r := range web.Ingress {
		in = append(in, string(r.Protocol)+"/"+string(r.Ports)+" "+r.CIDR+r.Group)
	}
	if got, want := strings.Join(in, ", "), "tcp/22 203.0.113.0/24, tcp/443 203.0.113.5/32"; got != want {
		t.Errorf("web ingress = %s, want %s", got, want)
	}
	want := []string{"tcp/22 to 10.0.0.10 from 198.18.0.66 (port scan by 198.18.0.66)", "tcp/443 to 10.0.0.10 from 198.18.0.66 (port scan by 198.18.0.66)"}
	if !slices.Equal(web.LeftOut, want) {
		t.Errorf("left out = %q, want %q", web.LeftOut, want)
	}
}

func TestWiden(t *testing.T) {
	hosts := func(format string, n int) []netip.Addr {
		var out []netip.Addr
		for i := range n {
			out = append(out, netip.MustParseAddr(fmt.Sprintf(format, i)))
		}
		return out
	}
	pf := netip.MustParsePrefix
	tests := []struct {
		name  string
		hosts []netip.Addr
		allow []netip.Prefix
		want  string
	}{
		{"one /24", hosts("203.0.113.%d", 20), nil, "[203.0.113.0/24]"},
		{"a narrower allowing rule wins", hosts("203.0.113.%d", 20), []netip.Prefix{pf("203.0.113.0/26")}, "[203.0.113.0/26]"},
		{"spread out, no bound: everything", hosts("198.%d.7.1", 20), nil, "[0.0.0.0/0]"},
		{"spread out, bounded by the rule", hosts("198.51.%d.1", 20), []netip.Prefix{pf("198.51.0.0/16")}, "[198.51.0.0/16]"},
		{"a rule that does not cover them all is no bound", hosts("198.51.%d.1", 20), []netip.Prefix{pf("198.51.0.0/20")}, "[0.0.0.0/0]"},
		{"IPv6 /64s", hosts("2001:db8::%x", 20), nil, "[2001:db8::/64]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(widen(tc.hosts, tc.allow)); got != tc.want {
				t.Errorf("widen = %s, want %s", got, tc.want)
			}
		})
	}
}

// The two vpcflow fields are opt-in tokens of an annotated format, placed
// anywhere: the flow registry's extension fields.
func TestAnnotatedFormat(t *testing.T) {
	s := newSim(t, flow.DefaultFormat)
	s.ping("203.0.113.12", "198.51.100.20", "10.0.0.10", 1)
	recs := s.records()
	af, err := ParseAnnotatedFormat("${vpcflow-decision-rule} ${srcaddr} ${action} ${version} ${vpcflow-decision-layer}")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteAnnotatedFormat(&buf, af, recs, Annotate(recs, s.topo)); err != nil {
		t.Fatal(err)
	}
	want := "vpcflow-decision-rule srcaddr action version vpcflow-decision-layer\n" +
		"- 203.0.113.12 ACCEPT 2 -\n" +
		"acl-0000000000000pub/egress/* 10.0.0.10 REJECT 2 nacl\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	for _, tc := range []struct{ format, err string }{
		{"${srcaddr}  ${action}", "log format: offset 11: expected ${field}"},
		{"${srcaddr} ${nope}", `log format: offset 11: unknown field: "nope"`},
		{"${vpcflow-decision-rule} ${vpcflow-decision-rule}", `log format: offset 25: duplicate field: "vpcflow-decision-rule"`},
		{"", "log format: offset 0: expected ${field} separated by single spaces"},
	} {
		if _, err := ParseAnnotatedFormat(tc.format); err == nil || err.Error() != tc.err {
			t.Errorf("ParseAnnotatedFormat(%q) = %v, want %s", tc.format, err, tc.err)
		}
	}
	// The tokens are the flow registry's extension fields.
	if FieldDecisionLayer != flow.FieldDecisionLayer.String() || FieldDecisionRule != flow.FieldDecisionRule.String() {
		t.Errorf("field names %q %q differ from the flow registry", FieldDecisionLayer, FieldDecisionRule)
	}
	if f := af.Format(); !f.Contains(flow.FieldDecisionLayer) || !f.Contains(flow.FieldDecisionRule) || f.Version() != 2 {
		t.Errorf("annotated format %q", f.String())
	}
}
