package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"vpcflow/internal/flow"
	"vpcflow/internal/troubleshoot"
	"vpcflow/internal/vpc"
)

// newDiagnoseCmd is `vpcflow diagnose`: why flows are REJECTed (security
// group or network ACL, and with a topology which rule), what is ACCEPTed
// but broken, and who scans.
func newDiagnoseCmd() *cobra.Command {
	var (
		data, topoFile, eni, since, until, output string
		format                                    string
		expect                                    []string
	)
	cmd := &cobra.Command{
		Use:   "diagnose --data DIR [--topology FILE]",
		Short: "Explain REJECTed and ACCEPT-but-broken flows, scans and brute force from flow logs",
		Long: `Reads flow log objects (gzip or plain text, header line or default format)
under --data and reports:
  - blocked conversations, with the seed rule that applies (inbound REJECT:
    NACL or SG; inbound ACCEPT + outbound REJECT: NACL; and the same for
    outgoing requests) and, with --topology, the deciding layer and rule and
    the smallest change that would allow the traffic;
  - ACCEPT-but-broken flows: SYN without SYN-ACK, connection refused, no
    reply, missing/blackhole routes, NAT gateway in another AZ, asymmetric
    return paths, expected flows (--expect) with no records at all;
  - port scans, SSH/RDP brute force, top rejected sources, unusual egress.

--since and --until take RFC 3339 times, Unix seconds, or a duration (such as
2h) counted back from the latest record in the data.

--output annotated prints the records with two sidecar fields appended,
vpcflow-decision-layer and vpcflow-decision-rule (never part of the AWS
default format); records that already carry them (a flow log created with
these tokens in its LogFormat) keep their values. --format chooses the
fields and their order, the two sidecar fields as opt-in tokens, for example
  --format '${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${action} ${vpcflow-decision-layer} ${vpcflow-decision-rule}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return fmt.Errorf("--data is required")
			}
			if format != "" && output != "annotated" {
				return fmt.Errorf("--format applies to --output annotated only")
			}
			d, err := troubleshoot.ReadDir(data)
			if err != nil {
				return err
			}
			warn(cmd.ErrOrStderr(), d.Warnings)
			opts := troubleshoot.Options{Interface: eni}
			if topoFile != "" {
				if opts.Topology, err = vpc.LoadFile(topoFile); err != nil {
					return err
				}
			}
			if opts.Since, err = parseWhen(since, d.Records); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if opts.Until, err = parseWhen(until, d.Records); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			for _, e := range expect {
				x, err := troubleshoot.ParseExpectation(e)
				if err != nil {
					return fmt.Errorf("--expect: %w", err)
				}
				opts.Expect = append(opts.Expect, x)
			}
			out := cmd.OutOrStdout()
			switch output {
			case "text":
				rep := troubleshoot.Diagnose(d.Records, opts)
				return rep.WriteText(out)
			case "json":
				rep := troubleshoot.Diagnose(d.Records, opts)
				return rep.WriteJSON(out)
			case "annotated":
				af := troubleshoot.AppendDecision(d.Format)
				if format != "" {
					if af, err = troubleshoot.ParseAnnotatedFormat(format); err != nil {
						return fmt.Errorf("--format: %w", err)
					}
				}
				return writeAnnotated(out, d, af, opts)
			}

			return fmt.Errorf("--output %q: want text, json or annotated", output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "", "directory (or file) of flow log objects: a data directory such as ./vpcflow-data, a bucket in it, or downloaded S3 objects")
	f.StringVar(&topoFile, "topology", "", "topology YAML: replay rejections to name the rule and check routes")
	f.StringVar(&eni, "eni", "", "only conversations logged on this network interface")
	f.StringVar(&since, "since", "", "only records ending at or after this time (RFC 3339, Unix seconds, or a duration back from the latest record)")
	f.StringVar(&until, "until", "", "only records starting before this time")
	f.StringVarP(&output, "output", "o", "text", "text, json or annotated")
	f.StringVar(&format, "format", "", "with --output annotated: the fields to print, ${field} tokens including ${vpcflow-decision-layer} and ${vpcflow-decision-rule} (default: the records' format and both)")
	f.StringArrayVar(&expect, "expect", nil, "a flow that should be in the logs: SRC->DST[:PORT][/PROTO] (repeatable)")
	return cmd
}

func writeAnnotated(w io.Writer, d *troubleshoot.Data, af troubleshoot.AnnotatedFormat, opts troubleshoot.Options) error {
	recs := d.Records
	if opts.Interface != "" || !opts.Since.IsZero() || !opts.Until.IsZero() {
		var kept []flow.Record
		for i := range recs {
			r := &recs[i]
			if opts.Interface != "" && r.InterfaceID != opts.Interface {
				continue
			}
			if !opts.Since.IsZero() && r.End < opts.Since.Unix() {
				continue
			}
			if !opts.Until.IsZero() && r.Start >= opts.Until.Unix() {
				continue
			}
			kept = append(kept, *r)
		}
		recs = kept
	}
	return troubleshoot.WriteAnnotatedFormat(w, af, recs, troubleshoot.Annotate(recs, opts.Topology))
}

// parseWhen parses an RFC 3339 time, Unix seconds, or a duration counted
// back from the latest record end.
func parseWhen(s string, recs []flow.Record) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time, Unix seconds or a duration such as 2h", s)
	}
	var last int64
	for i := range recs {
		last = max(last, recs[i].End)
	}
	return time.Unix(last, 0).Add(-d), nil
}
