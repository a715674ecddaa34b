package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"vpcflow/internal/server"
	"vpcflow/internal/sigv4"
)

func newServeCmd() *cobra.Command {
	var (
		configPath string
		flags      server.Config
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the simulator, delivery, alarms, AWS-compatible APIs and web UI in one process",
		Long: `serve runs the bundled three-tier VPC (or your topology and scenario)
continuously, in real time or accelerated, delivers flow logs to the data
directory, evaluates alarms, and serves on one port:

  EC2 Query API      aws --endpoint-url http://ADDR ec2 describe-flow-logs
  CloudWatch Logs    aws --endpoint-url http://ADDR logs start-query ...
  S3 (read-only)     aws --endpoint-url http://ADDR s3 ls s3://vpcflow-logs/
  web UI             http://ADDR/ui/
  /healthz, /metrics

kinesis-data-firehose flow logs publish to NATS JetStream (one stream per
delivery stream, subjects vpcflow.firehose.<stream>.<flow log id>): give
--nats-url of a server with JetStream, or --nats-embedded to run one on
127.0.0.1 (--nats-port) with its storage in DATA/.nats.

Requests are checked with Signature Version 4 against the configured access
keys (a random key is generated and printed when none is configured).
Interrupt (Ctrl-C) shuts down gracefully: capture windows are closed and
every record is published before the process exits.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := server.LoadConfig(configPath)
			if err != nil {
				return err
			}
			// Flags override the file.
			if cmd.Flags().Changed("listen") {
				cfg.Listen = flags.Listen
			}
			if cmd.Flags().Changed("data") {
				cfg.DataDir = flags.DataDir
			}
			if cmd.Flags().Changed("speed") {
				cfg.Speed = flags.Speed
			}
			if cmd.Flags().Changed("topology") {
				cfg.Topology = flags.Topology
			}
			if cmd.Flags().Changed("scenario") {
				cfg.Scenario = flags.Scenario
			}
			if cmd.Flags().Changed("alarms") {
				cfg.Alarms = flags.Alarms
			}
			if cmd.Flags().Changed("nats-url") {
				cfg.NATS = server.NATSConfig{URL: flags.NATS.URL}
			}
			if cmd.Flags().Changed("nats-embedded") {
				cfg.NATS = server.NATSConfig{Embedded: flags.NATS.Embedded, Port: cfg.NATS.Port}
			}
			if cmd.Flags().Changed("nats-port") {
				cfg.NATS.Port = flags.NATS.Port
			}
			if id, secret := os.Getenv("VPCFLOW_ACCESS_KEY_ID"), os.Getenv("VPCFLOW_SECRET_ACCESS_KEY"); id != "" && secret != "" {
				cfg.Credentials = append(cfg.Credentials, server.Credential{AccessKeyID: id, SecretAccessKey: secret})
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			return server.Run(cmd.Context(), cfg, server.Deps{Logger: log, Ready: func(addr string, creds []sigv4.Credential) {
				fmt.Fprintf(cmd.OutOrStdout(), "vpcflow serving on http://%s (UI at http://%s/ui/)\n", addr, addr)
				fmt.Fprintf(cmd.OutOrStdout(), "  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=<secret> AWS_DEFAULT_REGION=us-east-1\n", creds[0].AccessKeyID)
				fmt.Fprintf(cmd.OutOrStdout(), "  aws --endpoint-url http://%s ec2 describe-flow-logs\n", addr)
			}})
		},
	}
	def := server.DefaultConfig()
	cmd.Flags().StringVar(&configPath, "config", "", "YAML configuration file (see internal/server/testdata/serve.yaml)")
	cmd.Flags().StringVar(&flags.Listen, "listen", def.Listen, "address to serve on")
	cmd.Flags().StringVar(&flags.DataDir, "data", def.DataDir, "data directory")
	cmd.Flags().Float64Var(&flags.Speed, "speed", def.Speed, "simulated seconds per real second (1 = real time)")
	cmd.Flags().StringVar(&flags.Topology, "topology", "", "topology YAML (default: bundled three-tier VPC)")
	cmd.Flags().StringVar(&flags.Scenario, "scenario", "", "scenario YAML (default: bundled scenario)")
	cmd.Flags().StringVar(&flags.Alarms, "alarms", "", "alarm configuration YAML (metric filters, alarms, topics)")
	cmd.Flags().StringVar(&flags.NATS.URL, "nats-url", "", "NATS server with JetStream for kinesis-data-firehose flow logs (nats://host:port)")
	cmd.Flags().BoolVar(&flags.NATS.Embedded, "nats-embedded", false, "start an embedded NATS JetStream server on 127.0.0.1 for kinesis-data-firehose flow logs")
	cmd.Flags().IntVar(&flags.NATS.Port, "nats-port", 0, "port of the embedded NATS server (0: any free port)")
	return cmd
}
