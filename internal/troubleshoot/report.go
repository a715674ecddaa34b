package troubleshoot

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

func unix(t int64) string {
	if t == 0 {
		return "-"
	}
	return time.Unix(t, 0).UTC().Format("2006-01-02 15:04:05Z")
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) error {
	p := &errWriter{w: w}
	p.printf("Analysed %d records on %d interfaces, %s to %s: %d conversations", r.Records, r.Interfaces, unix(r.First), unix(r.Last), r.Conversations)
	if r.Topology {
		p.printf(" (with topology)")
	} else {
		p.printf(" (flow logs only; add --topology to name the rule)")
	}
	p.printf("\n")
	if r.NoData+r.SkipData > 0 {
		p.printf("NODATA records: %d, SKIPDATA records: %d\n", r.NoData, r.SkipData)
	}

	var plain, hostile []Problem
	for _, pr := range r.Problems {
		if pr.Campaign != "" {
			hostile = append(hostile, pr)
		} else {
			plain = append(plain, pr)
		}
	}
	p.printf("\nBlocked: %d conversations in %d problems\n", len(r.Blocked), len(plain))
	for i, pr := range plain {
		what := "request"
		if pr.Response {
			what = "response"
		}
		servers := pr.Server.String()
		for _, o := range pr.OtherServers {
			servers += ", " + o.String()
		}
		on := pr.Interface
		if len(pr.AlsoOn) > 0 {
			on += ", " + strings.Join(pr.AlsoOn, ", ")
		}
		p.printf("\n%d. %s to %s from %s  [%s %s REJECTed on %s]\n", i+1, pr.Service, servers, clientList(pr), what, pr.Direction, on)
		p.printf("   %d rejected records (%d packets) in %d conversations, %s to %s; confidence %s\n",
			pr.Records, pr.Packets, pr.Conversations, unix(pr.First), unix(pr.Last), pr.Confidence)
		p.printf("   seed rule %d: %s\n", pr.Seed, pr.Reason)
		if pr.Decision != nil {
			p.printf("   decided by: %s\n", pr.Decision)
			p.printf("   why: %s\n", pr.Decision.Explanation)
		} else {
			p.printf("   suspect: %s\n", suspectText(pr.Suspect))
		}
		if f := pr.Fix; f != nil {
			p.printf("   fix: %s\n", f.Summary)
			if f.Command != "" {
				p.printf("        %s\n", f.Command)
			}
			if pr.ClientCount > 1 && f.hostCIDR != "" {
				p.printf("        (shown for one client; %d clients need it, or use a wider CIDR or a security group reference)\n", pr.ClientCount)
			}
			if f.Caution != "" {
				p.printf("   caution: %s\n", f.Caution)
			}
		}
	}
	if len(hostile) > 0 {
		p.printf("\nBlocked traffic that looks hostile (keep it blocked):\n")
		for _, pr := range hostile {
			advice := ""
			if pr.Fix != nil {
				advice = "; " + pr.Fix.Summary
			}
			p.printf("  - %s: %d sources, %d conversations, %d REJECT records%s\n", pr.Campaign, pr.ClientCount, pr.Conversations, pr.Records, advice)
		}
	}
	writeFindings(p, "ACCEPT but broken", r.Broken)
	writeFindings(p, "Security findings", r.Security)
	if len(r.TopRejectedSources) > 0 {
		p.printf("\nTop rejected sources:\n")
		p.printf("  %-40s %8s %9s %10s %6s %6s\n", "source", "records", "responses", "packets", "ports", "hosts")
		for _, s := range r.TopRejectedSources {
			p.printf("  %-40s %8d %9d %10d %6d %6d\n", s.Addr, s.Records, s.Responses, s.Packets, s.Ports, s.Hosts)
		}
	}
	return p.err
}

func clientList(pr Problem) string {
	var b strings.Builder
	if pr.ClientCount > 1 {
		fmt.Fprintf(&b, "%d clients: ", pr.ClientCount)
	}
	for i, c := range pr.Clients {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.String())
	}
	if pr.ClientCount > len(pr.Clients) {
		b.WriteString(", ...")
	}
	return b.String()
}

func suspectText(s Suspect) string {
	switch s {
	case SuspectNACL:
		return "network ACL (stateless)"
	case SuspectSG:
		return "security group"
	case SuspectNACLOrSG:
		return "network ACL or security group (flow logs alone cannot tell; add --topology)"
	}
	return string(s)
}

func writeFindings(p *errWriter, title string, fs []Finding) {
	p.printf("\n%s: %d\n", title, len(fs))
	for _, f := range fs {
		p.printf("  - [%s] %s: %s\n", f.Severity, f.Kind, f.Summary)
		if f.Detail != "" {
			p.printf("      %s\n", f.Detail)
		}
		if f.Records > 0 && f.First != 0 {
			p.printf("      %d records, %s to %s, confidence %s\n", f.Records, unix(f.First), unix(f.Last), f.Confidence)
		}
	}
}

// WriteJSON prints the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText prints the what-if result for people.
func (res *WhatIfResult) WriteText(w io.Writer) error {
	p := &errWriter{w: w}
	p.printf("Replayed %d recorded legs (%d on interfaces not in the topology); the model disagreed with %d recorded actions before the patch.\n",
		res.Legs, res.Unmodelled, res.Disagreements)
	section := func(title string, cs []Change) {
		p.printf("\n%s: %d\n", title, len(cs))
		for _, c := range cs {
			p.printf("  - %s -> %s %s on %s (%s, %d records, %d packets, recorded %s)\n", c.Client, c.Server, c.Service, c.Interface, c.Leg, c.Records, c.Packets, c.Recorded)
			p.printf("      before: %s\n      after:  %s\n", c.Before, c.After)
		}
	}
	section("Accepted, would be REJECTED", res.NowRejected)
	section("Rejected, would be ACCEPTED", res.NowAccepted)
	return p.err
}

// WriteJSON prints the what-if result as indented JSON.
func (res *WhatIfResult) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
