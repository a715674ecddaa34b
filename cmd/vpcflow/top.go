package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"vpcflow/internal/logstore"
	"vpcflow/internal/topn"
)

func newTopCmd() *cobra.Command {
	var (
		ruleFile, data, source, output string
		period                         time.Duration
		top, workers                   int
		since                          time.Duration
		perPeriod                      bool
	)
	cmd := &cobra.Command{
		Use:   "top --rule FILE [--data DIR]",
		Short: "Top-N contributors with a Contributor Insights rule (AWS JSON rule syntax)",
		Long: `Evaluate a CloudWatch Contributor Insights rule over stored flow logs and
print the top contributors overall and per period.

Events come from the CloudWatch-like log store of the data directory
(cloudwatch-logs/, the rule's LogGroupNames with wildcards resolved) or,
with --source s3 or when there is no log store, from the text objects of the
S3 layout (every object, each record one event timestamped at its start).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(ruleFile)
			if err != nil {
				return err
			}
			rule, err := topn.ParseRule(b)
			if err != nil {
				return fmt.Errorf("%s: %w", ruleFile, err)
			}
			opts := topn.Options{Period: period, Top: top, Workers: workers}
			if since > 0 {
				opts.Start = time.Now().Add(-since)
			}
			src, groups, closeFn, err := openEventSource(data, source, rule.ResolveLogGroups)
			if err != nil {
				return err
			}
			defer closeFn()
			if groups != nil && len(groups) == 0 {
				return fmt.Errorf("no log group in %s matches the rule's LogGroupNames %q", data, rule.LogGroupNames)
			}
			opts.LogGroups = groups
			rep, err := topn.Evaluate(cmd.Context(), src, rule, opts)
			if err != nil {
				return err
			}
			switch output {
			case "table":
				return rep.WriteTable(cmd.OutOrStdout(), perPeriod)
			case "json":
				return rep.WriteJSON(cmd.OutOrStdout())
			case "text":
				return rep.WriteText(cmd.OutOrStdout())
			}
			return fmt.Errorf("--output must be table, json or text, got %q", output)
		},
	}
	cmd.Flags().StringVar(&ruleFile, "rule", "", "Contributor Insights rule (JSON)")
	cmd.Flags().StringVar(&data, "data", "./vpcflow-data", "data directory")
	cmd.Flags().StringVar(&source, "source", "auto", "events from: logs (the log store), s3 (text objects) or auto")
	cmd.Flags().DurationVar(&period, "period", 5*time.Minute, "aggregation period")
	cmd.Flags().IntVar(&top, "top", 10, "contributors to list")
	cmd.Flags().IntVar(&workers, "workers", 2, "goroutines reading S3 objects")
	cmd.Flags().DurationVar(&since, "since", 0, "only events newer than this (e.g. 1h); 0: all")
	cmd.Flags().BoolVar(&perPeriod, "per-period", false, "also list the top contributors of each period")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or text")
	cmd.MarkFlagRequired("rule")
	return cmd
}

// eventSource is what top and alarms read.
type eventSource interface {
	Scan(ctx context.Context, q logstore.Query, fn func(*logstore.Event) error) error
}

// openEventSource picks the log store under data (when present, or when
// asked for) or the S3 text objects. resolve maps the store's group names
// to the ones to scan; groups is nil for S3 objects.
func openEventSource(data, source string, resolve func([]string) []string) (eventSource, []string, func(), error) {
	storeDir := filepath.Join(data, topn.LogStoreDir)
	_, statErr := os.Stat(storeDir)
	useLogs := false
	switch source {
	case "logs":
		if statErr != nil {
			return nil, nil, nil, fmt.Errorf("no log store at %s", storeDir)
		}
		useLogs = true
	case "s3":
	case "auto":
		useLogs = statErr == nil
	default:
		return nil, nil, nil, fmt.Errorf("--source must be logs, s3 or auto, got %q", source)
	}
	if !useLogs {
		if _, err := os.Stat(data); err != nil {
			return nil, nil, nil, fmt.Errorf("data directory: %w", err)
		}
		return topn.ObjectSource{Dir: data}, nil, func() {}, nil
	}
	cfg := logstore.DefaultConfig()
	cfg.Dir, cfg.ReadOnly = storeDir, true
	st, err := logstore.Open(cfg, logstore.Deps{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open log store: %w", err)
	}
	var names []string
	for _, g := range st.LogGroups() {
		names = append(names, g.Name)
	}
	groups := names
	if resolve != nil {
		groups = resolve(names)
		if groups == nil {
			groups = []string{}
		}
	}
	return st, groups, func() { st.Close() }, nil
}
