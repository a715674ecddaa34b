package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"vpcflow/internal/athena"
)

// newQueryCmd is the `query` parent: `query sql` (Athena-like SQL on
// DuckDB) and `query insights` (Logs Insights).
func newQueryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Query flow logs with SQL (as Athena) or the Logs Insights language",
	}
	cmd.AddCommand(newQuerySQLCmd(), newQueryInsightsCmd())
	return cmd
}

func newQuerySQLCmd() *cobra.Command {
	var (
		data    string
		output  string
		threads int
	)
	cmd := &cobra.Command{
		Use:   "sql [flags] \"SELECT …\"",
		Short: "Run SQL over the flow log objects of a data directory, as Athena would",
		Long: `Run one SQL statement over the text (.log.gz) and Parquet objects of a data
directory laid out as the S3 bucket. Three views match the tables of AWS's
Athena documentation, so its sample queries run unchanged:

  vpc_flow_logs           columns of the Athena DDL, then "date" (DATE)
  vpc_flow_logs_parquet   columns, then "aws-account-id", "aws-service",
                          "aws-region", year, month, day, hour
  test_table_vpclogs      columns without region, then region and
                          day ('yyyy/MM/dd')

Presto functions DuckDB lacks are provided: from_unixtime, to_unixtime,
to_iso8601, date_format, date_parse, day_of_week, approx_distinct,
approx_percentile, regexp_like, arbitrary, cardinality …
SQL can read nothing outside the data directory and write nothing.
The statement is the argument, or standard input when it is "-" or absent.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := ""
			if len(args) == 1 && args[0] != "-" {
				q = args[0]
			} else {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				q = string(b)
			}
			if strings.TrimSpace(q) == "" {
				return fmt.Errorf("no SQL statement given")
			}
			switch output {
			case athena.OutputTable, athena.OutputCSV, athena.OutputJSON:
			default:
				return fmt.Errorf("--output must be table, csv or json, got %q", output)
			}
			return runSQL(cmd.Context(), cmd.OutOrStdout(), data, threads, output, q)
		},
	}
	cmd.Flags().StringVar(&data, "data", "./vpcflow-data", "data directory (the S3 layout)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, csv or json")
	cmd.Flags().IntVar(&threads, "threads", 0, "DuckDB threads (0: all cores)")
	return cmd
}

func runSQL(ctx context.Context, w io.Writer, data string, threads int, output, q string) error {
	db, err := athena.Open(ctx, athena.Config{DataDir: data, Threads: threads})
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Query(ctx, q)
	if err != nil {
		return err
	}
	return res.Write(w, output)
}
