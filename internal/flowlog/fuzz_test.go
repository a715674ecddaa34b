package flowlog

import (
	"errors"
	"strings"
	"testing"
)

// FuzzCreate feeds arbitrary parameter values to CreateFlowLogs: every
// outcome is a flow log or an *Error with an AWS code, never a panic.
func FuzzCreate(f *testing.F) {
	f.Add("VPC", "vpc-001234183afc7cabc", "ALL", "s3", "arn:aws:s3:::bucket/prefix/", "", "", "${version} ${srcaddr}", 600)
	f.Add("NetworkInterface", "eni-aa22bb33", "REJECT", "", "arn:aws:logs:us-east-1:123456789101:log-group:g:*", "", role, "", 60)
	f.Add("Subnet", "subnet-0a1b2c3d4e5f60718", "ACCEPT", "kinesis-data-firehose", "arn:aws:firehose:us-east-1:999999999999:deliverystream:x", "", role, "${", 0)
	f.Add("VPC", "vpc-", "ALL", "cloud-watch-logs", "", "/aws/vpc#1", "arn:aws:iam::123456789101:role/", "${version}  ${bytes}", 61)
	f.Fuzz(func(t *testing.T, typ, id, traffic, destType, dest, group, roleARN, format string, interval int) {
		s := newStore(t, "")
		out, err := s.Create(CreateInput{ResourceType: typ, ResourceIDs: []string{id}, TrafficType: traffic,
			LogDestinationType: destType, LogDestination: dest, LogGroupName: group, DeliverLogsPermissionArn: roleARN,
			LogFormat: format, MaxAggregationInterval: interval})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
				t.Fatalf("error without an AWS code: %v", err)
			}
			return
		}
		for _, u := range out.Unsuccessful {
			if u.Error.Code == "" || u.ResourceID != id {
				t.Fatalf("bad unsuccessful item %+v", u)
			}
		}
		for _, r := range s.List() {
			if _, err := r.Format(); err != nil || !strings.HasPrefix(r.FlowLogID, "fl-") {
				t.Fatalf("stored flow log %+v: %v", r, err)
			}
		}
	})
}
