package api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"vpcflow/internal/flowlog"
)

// FlowLogService is what the flow log actions need of internal/flowlog.
type FlowLogService interface {
	Create(ctx context.Context, in flowlog.CreateInput) (flowlog.CreateOutput, error)
	Describe(in flowlog.DescribeInput) (flowlog.DescribeOutput, error)
	Delete(ctx context.Context, in flowlog.DeleteInput) (flowlog.DeleteOutput, error)
}

// FlowLogActions serves CreateFlowLogs, DescribeFlowLogs and DeleteFlowLogs.
type FlowLogActions struct {
	Service FlowLogService
	// Account owns every flow log of Service; other accounts see none.
	Account string
}

// Actions lists the EC2 actions FlowLogActions handles.
func (a *FlowLogActions) Actions() []string {
	return []string{"CreateFlowLogs", "DescribeFlowLogs", "DeleteFlowLogs"}
}

// EC2Action implements EC2Backend.
func (a *FlowLogActions) EC2Action(r *http.Request, account, action string, p Params) (any, error) {
	rid := RequestID(r)
	switch action {
	case "CreateFlowLogs":
		return a.create(r.Context(), rid, account, p)
	case "DescribeFlowLogs":
		return a.describe(rid, account, p)
	case "DeleteFlowLogs":
		return a.delete(r.Context(), rid, account, p)
	}
	return nil, errInvalidAction(action)
}

type unsuccessfulXML struct {
	Code       string `xml:"error>code"`
	Message    string `xml:"error>message"`
	ResourceID string `xml:"resourceId"`
}

func unsuccessful(items []flowlog.UnsuccessfulItem) []unsuccessfulXML {
	out := make([]unsuccessfulXML, len(items))
	for i, u := range items {
		out[i] = unsuccessfulXML{u.Error.Code, u.Error.Message, u.ResourceID}
	}
	return out
}

// flowLogError maps internal/flowlog's typed errors to the EC2 envelope.
func flowLogError(err error) error {
	var fe *flowlog.Error
	if errors.As(err, &fe) {
		status := http.StatusBadRequest
		if fe.Code == flowlog.CodeInternalError {
			status = http.StatusInternalServerError
		}
		if fe.Code == flowlog.CodeDryRunOperation {
			status = http.StatusPreconditionFailed
		}
		return &Error{Status: status, Code: fe.Code, Message: fe.Message}
	}
	return err
}

func (a *FlowLogActions) create(ctx context.Context, rid, account string, p Params) (any, error) {
	bools, err := p.Bools("DryRun", "DestinationOptions.HiveCompatiblePartitions", "DestinationOptions.PerHourPartition")
	if err != nil {
		return nil, err
	}
	in := flowlog.CreateInput{
		DryRun:                   bools[0],
		ClientToken:              p.Get("ClientToken"),
		ResourceType:             p.Get("ResourceType"),
		ResourceIDs:              p.List("ResourceId"),
		TrafficType:              p.Get("TrafficType"),
		LogDestinationType:       p.Get("LogDestinationType"),
		LogDestination:           p.Get("LogDestination"),
		LogGroupName:             p.Get("LogGroupName"),
		DeliverLogsPermissionArn: p.Get("DeliverLogsPermissionArn"),
		DeliverCrossAccountRole:  p.Get("DeliverCrossAccountRole"),
		LogFormat:                p.Get("LogFormat"),
	}
	// A parameter sent empty or zero is not one left out: 0 and "" would
	// otherwise read as "the default".
	if p.Has("MaxAggregationInterval") {
		v := p.Get("MaxAggregationInterval")
		n, err := strconv.Atoi(v)
		if err != nil || n == 0 {
			return nil, errInvalidParameter(fmt.Sprintf("Value (%s) for parameter MaxAggregationInterval is invalid. Expected 60 or 600.", v))
		}
		in.MaxAggregationInterval = n
	}
	if p.Has("LogFormat") && in.LogFormat == "" {
		return nil, flowLogError(flowlog.InvalidValue("LogFormat", "", "A log format must include at least one field."))
	}
	if p.Has("DestinationOptions.FileFormat") || p.Has("DestinationOptions.HiveCompatiblePartitions") || p.Has("DestinationOptions.PerHourPartition") {
		in.DestinationOptions = &flowlog.DestinationOptions{
			FileFormat:               p.Get("DestinationOptions.FileFormat"),
			HiveCompatiblePartitions: bools[1],
			PerHourPartition:         bools[2],
		}
	}
	for _, i := range p.Indexes("TagSpecification") {
		base := fmt.Sprintf("TagSpecification.%d", i)
		ts := flowlog.TagSpecification{ResourceType: p.Get(base + ".ResourceType")}
		for _, j := range p.Indexes(base + ".Tag") {
			tb := fmt.Sprintf("%s.Tag.%d", base, j)
			ts.Tags = append(ts.Tags, flowlog.Tag{Key: p.Get(tb + ".Key"), Value: p.Get(tb + ".Value")})
		}
		in.TagSpecifications = append(in.TagSpecifications, ts)
	}
	var out flowlog.CreateOutput
	if account != a.Account {
		// The resources of another account do not exist for this caller,
		// after the checks every caller gets.
		if err := flowlog.Validate(in, account, ""); err != nil {
			return nil, flowLogError(err)
		}
		if in.DryRun {
			return nil, flowLogError(flowlog.DryRun())
		}
		out.ClientToken = in.ClientToken
		for _, id := range in.ResourceIDs {
			out.Unsuccessful = append(out.Unsuccessful, flowlog.UnsuccessfulItem{ResourceID: id, Error: flowlog.NotFound(in.ResourceType, id)})
		}
	} else {
		var err error
		out, err = a.Service.Create(ctx, in)
		if err != nil {
			return nil, flowLogError(err)
		}
	}
	return struct {
		XMLName      xml.Name          `xml:"CreateFlowLogsResponse"`
		NS           string            `xml:"xmlns,attr"`
		RequestID    string            `xml:"requestId"`
		ClientToken  string            `xml:"clientToken,omitempty"`
		FlowLogIDs   []string          `xml:"flowLogIdSet>item"`
		Unsuccessful []unsuccessfulXML `xml:"unsuccessful>item"`
	}{NS: EC2Namespace, RequestID: rid, ClientToken: out.ClientToken, FlowLogIDs: out.FlowLogIDs, Unsuccessful: unsuccessful(out.Unsuccessful)}, nil
}

// isDryRun reports whether err is DryRunOperation.
func isDryRun(err error) bool {
	var fe *flowlog.Error
	return errors.As(err, &fe) && fe.Code == flowlog.CodeDryRunOperation
}

type flowLogXML struct {
	CreationTime             string    `xml:"creationTime"`
	DeliverLogsErrorMessage  string    `xml:"deliverLogsErrorMessage,omitempty"`
	DeliverLogsPermissionArn string    `xml:"deliverLogsPermissionArn,omitempty"`
	DeliverCrossAccountRole  string    `xml:"deliverCrossAccountRole,omitempty"`
	DeliverLogsStatus        string    `xml:"deliverLogsStatus"`
	FlowLogID                string    `xml:"flowLogId"`
	FlowLogStatus            string    `xml:"flowLogStatus"`
	LogGroupName             string    `xml:"logGroupName,omitempty"`
	ResourceID               string    `xml:"resourceId"`
	TrafficType              string    `xml:"trafficType"`
	LogDestinationType       string    `xml:"logDestinationType"`
	LogDestination           string    `xml:"logDestination,omitempty"`
	LogFormat                string    `xml:"logFormat"`
	Tags                     []tagXML  `xml:"tagSet>item,omitempty"`
	MaxAggregationInterval   int       `xml:"maxAggregationInterval"`
	DestinationOptions       *destOpts `xml:"destinationOptions,omitempty"`
}

type destOpts struct {
	FileFormat               string `xml:"fileFormat"`
	HiveCompatiblePartitions bool   `xml:"hiveCompatiblePartitions"`
	PerHourPartition         bool   `xml:"perHourPartition"`
}

func (a *FlowLogActions) describe(rid, account string, p Params) (any, error) {
	dry, err := p.Bool("DryRun")
	if err != nil {
		return nil, err
	}
	in := flowlog.DescribeInput{DryRun: dry, FlowLogIDs: p.List("FlowLogId"), NextToken: p.Get("NextToken")}
	for _, f := range p.Filters() {
		in.Filters = append(in.Filters, flowlog.Filter{Name: f.Name, Values: f.Values})
	}
	n, err := p.Int("MaxResults", 0)
	if err != nil {
		return nil, err
	}
	if p.Has("MaxResults") && n == 0 {
		return nil, flowLogError(flowlog.InvalidValue("MaxResults", "0", "Expecting a value between 5 and 1000."))
	}
	in.MaxResults = n
	out, err := a.Service.Describe(in) // validates for every caller
	if err != nil {
		return nil, flowLogError(err)
	}
	if account != a.Account {
		out = flowlog.DescribeOutput{} // another account's flow logs
	}
	items := make([]flowLogXML, 0, len(out.FlowLogs))
	for _, fl := range out.FlowLogs {
		x := flowLogXML{CreationTime: fl.CreationTime.UTC().Format(s3Time), DeliverLogsErrorMessage: fl.DeliverLogsErrorMessage,
			DeliverLogsPermissionArn: fl.DeliverLogsPermissionArn, DeliverCrossAccountRole: fl.DeliverCrossAccountRole,
			DeliverLogsStatus: fl.DeliverLogsStatus, FlowLogID: fl.FlowLogID, FlowLogStatus: fl.FlowLogStatus, LogGroupName: fl.LogGroupName,
			ResourceID: fl.ResourceID, TrafficType: fl.TrafficType, LogDestinationType: fl.LogDestinationType, LogDestination: fl.LogDestination,
			LogFormat: fl.LogFormat, MaxAggregationInterval: fl.MaxAggregationInterval}
		for _, t := range fl.Tags {
			x.Tags = append(x.Tags, tagXML{t.Key, t.Value})
		}
		if o := fl.DestinationOptions; o != nil {
			x.DestinationOptions = &destOpts{o.FileFormat, o.HiveCompatiblePartitions, o.PerHourPartition}
		}
		items = append(items, x)
	}
	return struct {
		XMLName   xml.Name     `xml:"DescribeFlowLogsResponse"`
		NS        string       `xml:"xmlns,attr"`
		RequestID string       `xml:"requestId"`
		FlowLogs  []flowLogXML `xml:"flowLogSet>item"`
		NextToken string       `xml:"nextToken,omitempty"`
	}{NS: EC2Namespace, RequestID: rid, FlowLogs: items, NextToken: out.NextToken}, nil
}

func (a *FlowLogActions) delete(ctx context.Context, rid, account string, p Params) (any, error) {
	dry, err := p.Bool("DryRun")
	if err != nil {
		return nil, err
	}
	in := flowlog.DeleteInput{DryRun: dry, FlowLogIDs: p.List("FlowLogId")}
	var out flowlog.DeleteOutput
	if account != a.Account {
		// The same checks as the owner's, without deleting: a dry run
		// answers DryRunOperation once the request is valid.
		dry := in
		dry.DryRun = true
		if _, err := a.Service.Delete(ctx, dry); err != nil && (in.DryRun || !isDryRun(err)) {
			return nil, flowLogError(err)
		}
		for _, id := range in.FlowLogIDs {
			out.Unsuccessful = append(out.Unsuccessful, flowlog.UnsuccessfulItem{ResourceID: id, Error: flowlog.FlowLogNotFound(id)})
		}
	} else {
		var err error
		out, err = a.Service.Delete(ctx, in)
		if err != nil {
			return nil, flowLogError(err)
		}
	}
	return struct {
		XMLName      xml.Name          `xml:"DeleteFlowLogsResponse"`
		NS           string            `xml:"xmlns,attr"`
		RequestID    string            `xml:"requestId"`
		Unsuccessful []unsuccessfulXML `xml:"unsuccessful>item"`
	}{NS: EC2Namespace, RequestID: rid, Unsuccessful: unsuccessful(out.Unsuccessful)}, nil
}
