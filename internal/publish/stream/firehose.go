package stream

import (
	"fmt"
	"strings"
)

// FirehoseSubjectPrefix starts the subjects of every delivery stream:
// <FirehoseSubjectPrefix>.<stream>.<flow log id>.
const FirehoseSubjectPrefix = "vpcflow.firehose"

// ParseDeliveryStreamARN returns the delivery stream name of a Firehose ARN,
// arn:aws:firehose:region:account:deliverystream/NAME (or the
// deliverystream:NAME form of older documentation).
func ParseDeliveryStreamARN(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[2] != "firehose" {
		return "", fmt.Errorf("%q is not a Firehose delivery stream ARN (arn:aws:firehose:region:account:deliverystream/NAME)", arn)
	}
	name, ok := strings.CutPrefix(parts[5], "deliverystream/")
	if !ok {
		name, ok = strings.CutPrefix(parts[5], "deliverystream:")
	}
	if !ok || !validDeliveryStreamName(name) {
		return "", fmt.Errorf("%q: the delivery stream name must be 1 to 64 characters of a-z, A-Z, 0-9, '_', '.' and '-'", arn)
	}
	return name, nil
}

func validDeliveryStreamName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ForDeliveryStream is DefaultConfig for the flow logs of a Firehose
// delivery stream: the delivery stream is a JetStream stream of the same
// name, its flow logs' records go to subjects
// vpcflow.firehose.<name>.<flow log id>. A '.' in the name, which NATS
// does not allow in stream names and would split the subject token,
// becomes '_' in both (so "a.b" and "a_b" share a stream).
func ForDeliveryStream(name string) Config {
	c := DefaultConfig()
	token := strings.ReplaceAll(name, ".", "_")
	c.Stream = token
	c.SubjectPrefix = FirehoseSubjectPrefix + "." + token
	return c
}
