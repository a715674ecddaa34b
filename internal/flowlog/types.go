package flowlog

import (
	"strings"
	"time"

	"vpcflow/internal/flow"
)

// Resource types a flow log can monitor.
const (
	ResourceVPC              = "VPC"
	ResourceSubnet           = "Subnet"
	ResourceNetworkInterface = "NetworkInterface"
)

// Destination types (LogDestinationType).
const (
	DestinationCloudWatchLogs = "cloud-watch-logs"
	DestinationS3             = "s3"
	DestinationFirehose       = "kinesis-data-firehose"
)

// File formats of DestinationOptions.
const (
	FilePlainText = "plain-text"
	FileParquet   = "parquet"
)

// Tag is a key/value tag on a flow log.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// TagSpecification tags the created flow logs; ResourceType must be
// "vpc-flow-log".
type TagSpecification struct {
	ResourceType string `json:"ResourceType"`
	Tags         []Tag  `json:"Tags"`
}

// DestinationOptions are the S3 options of a flow log.
type DestinationOptions struct {
	FileFormat               string `json:"FileFormat"`
	HiveCompatiblePartitions bool   `json:"HiveCompatiblePartitions"`
	PerHourPartition         bool   `json:"PerHourPartition"`
}

// CreateInput is CreateFlowLogs' request.
type CreateInput struct {
	DryRun                   bool
	ClientToken              string
	ResourceType             string
	ResourceIDs              []string
	TrafficType              string
	LogDestinationType       string // default cloud-watch-logs
	LogDestination           string
	LogGroupName             string
	DeliverLogsPermissionArn string
	DeliverCrossAccountRole  string
	LogFormat                string // "" is the default format
	MaxAggregationInterval   int    // 0 is the default, 600
	DestinationOptions       *DestinationOptions
	TagSpecifications        []TagSpecification
}

// UnsuccessfulItem is a per-resource (or per flow log id) failure.
type UnsuccessfulItem struct {
	Error      Error  `json:"Error"`
	ResourceID string `json:"ResourceId"`
}

// CreateOutput is CreateFlowLogs' response, shaped like the AWS CLI's JSON.
type CreateOutput struct {
	ClientToken  string             `json:"ClientToken,omitempty"`
	FlowLogIDs   []string           `json:"FlowLogIds"`
	Unsuccessful []UnsuccessfulItem `json:"Unsuccessful"`
}

// Filter is one DescribeFlowLogs filter: values are OR-ed, filters AND-ed.
type Filter struct {
	Name   string   `json:"Name"`
	Values []string `json:"Values"`
}

// DescribeInput is DescribeFlowLogs' request.
type DescribeInput struct {
	DryRun     bool
	FlowLogIDs []string
	Filters    []Filter
	MaxResults int    // 0: everything
	NextToken  string // from a previous DescribeOutput
}

// DescribeOutput is DescribeFlowLogs' response.
type DescribeOutput struct {
	FlowLogs  []FlowLog `json:"FlowLogs"`
	NextToken string    `json:"NextToken,omitempty"`
}

// DeleteInput is DeleteFlowLogs' request.
type DeleteInput struct {
	DryRun     bool
	FlowLogIDs []string
}

// DeleteOutput is DeleteFlowLogs' response.
type DeleteOutput struct {
	Unsuccessful []UnsuccessfulItem `json:"Unsuccessful"`
}

// Time is a timestamp shown as AWS does, in UTC with milliseconds
// (2020-02-04T11:46:13.831Z).
type Time struct{ time.Time }

const timeLayout = "2006-01-02T15:04:05.000Z"

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(timeLayout) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	v, err := time.Parse(timeLayout, strings.Trim(string(b), `"`))
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// FlowLog is one flow log as DescribeFlowLogs shows it (AWS CLI JSON field
// names).
type FlowLog struct {
	CreationTime             Time                `json:"CreationTime"`
	DeliverLogsErrorMessage  string              `json:"DeliverLogsErrorMessage,omitempty"`
	DeliverLogsPermissionArn string              `json:"DeliverLogsPermissionArn,omitempty"`
	DeliverCrossAccountRole  string              `json:"DeliverCrossAccountRole,omitempty"`
	DeliverLogsStatus        string              `json:"DeliverLogsStatus"`
	FlowLogID                string              `json:"FlowLogId"`
	FlowLogStatus            string              `json:"FlowLogStatus"`
	LogGroupName             string              `json:"LogGroupName,omitempty"`
	ResourceID               string              `json:"ResourceId"`
	TrafficType              string              `json:"TrafficType"`
	LogDestinationType       string              `json:"LogDestinationType"`
	LogDestination           string              `json:"LogDestination,omitempty"`
	LogFormat                string              `json:"LogFormat"`
	Tags                     []Tag               `json:"Tags,omitempty"`
	MaxAggregationInterval   int                 `json:"MaxAggregationInterval"`
	DestinationOptions       *DestinationOptions `json:"DestinationOptions,omitempty"`
}

// Resource is a stored flow log: what DescribeFlowLogs shows plus what
// the service needs to run it.
type Resource struct {
	FlowLog
	ResourceType string `json:"ResourceType"`
	// AccountID and Region own the flow log (S3 keys, log group ARNs).
	AccountID string `json:"AccountId"`
	Region    string `json:"Region"`
}

// Format is the flow log's parsed LogFormat.
func (r *Resource) Format() (flow.Format, error) { return flow.ParseFormat(r.LogFormat) }

// Covers reports whether the flow log monitors the interface: the
// interface itself, its subnet or its VPC.
func (r *Resource) Covers(eniID, subnetID, vpcID string) bool {
	switch r.ResourceType {
	case ResourceVPC:
		return r.ResourceID == vpcID
	case ResourceSubnet:
		return r.ResourceID == subnetID
	}
	return r.ResourceID == eniID
}
