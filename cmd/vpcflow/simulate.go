package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"vpcflow/internal/alarm"
	"vpcflow/internal/demo"
	"vpcflow/internal/gctune"
	"vpcflow/internal/traffic"
	"vpcflow/internal/vpc"
)

func newSimulateCmd() *cobra.Command {
	var (
		scenario, topology, out string
		natsURL, alarms         string
		realtime, notify        bool
		speed                   float64
	)
	cmd := &cobra.Command{
		Use:   "simulate --scenario FILE --out DIR",
		Short: "Run a traffic scenario through a VPC on a simulated clock and write its flow logs",
		Long: `simulate loads a scenario (workloads, incident patterns, flow logs to
create), runs every packet through the VPC's routes, security groups and
network ACLs on a simulated clock, and writes the flow logs to DIR in the
S3 layout (and the CloudWatch-like log store; kinesis-data-firehose flow
logs publish to NATS JetStream at --nats-url). A scenario that names no
flow log gets one per VPC to S3 (default format, ALL). The same scenario
and seed give byte-identical output. On a terminal, a progress bar on
stderr shows the simulated time, packets and records written.

--alarms FILE runs metric filters and alarms (the format of "vpcflow alarms
evaluate") live on the CloudWatch Logs events as the run writes them,
evaluated once per simulated minute as CloudWatch would (in real time with
--realtime), and prints every state change; --notify delivers the
notifications as they happen.`,
		Example: `  vpcflow simulate --scenario internal/demo/scenario.yaml --topology internal/demo/three-tier.yaml --out ./sim-data
  vpcflow simulate --scenario my.yaml --out ./sim-data --realtime --speed 60
  vpcflow simulate --scenario internal/demo/scenario.yaml --out ./sim-data --alarms internal/server/alarms.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scenario == "" {
				return fmt.Errorf("--scenario is required")
			}
			gctune.ForBatch()
			sc, topo, err := loadScenario(scenario, topology)
			if err != nil {
				return err
			}
			var eng *alarm.Engine
			if alarms != "" {
				cfg, err := alarm.LoadConfig(alarms)
				if err != nil {
					return err
				}
				if eng, err = alarm.New(cfg, alarm.Deps{}); err != nil {
					return err
				}
				eng.SetNotify(notify)
			} else if notify {
				return fmt.Errorf("--notify needs --alarms")
			}
			if err := demo.PrepareDataDir(out); err != nil {
				return err
			}
			bar := newSimBar(cmd.ErrOrStderr(), sc)
			res, err := demo.RunScenario(cmd.Context(), sc, topo, demo.RunOptions{
				DataDir: out, Realtime: realtime, Speed: speed, NATSURL: natsURL,
				Progress: bar.update, Alarms: eng,
			})
			bar.finish()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			name := sc.Name
			if name == "" {
				name = filepath.Base(scenario)
			}
			fmt.Fprintf(w, "Simulated %s of %q (seed %d) in %.1fs: %s conversations, %s packets; flow logs %v\n",
				sc.Duration, name, sc.Seed, res.Elapsed.Seconds(), fmtInt(res.Traffic.Conversations), fmtInt(res.Traffic.Packets), res.FlowLogs)
			s, err := demo.Count(out, res)
			if err != nil {
				return err
			}
			if err := s.WriteBrief(w); err != nil || eng == nil {
				return err
			}
			fmt.Fprintf(w, "\nAlarms (evaluated live, once per simulated minute):\n")
			return writeAlarmReport(w, eng, res.Alarms, notify)
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenario, "scenario", "", "scenario YAML file")
	f.StringVar(&topology, "topology", "", "topology YAML (overrides the scenario's topology:)")
	f.StringVar(&out, "out", "vpcflow-data", "data directory to write (emptied first if it is an earlier vpcflow data directory)")
	f.StringVar(&alarms, "alarms", "", "metric filters, alarms and topics (YAML) to evaluate over the run's CloudWatch Logs events")
	f.BoolVar(&notify, "notify", false, "with --alarms, deliver notifications to the topics' subscribers")
	f.BoolVar(&realtime, "realtime", false, "pace the simulated clock to the wall clock")
	f.Float64Var(&speed, "speed", 1, "with --realtime, simulated seconds per wall-clock second")
	f.StringVar(&natsURL, "nats-url", "", "NATS server (JetStream) for the scenario's kinesis-data-firehose flow logs, e.g. nats://127.0.0.1:4222")
	return cmd
}

// loadScenario decodes a scenario and binds it to --topology or to the
// scenario's own topology file.
func loadScenario(path, topology string) (*traffic.Scenario, *vpc.Topology, error) {
	doc, data, err := traffic.ReadDocument(path)
	if err != nil {
		return nil, nil, err
	}
	tp := topology
	if tp == "" {
		tp = doc.TopologyPath(path)
	}
	if tp == "" {
		return nil, nil, fmt.Errorf("%s names no topology: add topology: FILE to it or pass --topology", path)
	}
	topo, err := vpc.LoadFile(tp)
	if err != nil {
		return nil, nil, err
	}
	sc, err := traffic.Compile(doc, topo, data, path)
	if err != nil {
		return nil, nil, err
	}
	return sc, topo, nil
}

// simBar shows simulated time and records written, only on a terminal.
type simBar struct {
	bar   *progressbar.ProgressBar
	start time.Time
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newSimBar(w io.Writer, sc *traffic.Scenario) *simBar {
	b := &simBar{start: sc.Start}
	if !isTerminal(w) {
		return b
	}
	b.bar = progressbar.NewOptions64(int64(sc.Duration/time.Second),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("simulating"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)
	return b
}

func (b *simBar) update(now time.Time, st *traffic.Stats, records int64) {
	if b.bar == nil {
		return
	}
	b.bar.Describe(fmt.Sprintf("%s  %s packets, %s records", now.Format("2006-01-02 15:04"), fmtInt(st.Packets), fmtInt(records)))
	b.bar.Set64(int64(now.Sub(b.start) / time.Second))
}

func (b *simBar) finish() {
	if b.bar != nil {
		b.bar.Finish()
	}
}

func fmtInt(n int64) string {
	s := fmt.Sprint(n)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
