package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"vpcflow/internal/flow"
	"vpcflow/internal/flowlog"
	"vpcflow/internal/insights"
	"vpcflow/internal/logstore"
)

// logStoreDirs are where the CloudWatch-like log store may live under the
// data directory, in order of preference (the demo pipeline writes
// "cloudwatch-logs").
var logStoreDirs = []string{"cloudwatch-logs", "logs"}

type queryInsightsOptions struct {
	data      string
	groups    []string
	streams   []string
	since     time.Duration
	start     string
	end       string
	output    string
	format    string
	accountID string
	stats     bool
}

func newQueryInsightsCmd() *cobra.Command {
	var o queryInsightsOptions
	cmd := &cobra.Command{
		Use:   "insights --data DIR --log-group G [--since 1h | --start T --end T] 'QUERY'",
		Short: "Run a CloudWatch Logs Insights query over the log store",
		Long: `Run a CloudWatch Logs Insights query (fields, filter, stats … by, sort, limit,
parse, display, dedup) over flow log events in the local CloudWatch-like log
store. Flow log fields are discovered with AWS's names (srcAddr, dstAddr,
srcPort, dstPort, protocol, packets, bytes, startTime, endTime, action,
logStatus, interfaceId, accountId, version) next to @timestamp, @message,
@logStream, @log and @ingestionTime.

Without a time range the whole store is queried. Statistics go to stderr.`,
		Example: `  vpcflow query insights --data ./vpcflow-data --log-group /vpc/flowlogs \
    'filter action="REJECT" | stats count(*) as n by srcAddr | sort n desc | limit 10'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQueryInsights(cmd, o, args[0])
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.data, "data", "vpcflow-data", "data directory (holding the log store in cloudwatch-logs/), or the log store directory itself")
	fs.StringArrayVar(&o.groups, "log-group", nil, "log group to query (repeatable; default: all)")
	fs.StringArrayVar(&o.streams, "log-stream", nil, "log stream to query (repeatable; default: all)")
	fs.DurationVar(&o.since, "since", 0, "query the last DURATION up to now (e.g. 1h, 30m)")
	fs.StringVar(&o.start, "start", "", "start of the time range, RFC 3339 (inclusive)")
	fs.StringVar(&o.end, "end", "", "end of the time range, RFC 3339 (exclusive)")
	fs.StringVarP(&o.output, "output", "o", "table", "output: table, json or csv")
	fs.StringVar(&o.format, "format", "", "flow log `FORMAT` of the messages (${field} ${field} …), for the discovered fields of custom formats (default: the AWS default format)")
	fs.StringVar(&o.accountID, "account-id", "", "account id shown in @log (default: each record's account-id)")
	fs.BoolVar(&o.stats, "stats", true, "print query statistics to stderr")
	return cmd
}

func runQueryInsights(cmd *cobra.Command, o queryInsightsOptions, query string) error {
	switch o.output {
	case "table", "json", "csv":
	default:
		return fmt.Errorf("--output must be table, json or csv, not %q", o.output)
	}
	q, err := insights.Parse(query)
	if err != nil {
		return queryError(err, query)
	}
	opt := insights.Options{LogGroups: o.groups, LogStreams: o.streams, AccountID: o.accountID}
	if o.format != "" {
		if opt.Format, err = flow.ParseFormat(o.format); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	if o.since > 0 && (o.start != "" || o.end != "") {
		return errors.New("use either --since or --start/--end")
	}
	if o.since > 0 {
		opt.End = time.Now()
		opt.Start = opt.End.Add(-o.since)
	}
	for _, t := range []struct {
		flag, val string
		dst       *time.Time
	}{{"--start", o.start, &opt.Start}, {"--end", o.end, &opt.End}} {
		if t.val == "" {
			continue
		}
		if *t.dst, err = time.Parse(time.RFC3339, t.val); err != nil {
			return fmt.Errorf("%s %q: want an RFC 3339 time such as 2026-11-23T10:00:00Z", t.flag, t.val)
		}
	}
	dir, err := findLogStore(o.data)
	if err != nil {
		return err
	}
	if o.format == "" {
		opt.Format, _ = flowLogGroupFormat(filepath.Dir(dir), o.groups)
	}
	st, err := logstore.Open(logstore.Config{Dir: dir, ReadOnly: true}, logstore.Deps{})
	if err != nil {
		return fmt.Errorf("open log store: %w", err)
	}
	defer st.Close()
	// As StartQuery, a log group that does not exist is an error, not an
	// empty result.
	var have []string
	for _, g := range st.LogGroups() {
		have = append(have, g.Name)
	}
	for _, g := range o.groups {
		if !slices.Contains(have, g) {
			return fmt.Errorf("log group %s does not exist in %s (groups: %s)", g, dir, strings.Join(have, ", "))
		}
	}
	res, err := insights.Run(cmd.Context(), st, q, opt)
	if err != nil {
		return queryError(err, query)
	}
	if err := printInsights(cmd.OutOrStdout(), o.output, res); err != nil {
		return err
	}
	if o.stats {
		s := res.Statistics
		fmt.Fprintf(cmd.ErrOrStderr(), "%d row(s); records matched %d, scanned %d, bytes scanned %d\n",
			len(res.Rows), s.RecordsMatched, s.RecordsScanned, s.BytesScanned)
	}
	return nil
}

// queryError adds the offending line and a caret to a query error.
func queryError(err error, query string) error {
	if pe, ok := errors.AsType[*insights.ParseError](err); ok {
		if ex := pe.Excerpt(query); ex != "" {
			return fmt.Errorf("%w\n%s", err, ex)
		}
	}
	return err
}

// findLogStore resolves --data to the log store directory without
// creating anything.
func findLogStore(data string) (string, error) {
	for _, sub := range logStoreDirs {
		p := filepath.Join(data, sub)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p, nil
		}
	}
	if m, _ := filepath.Glob(filepath.Join(data, "seg-*.log")); len(m) > 0 {
		return data, nil
	}
	return "", fmt.Errorf("no log store under %s (looked for %s, or segment files in it)", data, strings.Join(logStoreDirs, "/, ")+"/")
}

func printInsights(w io.Writer, output string, res *insights.Result) error {
	switch output {
	case "json":
		out := struct {
			Status string `json:"status"`
			*insights.Result
		}{"Complete", res}
		if out.Rows == nil {
			out.Rows = [][]insights.ResultField{}
		}
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(out)
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(res.Fields); err != nil {
			return err
		}
		for _, row := range res.Rows {
			rec := make([]string, len(res.Fields))
			for i, f := range res.Fields {
				rec[i], _ = insights.Get(row, f)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(res.Fields, "\t"))
	for _, row := range res.Rows {
		rec := make([]string, len(res.Fields))
		for i, f := range res.Fields {
			rec[i], _ = insights.Get(row, f)
		}
		fmt.Fprintln(tw, strings.Join(rec, "\t"))
	}
	return tw.Flush()
}

// flowLogGroupFormat is the custom format of the flow logs that the data
// directory says publish to groups, so their fields are discovered.
func flowLogGroupFormat(dataDir string, groups []string) (flow.Format, bool) {
	if _, err := os.Stat(filepath.Join(dataDir, flowlog.FileName)); err != nil {
		return flow.Format{}, false
	}
	st, err := flowlog.OpenStore(flowlog.StoreConfig{DataDir: dataDir, AccountID: "123456789012", Region: "us-east-1"}, flowlog.StoreDeps{})
	if err != nil {
		return flow.Format{}, false
	}
	return st.LogGroupFormat(groups...)
}
