package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"vpcflow/internal/demo"
	"vpcflow/internal/gctune"
	"vpcflow/internal/traffic"
	"vpcflow/internal/traffic/capture"
	"vpcflow/internal/vpc"
)

func newReplayCmd() *cobra.Command {
	var (
		topology, pcap, out, format, trafficType, dest string
		maps                                           []string
		interval                                       int
		cpuprofile                                     string
	)
	cmd := &cobra.Command{
		Use:   "replay --topology FILE --pcap FILE --out DIR",
		Short: "Turn a pcap/pcapng capture into AWS VPC flow logs on the capture's clock",
		Long: `replay reads a pcap or pcapng capture (optionally gzip-compressed;
Ethernet, 802.1Q, raw IP, Linux SLL or loopback), maps its addresses to the
topology's interfaces (their private IPs, or --map), runs each packet through
the VPC on the capture's own clock, and writes one flow log per VPC to DIR.
Frames that carry no usable IP packet are counted and reported; a truncated
or unreadable file stops the replay with the packet number and byte offset.`,
		Example: `  vpcflow replay --topology internal/vpc/testdata/three-tier.yaml --pcap host.pcap --map 192.168.1.20=eni-0a0a00000000000d1 --out ./replay-data`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if topology == "" || pcap == "" {
				return fmt.Errorf("--topology and --pcap are required")
			}
			topo, err := vpc.LoadFile(topology)
			if err != nil {
				return err
			}
			m, err := demo.ParseMap(topo, maps)
			if err != nil {
				return err
			}
			var docs []traffic.FlowLogDoc
			for _, v := range topo.VPCs {
				docs = append(docs, traffic.FlowLogDoc{Resource: v.ID, TrafficType: trafficType, Destination: dest,
					LogFormat: format, MaxAggregationInterval: interval})
			}
			if err := demo.CheckFlowLogs(topo, docs); err != nil {
				return err // before --out is touched
			}
			if err := demo.PrepareDataDir(out); err != nil {
				return err
			}
			gctune.ForBatch()
			stopProfile, err := startCPUProfile(cpuprofile)
			if err != nil {
				return err
			}
			defer stopProfile()
			var bar *progressbar.ProgressBar
			if isTerminal(cmd.ErrOrStderr()) {
				// No spinner ticker: progressbar v3.19.1's ticker goroutine
				// reads the bar's state without its lock (a data race with
				// Describe); the bar is redrawn by Describe instead.
				bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
					progressbar.OptionSetSpinnerChangeInterval(0),
					progressbar.OptionSetDescription("replaying"), progressbar.OptionClearOnFinish(),
					progressbar.OptionThrottle(100*time.Millisecond))
			}
			res, err := demo.ReplayCapture(cmd.Context(), topo, pcap, demo.ReplayOptions{
				DataDir: out, Map: m, FlowLogs: docs,
				Progress: func(st *capture.ReplayStats, records int64) {
					if bar != nil {
						bar.Describe(fmt.Sprintf("%s  %s packets, %s records", st.Last.Format(time.RFC3339), fmtInt(st.Packets), fmtInt(records)))
						bar.Set64(st.Packets)
					}
				},
			})
			if bar != nil {
				bar.Finish()
			}
			if res != nil && res.Replay != nil {
				printReplay(cmd, res)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&topology, "topology", "", "topology YAML whose interfaces own the capture's addresses")
	f.StringVar(&pcap, "pcap", "", "pcap or pcapng file (.gz accepted)")
	f.StringArrayVar(&maps, "map", nil, "rewrite a capture address to an interface: IP=eni-… (or =IP, =name); repeatable")
	f.StringVar(&out, "out", "vpcflow-data", "data directory to write")
	f.StringVar(&format, "log-format", "", "custom ${field} format (default: the AWS default format)")
	f.StringVar(&trafficType, "traffic-type", "ALL", "ALL, ACCEPT or REJECT")
	f.StringVar(&dest, "destination", "s3", "s3 or cloud-watch-logs")
	f.IntVar(&interval, "max-aggregation-interval", 600, "60 or 600 seconds")
	f.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile to this file")
	f.MarkHidden("cpuprofile")
	return cmd
}

func printReplay(cmd *cobra.Command, res *demo.ReplayResult) {
	w := cmd.OutOrStdout()
	st := res.Replay
	cs := st.Capture
	secs := res.Elapsed.Seconds()
	fmt.Fprintf(w, "Replayed %s packets (%s bytes) from %s to %s in %.2fs (%s packets/s); flow logs %v\n",
		fmtInt(st.Packets), fmtInt(st.Bytes), st.First.Format(time.RFC3339Nano), st.Last.Format(time.RFC3339Nano),
		secs, fmtInt(int64(float64(st.Packets)/max(secs, 1e-9))), res.FlowLogs)
	if st.Mapped > 0 {
		fmt.Fprintf(w, "  %s packets had an address rewritten by --map\n", fmtInt(st.Mapped))
	}
	if cs.Truncated > 0 {
		fmt.Fprintf(w, "  %s packets were captured shorter than sent (snap length); sizes come from their IP headers\n", fmtInt(int64(cs.Truncated)))
	}
	if cs.LengthClamped > 0 {
		fmt.Fprintf(w, "  %s packets claimed an IP length longer than their frame; their size is the frame's\n", fmtInt(int64(cs.LengthClamped)))
	}
	if cs.Untimed > 0 {
		fmt.Fprintf(w, "  %s packets came in pcapng simple packet blocks, which have no time: each took the time of the packet before it\n", fmtInt(int64(cs.Untimed)))
	}
	if n := cs.SkippedTotal(); n > 0 {
		fmt.Fprintf(w, "  %s of %s frames skipped:\n", fmtInt(int64(n)), fmtInt(int64(cs.Frames)))
		reasons := make([]string, 0, len(cs.Skipped))
		for reason := range cs.Skipped {
			reasons = append(reasons, reason)
		}
		sort.Strings(reasons) // the same capture always prints the same report
		for _, reason := range reasons {
			fmt.Fprintf(w, "    %-50s %s\n", reason, fmtInt(int64(cs.Skipped[reason])))
		}
		for _, e := range cs.Examples {
			fmt.Fprintf(w, "    e.g. packet %d at byte offset %d: %s\n", e.Packet, e.Offset, e.Reason)
		}
	}
	n := res.Network
	fmt.Fprintf(w, "  dataplane: %s delivered, %s left the VPC, %s not logged (AWS exempt), %s unroutable, %s not in the topology\n",
		fmtInt(n.Delivered), fmtInt(n.LeftVPC), fmtInt(n.NotLogged), fmtInt(n.Unrouted), fmtInt(n.Unknown))
	if n.Unknown > 0 {
		fmt.Fprintf(w, "  hint: packets whose addresses belong to no interface produce no records; map them with --map CAPTURE_IP=eni-…\n")
	}
	fmt.Fprintf(w, "  %s records delivered\n", fmtInt(res.Records))
	demo.WriteLayers(w, n.RejectsByLayer)
}
