package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"vpcflow/internal/alarm"
	"vpcflow/internal/logstore"
)

func newAlarmsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alarms",
		Short: "Metric filters, alarms and notifications (CloudWatch and SNS semantics)",
	}
	cmd.AddCommand(newAlarmsEvaluateCmd(), newAlarmsCheckCmd())
	return cmd
}

func newAlarmsCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check CONFIG",
		Short: "Validate an alarm configuration file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := alarm.LoadConfig(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d metric filters, %d alarms, %d topics: OK\n",
				args[0], len(c.MetricFilters), len(c.Alarms), len(c.Topics))
			return nil
		},
	}
}

func newAlarmsEvaluateCmd() *cobra.Command {
	var (
		data, config, source, output string
		notify                       bool
	)
	cmd := &cobra.Command{
		Use:   "evaluate --config FILE [--data DIR]",
		Short: "Run metric filters and alarms over stored flow logs, period by period",
		Long: `Run the metric filters of a configuration over every stored event, then step
the alarms through time minute by minute as CloudWatch would have while the
data arrived. Prints every state change and the final states. Notifications
are delivered to the topics' subscribers only with --notify.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := alarm.LoadConfig(config)
			if err != nil {
				return err
			}
			eng, err := alarm.New(cfg, alarm.Deps{})
			if err != nil {
				return err
			}
			eng.SetNotify(notify)
			src, groups, closeFn, err := openEventSource(data, source, nil)
			if err != nil {
				return err
			}
			defer closeFn()
			// A filter whose log group is not in the store (a typo, or
			// another flow log's group) would silently count nothing.
			for i := range cfg.MetricFilters {
				f := &cfg.MetricFilters[i]
				if groups != nil && !slices.ContainsFunc(groups, f.AppliesTo) {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: metric filter %s: no log group in the store matches %q (groups: %s)\n",
						f.FilterName, f.LogGroupName, strings.Join(groups, ", "))
				}
			}
			trs, err := eng.EvaluateStored(cmd.Context(), src, logstore.Query{LogGroups: groups})
			if err != nil {
				return err
			}
			events, matches := eng.Counts()
			w := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Events      int64               `json:"events"`
					Matches     int64               `json:"matches"`
					Transitions []alarm.HistoryItem `json:"transitions"`
					Alarms      []alarm.AlarmStatus `json:"alarms"`
				}{events, matches, historyOf(trs), eng.Alarms()})
			}
			if output != "table" {
				return fmt.Errorf("--output must be table or json, got %q", output)
			}
			return writeAlarmReport(w, eng, trs, notify)
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "metric filters, alarms and topics (YAML)")
	cmd.Flags().StringVar(&data, "data", "./vpcflow-data", "data directory")
	cmd.Flags().StringVar(&source, "source", "auto", "events from: logs (the log store), s3 (text objects) or auto")
	cmd.Flags().BoolVar(&notify, "notify", false, "deliver notifications to the topics' subscribers")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.MarkFlagRequired("config")
	return cmd
}

// writeAlarmReport prints the state changes of an evaluation (with the
// delivery results when notifications were sent) and the final states.
func writeAlarmReport(w io.Writer, eng *alarm.Engine, trs []alarm.Transition, notify bool) error {
	events, matches := eng.Counts()
	fmt.Fprintf(w, "%d events, %d metric filter matches, %d state changes\n\n", events, matches, len(trs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tALARM\tOLD\tNEW\tNOTIFIED\tREASON")
	var failures []string
	for _, tr := range trs {
		notified := "-"
		if notify {
			ok := 0
			for _, d := range tr.Deliveries {
				if d.Err == nil {
					ok++
				} else {
					failures = append(failures, fmt.Sprintf("%s %s → %s: %v (after %d attempts)",
						tr.Timestamp.Format(time.RFC3339), tr.AlarmName, d.Endpoint, d.Err, d.Attempts))
				}
			}
			notified = fmt.Sprintf("%d/%d", ok, len(tr.Deliveries))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", tr.Timestamp.Format(time.RFC3339), tr.AlarmName,
			tr.OldState, tr.NewState, notified, tr.Reason)
	}
	tw.Flush()
	for _, f := range failures {
		fmt.Fprintln(w, "delivery failed:", f)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ALARM\tSTATE\tSINCE")
	for _, a := range eng.Alarms() {
		since := "-"
		if !a.Updated.IsZero() {
			since = a.Updated.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.AlarmName, a.StateValue, since)
	}
	return tw.Flush()
}

func historyOf(trs []alarm.Transition) []alarm.HistoryItem {
	out := make([]alarm.HistoryItem, len(trs))
	for i, t := range trs {
		out[i] = t.HistoryItem
	}
	return out
}
