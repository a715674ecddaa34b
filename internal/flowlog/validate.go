package flowlog

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"vpcflow/internal/flow"
)

// Limits (spec §6.7).
const (
	MaxResourceIDs         = 300  // per CreateFlowLogs call (non-TGW types)
	MaxFlowLogIDs          = 1000 // per DescribeFlowLogs / DeleteFlowLogs
	MaxFlowLogsPerResource = 250  // subscriptions per resource
	maxTags                = 50
)

var (
	reAccount    = regexp.MustCompile(`^[0-9]{12}$`)
	reRegion     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	reLogGroup   = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
	reBucket     = regexp.MustCompile(`^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$`)
	reStreamName = regexp.MustCompile(`^[a-zA-Z0-9_.\-]{1,64}$`)
	reRoleName   = regexp.MustCompile(`^[\w+=,.@\-/]{1,512}$`)
	reIDSuffix   = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_\-]*$`)
)

// checked is a validated CreateInput, normalised.
type checked struct {
	in          CreateInput
	format      flow.Format
	destination string // normalised LogDestination
	logGroup    string
	interval    int
	options     *DestinationOptions
	tags        []Tag
}

// Validate checks a CreateFlowLogs request as the API does before it looks
// at any resource (parameters, format, destination), without a store: a
// command can refuse bad flags before it writes anything.
func Validate(in CreateInput, account, region string) error {
	if _, err := validate(in, account, region); err != nil {
		return err
	}
	return nil
}

// validate checks everything of a CreateFlowLogs request that does not
// depend on a single resource id. account and region own the flow log.
func validate(in CreateInput, account, region string) (*checked, *Error) {
	c := &checked{in: in}
	switch in.ResourceType {
	case "":
		return nil, missing("ResourceType")
	case ResourceVPC, ResourceSubnet, ResourceNetworkInterface:
	case "TransitGateway", "TransitGatewayAttachment", "RegionalNatGateway":
		return nil, errorf(CodeInvalidParameterValue, "ResourceType %s is not supported: transit gateway and regional NAT gateway flow logs are not modelled", in.ResourceType)
	default:
		return nil, invalidValue("ResourceType", in.ResourceType, "Valid values: VPC | Subnet | NetworkInterface")
	}
	if len(in.ResourceIDs) == 0 {
		return nil, missing("ResourceId")
	}
	if len(in.ResourceIDs) > MaxResourceIDs {
		return nil, errorf(CodeInvalidParameter, "The request contains %d resource IDs; the maximum is %d", len(in.ResourceIDs), MaxResourceIDs)
	}
	switch in.TrafficType {
	case "":
		return nil, missing("TrafficType")
	case "ACCEPT", "REJECT", "ALL":
	default:
		return nil, invalidValue("TrafficType", in.TrafficType, "Valid values: ACCEPT | REJECT | ALL")
	}

	if in.DeliverLogsPermissionArn != "" {
		acct, _, ok := parseRoleARN(in.DeliverLogsPermissionArn)
		if !ok {
			return nil, invalidValue("DeliverLogsPermissionArn", in.DeliverLogsPermissionArn, "Expected an IAM role ARN: arn:aws:iam::account-id:role/name")
		}
		if acct != account {
			return nil, errorf(CodeInvalidParameter, "The IAM role %s must belong to your account (%s)", in.DeliverLogsPermissionArn, account)
		}
	}

	dt := in.LogDestinationType
	if dt == "" {
		dt = DestinationCloudWatchLogs
	}
	c.in.LogDestinationType = dt
	switch dt {
	case DestinationCloudWatchLogs:
		if err := c.cloudWatch(account, region); err != nil {
			return nil, err
		}
	case DestinationS3:
		if err := c.s3(); err != nil {
			return nil, err
		}
	case DestinationFirehose:
		if err := c.firehose(account); err != nil {
			return nil, err
		}
	default:
		return nil, invalidValue("LogDestinationType", dt, "Valid values: cloud-watch-logs | s3 | kinesis-data-firehose")
	}
	if in.DeliverCrossAccountRole != "" && dt != DestinationFirehose {
		return nil, errorf(CodeInvalidParameter, "DeliverCrossAccountRole is only valid for log destination type kinesis-data-firehose")
	}

	// The vpcflow extension fields (${vpcflow-decision-layer},
	// ${vpcflow-decision-rule}: flow.Field.Extension) are accepted for every
	// destination, a deliberate departure: AWS would reject them as unknown.
	f, err := flow.ParseFormat(in.LogFormat)
	if err != nil {
		return nil, errorf(CodeInvalidParameter, "Invalid LogFormat %q: %v", in.LogFormat, err)
	}
	for _, id := range f.Fields() {
		switch id {
		case flow.FieldInstanceTag, flow.FieldInstanceTag2, flow.FieldInterfaceTag, flow.FieldInterfaceTag2, flow.FieldASGTag, flow.FieldASGTag2:
			return nil, errorf(CodeInvalidParameter, "LogFormat field ${%s} requires TagFieldSpecifications, which are not supported", id)
		}
	}
	c.format = f

	switch in.MaxAggregationInterval {
	case 0:
		c.interval = 600
	case 60, 600:
		c.interval = in.MaxAggregationInterval
	default:
		return nil, invalidValue("MaxAggregationInterval", fmt.Sprint(in.MaxAggregationInterval), "Valid values: 60 | 600")
	}

	seen := map[string]bool{}
	for _, ts := range in.TagSpecifications {
		if ts.ResourceType != "vpc-flow-log" {
			return nil, invalidValue("TagSpecification.ResourceType", ts.ResourceType, "Valid value: vpc-flow-log")
		}
		for _, t := range ts.Tags {
			switch {
			case t.Key == "":
				return nil, errorf(CodeInvalidParameterValue, "Tag keys must not be empty")
			case utf8.RuneCountInString(t.Key) > 127:
				return nil, errorf(CodeInvalidParameterValue, "Tag key exceeds the maximum length of 127 characters: %q", t.Key)
			case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
				return nil, errorf(CodeInvalidParameterValue, "Tag keys starting with 'aws:' are reserved for internal use: %q", t.Key)
			case utf8.RuneCountInString(t.Value) > 256:
				return nil, errorf(CodeInvalidParameterValue, "Tag value exceeds the maximum length of 256 characters (key %q)", t.Key)
			case seen[t.Key]:
				return nil, errorf(CodeInvalidParameterValue, "Duplicate tag key %q", t.Key)
			}
			seen[t.Key] = true
			c.tags = append(c.tags, t)
		}
	}
	if len(c.tags) > maxTags {
		return nil, errorf(CodeInvalidParameterValue, "%d tags given; the maximum is %d", len(c.tags), maxTags)
	}
	return c, nil
}

func (c *checked) cloudWatch(account, region string) *Error {
	in := c.in
	if in.DestinationOptions != nil {
		return errorf(CodeInvalidParameter, "DestinationOptions is only valid for log destination type s3")
	}
	switch {
	case in.LogGroupName != "" && in.LogDestination != "":
		return errorf(CodeInvalidParameter, "Please only provide LogGroupName or only provide LogDestination.")
	case in.LogGroupName != "":
		if !reLogGroup.MatchString(in.LogGroupName) {
			return invalidValue("LogGroupName", in.LogGroupName, "Log group names are 1 to 512 characters of a-z, A-Z, 0-9, '_', '-', '/', '.' and '#'")
		}
		c.logGroup = in.LogGroupName
		c.destination = fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, account, in.LogGroupName)
	case in.LogDestination != "":
		group, ok := parseLogGroupARN(in.LogDestination)
		if !ok {
			return invalidValue("LogDestination", in.LogDestination, "Expected a CloudWatch Logs log group ARN: arn:aws:logs:region:account-id:log-group:name")
		}
		// The events go to the group of that name in the flow log's own
		// account and region: an ARN naming others would be a lie.
		if parts := strings.SplitN(in.LogDestination, ":", 6); (region != "" && parts[3] != region) || parts[4] != account {
			return invalidValue("LogDestination", in.LogDestination,
				fmt.Sprintf("The log group must be in the flow log's account %s and region %s", account, region))
		}
		c.logGroup = group
		c.destination = strings.TrimSuffix(in.LogDestination, ":*")
	default:
		return errorf(CodeMissingParameter, "The request must contain the parameter LogGroupName or LogDestination")
	}
	if in.DeliverLogsPermissionArn == "" {
		return errorf(CodeInvalidParameter, "DeliverLogsPermissionArn is required for log destination type cloud-watch-logs")
	}
	return nil
}

func (c *checked) s3() *Error {
	in := c.in
	if in.LogGroupName != "" {
		return errorf(CodeInvalidParameter, "LogGroupName is only valid for log destination type cloud-watch-logs")
	}
	if in.LogDestination == "" {
		return missing("LogDestination")
	}
	bucket, prefix, ok := strings.Cut(strings.TrimPrefix(in.LogDestination, "arn:aws:s3:::"), "/")
	if !strings.HasPrefix(in.LogDestination, "arn:aws:s3:::") || !ok && bucket == "" {
		return invalidValue("LogDestination", in.LogDestination, "Expected an S3 bucket ARN: arn:aws:s3:::bucket-name/optional-folder")
	}
	if !reBucket.MatchString(bucket) || strings.Contains(bucket, "..") {
		return invalidValue("LogDestination", in.LogDestination, fmt.Sprintf("Invalid bucket name %q", bucket))
	}
	for _, part := range strings.Split(prefix, "/") {
		if part == "AWSLogs" {
			return errorf(CodeInvalidParameterValue, "LogDestination %s: AWSLogs cannot be used as a subfolder name", in.LogDestination)
		}
	}
	c.destination = in.LogDestination
	opts := DestinationOptions{FileFormat: FilePlainText}
	if in.DestinationOptions != nil {
		opts = *in.DestinationOptions
		switch opts.FileFormat {
		case "":
			opts.FileFormat = FilePlainText
		case FilePlainText, FileParquet:
		default:
			return invalidValue("DestinationOptions.FileFormat", opts.FileFormat, "Valid values: plain-text | parquet")
		}
	}
	c.options = &opts
	return nil
}

func (c *checked) firehose(account string) *Error {
	in := c.in
	if in.LogGroupName != "" {
		return errorf(CodeInvalidParameter, "LogGroupName is only valid for log destination type cloud-watch-logs")
	}
	if in.DestinationOptions != nil {
		return errorf(CodeInvalidParameter, "DestinationOptions is only valid for log destination type s3: Kinesis Data Firehose receives plain text")
	}
	if in.LogDestination == "" {
		return missing("LogDestination")
	}
	streamAccount, ok := parseFirehoseARN(in.LogDestination)
	if !ok {
		return invalidValue("LogDestination", in.LogDestination, "Expected a delivery stream ARN: arn:aws:firehose:region:account-id:deliverystream/name")
	}
	if streamAccount != account && in.DeliverLogsPermissionArn == "" {
		return errorf(CodeInvalidParameter, "DeliverLogsPermissionArn is required when the delivery stream (account %s) and the monitored resources (account %s) are in different accounts", streamAccount, account)
	}
	if in.DeliverCrossAccountRole != "" {
		if in.DeliverLogsPermissionArn == "" {
			return errorf(CodeInvalidParameter, "DeliverCrossAccountRole requires DeliverLogsPermissionArn")
		}
		_, name, ok := parseRoleARN(in.DeliverCrossAccountRole)
		if !ok {
			return invalidValue("DeliverCrossAccountRole", in.DeliverCrossAccountRole, "Expected an IAM role ARN: arn:aws:iam::account-id:role/name")
		}
		if base := name[strings.LastIndexByte(name, '/')+1:]; !strings.HasPrefix(base, "AWSLogDeliveryFirehoseCrossAccountRole") {
			return invalidValue("DeliverCrossAccountRole", in.DeliverCrossAccountRole, "The role name must start with AWSLogDeliveryFirehoseCrossAccountRole")
		}
	}
	c.destination = in.LogDestination
	return nil
}

// parseRoleARN parses arn:aws:iam::123456789012:role/path/name.
func parseRoleARN(s string) (account, name string, ok bool) {
	rest, ok := strings.CutPrefix(s, "arn:aws:iam::")
	if !ok {
		return "", "", false
	}
	account, name, ok = strings.Cut(rest, ":role/")
	if !ok || !reAccount.MatchString(account) || !reRoleName.MatchString(name) {
		return "", "", false
	}
	return account, name, true
}

// parseLogGroupARN parses arn:aws:logs:region:account:log-group:name[:*].
func parseLogGroupARN(s string) (group string, ok bool) {
	parts := strings.SplitN(s, ":", 7)
	if len(parts) < 7 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "logs" ||
		!reRegion.MatchString(parts[3]) || !reAccount.MatchString(parts[4]) || parts[5] != "log-group" {
		return "", false
	}
	group = strings.TrimSuffix(parts[6], ":*")
	return group, reLogGroup.MatchString(group)
}

// parseFirehoseARN parses arn:aws:firehose:region:account:deliverystream/name
// (the ":" separator of older documentation examples is accepted too).
func parseFirehoseARN(s string) (account string, ok bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "firehose" ||
		!reRegion.MatchString(parts[3]) || !reAccount.MatchString(parts[4]) {
		return "", false
	}
	name, ok := strings.CutPrefix(parts[5], "deliverystream/")
	if !ok {
		name, ok = strings.CutPrefix(parts[5], "deliverystream:")
	}
	if !ok || !reStreamName.MatchString(name) {
		return "", false
	}
	return parts[4], true
}

// checkResourceID checks the form of a resource id of the given type.
func checkResourceID(typ, id string) *Error {
	var prefix, code, noun string
	switch typ {
	case ResourceVPC:
		prefix, code, noun = "vpc-", CodeInvalidVPCMalformed, "vpc"
	case ResourceSubnet:
		prefix, code, noun = "subnet-", CodeInvalidSubnetMalformed, "subnet"
	default:
		prefix, code, noun = "eni-", CodeInvalidENIMalformed, "network interface"
	}
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || !reIDSuffix.MatchString(rest) {
		return errorf(code, "Invalid id: %q (expecting a %s id starting with %q)", id, noun, prefix)
	}
	return nil
}

// NotFound is the error of a resource id that does not exist.
func NotFound(resourceType, id string) Error { return *notFound(resourceType, id) }

// FlowLogNotFound is DeleteFlowLogs' error for an id that does not exist.
func FlowLogNotFound(id string) Error {
	return *errorf(CodeInvalidFlowLogNotFound, "These flow log ids in the input list are not found: [TotalCount: 1] %s", id)
}

// DryRun is the answer to a valid request with DryRun set.
func DryRun() error {
	return errorf(CodeDryRunOperation, "Request would have succeeded, but DryRun flag is set.")
}

func notFound(typ, id string) *Error {
	switch typ {
	case ResourceVPC:
		return errorf(CodeInvalidVPCNotFound, "The vpc ID '%s' does not exist", id)
	case ResourceSubnet:
		return errorf(CodeInvalidSubnetNotFound, "The subnet ID '%s' does not exist", id)
	}
	return errorf(CodeInvalidENINotFound, "The networkInterface ID '%s' does not exist", id)
}
