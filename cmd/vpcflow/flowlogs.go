package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"vpcflow/internal/datadir"
	"vpcflow/internal/flowlog"
	"vpcflow/internal/vpc"
)

// flowLogsOptions are the flags shared by the flowlogs subcommands.
type flowLogsOptions struct {
	data     string
	topology string
	account  string
	region   string
	seed     uint64
}

func (o *flowLogsOptions) bind(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&o.data, "data", "vpcflow-data", "data directory (flow logs are kept in `DIR`/"+flowlog.FileName+")")
	fs.StringVar(&o.topology, "topology", "", "topology YAML `FILE`: resource ids are checked against it and its account and region own the flow logs")
	fs.StringVar(&o.account, "account-id", "123456789012", "account that owns the flow logs (without --topology)")
	fs.StringVar(&o.region, "region", "us-east-1", "region of the flow logs (without --topology)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed for flow log ids, for reproducible simulations (0: random, then persisted)")
}

// openForWrite opens the store to change it. A running vpcflow (serve)
// owns the data directory and rewrites flowlogs.json itself, so changes go
// through its API instead.
func (o *flowLogsOptions) openForWrite() (*flowlog.Store, error) {
	if err := datadir.CheckFree(o.data); err != nil {
		if errors.Is(err, datadir.ErrInUse) {
			return nil, fmt.Errorf("%w: change its flow logs through its API (aws --endpoint-url http://ADDR ec2 create-flow-logs / delete-flow-logs)", err)
		}
		return nil, err
	}
	return o.open()
}

func (o *flowLogsOptions) open() (*flowlog.Store, error) {
	cfg := flowlog.StoreConfig{DataDir: o.data, AccountID: o.account, Region: o.region, Seed: o.seed}
	var deps flowlog.StoreDeps
	if o.topology != "" {
		t, err := vpc.LoadFile(o.topology)
		if err != nil {
			return nil, err
		}
		deps.Resources = flowlog.TopologyResources{Topology: t}
		if t.AccountID != "" {
			cfg.AccountID = t.AccountID
		}
		if t.Region != "" {
			cfg.Region = t.Region
		}
	}
	return flowlog.OpenStore(cfg, deps)
}

// awsError renders an API error the way the AWS CLI does.
func awsError(op string, err error) error {
	var e *flowlog.Error
	if errors.As(err, &e) {
		return fmt.Errorf("An error occurred (%s) when calling the %s operation: %s", e.Code, op, e.Message)
	}
	return err
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func newFlowLogsCmd() *cobra.Command {
	var o flowLogsOptions
	cmd := &cobra.Command{
		Use:   "flowlogs",
		Short: "Create, describe and delete flow logs (CreateFlowLogs, DescribeFlowLogs, DeleteFlowLogs)",
		Long: `Manage flow log resources as the EC2 API does: the same parameters,
validation and error codes, and JSON output shaped like the AWS CLI's.
Flow logs are kept in the data directory (flowlogs.json) and run when
vpcflow serve starts on it. While serve runs it owns the directory:
create and delete refuse, and its API (aws --endpoint-url http://ADDR ec2
create-flow-logs) changes the flow logs instead. kinesis-data-firehose flow logs need serve's NATS server
(--nats-url or --nats-embedded). Without a running service, describe
shows DeliverLogsStatus SUCCESS.`,
	}
	o.bind(cmd)
	cmd.AddCommand(newFlowLogsCreateCmd(&o), newFlowLogsDescribeCmd(&o), newFlowLogsDeleteCmd(&o))
	return cmd
}

func newFlowLogsCreateCmd(o *flowLogsOptions) *cobra.Command {
	var in flowlog.CreateInput
	var destOpts, tagSpecs string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create flow logs for VPCs, subnets or network interfaces",
		Example: `  vpcflow flowlogs create --resource-type VPC --resource-ids vpc-0a1b2c3d4e5f60718 \
    --traffic-type ALL --log-destination-type s3 \
    --log-destination arn:aws:s3:::my-bucket/flows/ \
    --destination-options FileFormat=parquet,HiveCompatiblePartitions=true,PerHourPartition=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if destOpts != "" {
				d, err := parseDestinationOptions(destOpts)
				if err != nil {
					return fmt.Errorf("--destination-options: %w", err)
				}
				in.DestinationOptions = d
			}
			if tagSpecs != "" {
				ts, err := parseTagSpecifications(tagSpecs)
				if err != nil {
					return fmt.Errorf("--tag-specifications: %w", err)
				}
				in.TagSpecifications = ts
			}
			s, err := o.openForWrite()
			if err != nil {
				return err
			}
			out, err := s.Create(in)
			if err != nil {
				return awsError("CreateFlowLogs", err)
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&in.ResourceType, "resource-type", "", "VPC | Subnet | NetworkInterface")
	fs.StringSliceVar(&in.ResourceIDs, "resource-ids", nil, "ids of the resources to monitor (comma-separated or repeated)")
	fs.StringVar(&in.TrafficType, "traffic-type", "", "ACCEPT | REJECT | ALL")
	fs.StringVar(&in.LogDestinationType, "log-destination-type", "", "cloud-watch-logs (default) | s3 | kinesis-data-firehose")
	fs.StringVar(&in.LogDestination, "log-destination", "", "destination ARN: arn:aws:s3:::bucket/folder, arn:aws:logs:region:account:log-group:name or arn:aws:firehose:region:account:deliverystream/name")
	fs.StringVar(&in.LogGroupName, "log-group-name", "", "CloudWatch Logs log group (cloud-watch-logs only)")
	fs.StringVar(&in.DeliverLogsPermissionArn, "deliver-logs-permission-arn", "", "IAM role ARN (required for cloud-watch-logs)")
	fs.StringVar(&in.DeliverCrossAccountRole, "deliver-cross-account-role", "", "IAM role ARN for cross-account Firehose delivery")
	fs.StringVar(&in.LogFormat, "log-format", "", "custom format: '${field} ${field} …' (default: the version 2 format)")
	fs.IntVar(&in.MaxAggregationInterval, "max-aggregation-interval", 0, "60 or 600 seconds (default 600)")
	fs.StringVar(&destOpts, "destination-options", "", "S3 options: FileFormat=plain-text|parquet,HiveCompatiblePartitions=BOOL,PerHourPartition=BOOL (or JSON)")
	fs.StringVar(&tagSpecs, "tag-specifications", "", "ResourceType=vpc-flow-log,Tags=[{Key=k,Value=v},…] (or JSON)")
	fs.StringVar(&in.ClientToken, "client-token", "", "idempotency token")
	fs.BoolVar(&in.DryRun, "dry-run", false, "validate only")
	return cmd
}

func newFlowLogsDescribeCmd(o *flowLogsOptions) *cobra.Command {
	var in flowlog.DescribeInput
	var filters []string
	cmd := &cobra.Command{
		Use:   "describe",
		Short: "Describe flow logs, with filters",
		Example: `  vpcflow flowlogs describe --filter Name=resource-id,Values=vpc-0a1b2c3d4e5f60718
  vpcflow flowlogs describe --flow-log-ids fl-0123456789abcdef0 --filter Name=tag:Name,Values=web`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, f := range filters {
				fs, err := parseFilters(f)
				if err != nil {
					return fmt.Errorf("--filter %q: %w", f, err)
				}
				in.Filters = append(in.Filters, fs...)
			}
			// No data directory is a mistyped --data, not "no flow logs".
			if _, err := os.Stat(o.data); err != nil {
				return fmt.Errorf("data directory: %w", err)
			}
			s, err := o.open()
			if err != nil {
				return err
			}
			out, err := s.Describe(in, nil)
			if err != nil {
				return awsError("DescribeFlowLogs", err)
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&in.FlowLogIDs, "flow-log-ids", nil, "flow log ids (comma-separated or repeated)")
	fs.StringArrayVar(&filters, "filter", nil, "Name=NAME,Values=V1,V2 (repeatable; or JSON); names: flow-log-id, resource-id, log-destination-type, log-group-name, traffic-type, deliver-log-status, tag:KEY, tag-key")
	fs.IntVar(&in.MaxResults, "max-results", 0, "page size (5–1000)")
	fs.StringVar(&in.NextToken, "next-token", "", "token from the previous page")
	return cmd
}

func newFlowLogsDeleteCmd(o *flowLogsOptions) *cobra.Command {
	var in flowlog.DeleteInput
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete flow logs (their delivered data stays)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.openForWrite()
			if err != nil {
				return err
			}
			out, err := s.Delete(in)
			if err != nil {
				return awsError("DeleteFlowLogs", err)
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	cmd.Flags().StringSliceVar(&in.FlowLogIDs, "flow-log-ids", nil, "flow log ids (comma-separated or repeated)")
	cmd.Flags().BoolVar(&in.DryRun, "dry-run", false, "validate only")
	return cmd
}

// parseDestinationOptions parses FileFormat=parquet,HiveCompatiblePartitions=true
// or the JSON form.
func parseDestinationOptions(s string) (*flowlog.DestinationOptions, error) {
	var d flowlog.DestinationOptions
	if strings.HasPrefix(strings.TrimSpace(s), "{") {
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			return nil, err
		}
		return &d, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("%q: expected Key=Value", kv)
		}
		switch k {
		case "FileFormat":
			d.FileFormat = v
		case "HiveCompatiblePartitions", "PerHourPartition":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("%s=%q: expected true or false", k, v)
			}
			if k == "PerHourPartition" {
				d.PerHourPartition = b
			} else {
				d.HiveCompatiblePartitions = b
			}
		default:
			return nil, fmt.Errorf("unknown option %q (want FileFormat, HiveCompatiblePartitions, PerHourPartition)", k)
		}
	}
	return &d, nil
}

// parseFilters parses Name=resource-id,Values=a,b or the JSON form (an
// object or a list of objects).
func parseFilters(s string) ([]flowlog.Filter, error) {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "["):
		var fs []flowlog.Filter
		err := json.Unmarshal([]byte(t), &fs)
		return fs, err
	case strings.HasPrefix(t, "{"):
		var f flowlog.Filter
		err := json.Unmarshal([]byte(t), &f)
		return []flowlog.Filter{f}, err
	}
	name, ok := strings.CutPrefix(t, "Name=")
	if !ok {
		return nil, errors.New("expected Name=NAME,Values=V1,V2")
	}
	name, values, ok := strings.Cut(name, ",Values=")
	if !ok || name == "" {
		return nil, errors.New("expected Name=NAME,Values=V1,V2")
	}
	return []flowlog.Filter{{Name: name, Values: strings.Split(values, ",")}}, nil
}

// parseTagSpecifications parses
// ResourceType=vpc-flow-log,Tags=[{Key=k,Value=v},{Key=k2,Value=v2}] or the
// JSON form (an object or a list of objects).
func parseTagSpecifications(s string) ([]flowlog.TagSpecification, error) {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "["):
		var ts []flowlog.TagSpecification
		err := json.Unmarshal([]byte(t), &ts)
		return ts, err
	case strings.HasPrefix(t, "{"):
		var ts flowlog.TagSpecification
		err := json.Unmarshal([]byte(t), &ts)
		return []flowlog.TagSpecification{ts}, err
	}
	rt, ok := strings.CutPrefix(t, "ResourceType=")
	if !ok {
		return nil, errors.New("expected ResourceType=vpc-flow-log,Tags=[{Key=k,Value=v}]")
	}
	rt, tags, ok := strings.Cut(rt, ",Tags=")
	if !ok {
		return nil, errors.New("expected ResourceType=vpc-flow-log,Tags=[{Key=k,Value=v}]")
	}
	spec := flowlog.TagSpecification{ResourceType: rt}
	tags = strings.TrimSuffix(strings.TrimPrefix(tags, "["), "]")
	for _, item := range strings.Split(tags, "},") {
		item = strings.Trim(strings.TrimSpace(item), "{}")
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, ",Value=")
		k, ok2 := strings.CutPrefix(k, "Key=")
		if !ok || !ok2 {
			return nil, fmt.Errorf("tag %q: expected {Key=k,Value=v}", item)
		}
		spec.Tags = append(spec.Tags, flowlog.Tag{Key: k, Value: v})
	}
	return []flowlog.TagSpecification{spec}, nil
}
