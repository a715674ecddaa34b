package main

import (
	"github.com/spf13/cobra"
)

// newRootCmd builds the command tree. Each subcommand lives in its own file
// as a newXCmd constructor; add it here.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "vpcflow",
		Short:         "AWS VPC Flow Logs, self-hosted and byte-faithful",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newDiagnoseCmd(),
		newWhatIfCmd(),
		newLogsCmd(),
		newServeCmd(),
		newFlowLogsCmd(),
		newQueryCmd(),
		newTopCmd(),
		newAlarmsCmd(),
		newSimulateCmd(),
		newReplayCmd(),
		newDemoCmd(),
		newVPCCmd(),
	)
	return root
}
