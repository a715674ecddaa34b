package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"vpcflow/internal/demo"
	"vpcflow/internal/gctune"
)

func newDemoCmd() *cobra.Command {
	var (
		out      string
		duration time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Build a three-tier VPC, run a day of traffic with six incidents, write ./vpcflow-data and summarise",
		Long: `demo needs no flags. It loads the bundled three-tier VPC (public subnets
with an ALB, a bastion and NAT gateways, app subnets, database subnets with
RDS, two AZs) and the bundled scenario (a day of shop traffic with a port
scan, SSH brute force, a NACL that blocks return ports, a security group
that blocks an ALB health-check port, a data exfiltration burst and a DNS
flood), runs every packet through the VPC on a simulated clock, writes the
flow logs to ./vpcflow-data (S3 layout and the CloudWatch-like store), and
prints the records and rejects, the top talkers, the top rejected sources,
the diagnosis of each incident and the SQL to dig further.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gctune.ForBatch()
			sc, _, err := demo.Bundled()
			if err != nil {
				return err
			}
			if duration > 0 {
				sc.Duration = duration
			}
			bar := newSimBar(cmd.ErrOrStderr(), sc)
			s, err := demo.Demo(cmd.Context(), demo.DemoOptions{DataDir: out, Duration: duration, Progress: bar.update})
			bar.finish()
			if err != nil {
				return err
			}
			if err := s.WriteText(cmd.OutOrStdout()); err != nil {
				return fmt.Errorf("print summary: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", demo.DefaultDataDir, "data directory to write (emptied first if it is an earlier vpcflow data directory)")
	cmd.Flags().DurationVar(&duration, "duration", 0, "simulate less than the scenario's 24h (e.g. 6h)")
	return cmd
}
