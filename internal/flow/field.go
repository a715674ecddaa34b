// Package flow holds the AWS VPC flow log record: its fields, custom formats,
// the space-delimited text codec and the tcp-flags rule.
package flow

// FieldID names one flow log field. The zero value is the `version` field.
type FieldID uint8

// Every field of versions 2–11, in AWS's "available fields" table order
// (spec §1.2). Versions 9–11 come from secondary sources and are parsed as
// optional extras.
const (
	FieldVersion FieldID = iota
	FieldAccountID
	FieldInterfaceID
	FieldSrcAddr
	FieldDstAddr
	FieldSrcPort
	FieldDstPort
	FieldProtocol
	FieldPackets
	FieldBytes
	FieldStart
	FieldEnd
	FieldAction
	FieldLogStatus
	// v3
	FieldVPCID
	FieldSubnetID
	FieldInstanceID
	FieldTCPFlags
	FieldType
	FieldPktSrcAddr
	FieldPktDstAddr
	// v4
	FieldRegion
	FieldAZID
	FieldSublocationType
	FieldSublocationID
	// v5
	FieldPktSrcAWSService
	FieldPktDstAWSService
	FieldFlowDirection
	FieldTrafficPath
	// v7
	FieldECSClusterARN
	FieldECSClusterName
	FieldECSContainerInstanceARN
	FieldECSContainerInstanceID
	FieldECSContainerID
	FieldECSSecondContainerID
	FieldECSServiceName
	FieldECSTaskDefinitionARN
	FieldECSTaskARN
	FieldECSTaskID
	// v8
	FieldRejectReason
	// v9–v11 (unverified versions, spec §1.2 ⚠)
	FieldResourceID
	FieldEncryptionStatus
	FieldInstanceTag
	FieldInstanceTag2
	FieldInterfaceTag
	FieldInterfaceTag2
	FieldASGTag
	FieldASGTag2
	FieldInterfaceType
	FieldNextHopInterfaceID
	FieldNextHopSubnetID
	FieldNextHopAZID
	FieldNextHopVPCID
	FieldNextHopInterfaceType

	// vpcflow extensions (not AWS fields; see Field.Extension).
	FieldDecisionLayer
	FieldDecisionRule

	// NumFields is the number of known fields.
	NumFields
)

// Kind is how a field's value is typed in Go.
type Kind uint8

// Field value kinds.
const (
	KindString    Kind = iota // free text token
	KindInt32                 // INT_32 in Parquet
	KindInt64                 // INT_64 in Parquet
	KindAddr                  // IPv4 or IPv6 address (STRING in Parquet)
	KindAction                // ACCEPT | REJECT
	KindLogStatus             // OK | NODATA | SKIPDATA
)

// Field describes one flow log field.
type Field struct {
	ID      FieldID
	Name    string // AWS name, e.g. "pkt-srcaddr"
	Version int    // flow log version that introduced it; 0 for an extension
	Kind    Kind
	// Parquet is AWS's documented Parquet type: "INT_32", "INT_64" or "STRING".
	Parquet string
	// Column is the Athena/Parquet column name (dashes become underscores).
	Column string
	// Extension marks a vpcflow field AWS does not have: opt-in only (never
	// in DefaultFormat), CreateFlowLogs in AWS would reject its token, and
	// it has no version (0), so the version rule ignores it.
	Extension bool
}

func field(id FieldID, name string, version int, kind Kind) Field {
	pq := "STRING"
	switch kind {
	case KindInt32:
		pq = "INT_32"
	case KindInt64:
		pq = "INT_64"
	}
	col := []byte(name)
	for i, c := range col {
		if c == '-' {
			col[i] = '_'
		}
	}
	return Field{ID: id, Name: name, Version: version, Kind: kind, Parquet: pq, Column: string(col)}
}

var fields = [NumFields]Field{
	field(FieldVersion, "version", 2, KindInt32),
	field(FieldAccountID, "account-id", 2, KindString),
	field(FieldInterfaceID, "interface-id", 2, KindString),
	field(FieldSrcAddr, "srcaddr", 2, KindAddr),
	field(FieldDstAddr, "dstaddr", 2, KindAddr),
	field(FieldSrcPort, "srcport", 2, KindInt32),
	field(FieldDstPort, "dstport", 2, KindInt32),
	field(FieldProtocol, "protocol", 2, KindInt32),
	field(FieldPackets, "packets", 2, KindInt64),
	field(FieldBytes, "bytes", 2, KindInt64),
	field(FieldStart, "start", 2, KindInt64),
	field(FieldEnd, "end", 2, KindInt64),
	field(FieldAction, "action", 2, KindAction),
	field(FieldLogStatus, "log-status", 2, KindLogStatus),
	field(FieldVPCID, "vpc-id", 3, KindString),
	field(FieldSubnetID, "subnet-id", 3, KindString),
	field(FieldInstanceID, "instance-id", 3, KindString),
	field(FieldTCPFlags, "tcp-flags", 3, KindInt32),
	field(FieldType, "type", 3, KindString),
	field(FieldPktSrcAddr, "pkt-srcaddr", 3, KindAddr),
	field(FieldPktDstAddr, "pkt-dstaddr", 3, KindAddr),
	field(FieldRegion, "region", 4, KindString),
	field(FieldAZID, "az-id", 4, KindString),
	field(FieldSublocationType, "sublocation-type", 4, KindString),
	field(FieldSublocationID, "sublocation-id", 4, KindString),
	field(FieldPktSrcAWSService, "pkt-src-aws-service", 5, KindString),
	field(FieldPktDstAWSService, "pkt-dst-aws-service", 5, KindString),
	field(FieldFlowDirection, "flow-direction", 5, KindString),
	field(FieldTrafficPath, "traffic-path", 5, KindInt32),
	field(FieldECSClusterARN, "ecs-cluster-arn", 7, KindString),
	field(FieldECSClusterName, "ecs-cluster-name", 7, KindString),
	field(FieldECSContainerInstanceARN, "ecs-container-instance-arn", 7, KindString),
	field(FieldECSContainerInstanceID, "ecs-container-instance-id", 7, KindString),
	field(FieldECSContainerID, "ecs-container-id", 7, KindString),
	field(FieldECSSecondContainerID, "ecs-second-container-id", 7, KindString),
	field(FieldECSServiceName, "ecs-service-name", 7, KindString),
	field(FieldECSTaskDefinitionARN, "ecs-task-definition-arn", 7, KindString),
	field(FieldECSTaskARN, "ecs-task-arn", 7, KindString),
	field(FieldECSTaskID, "ecs-task-id", 7, KindString),
	field(FieldRejectReason, "reject-reason", 8, KindString),
	field(FieldResourceID, "resource-id", 9, KindString),
	field(FieldEncryptionStatus, "encryption-status", 10, KindInt32),
	field(FieldInstanceTag, "instance-tag", 11, KindString),
	field(FieldInstanceTag2, "instance-tag-2", 11, KindString),
	field(FieldInterfaceTag, "interface-tag", 11, KindString),
	field(FieldInterfaceTag2, "interface-tag-2", 11, KindString),
	field(FieldASGTag, "asg-tag", 11, KindString),
	field(FieldASGTag2, "asg-tag-2", 11, KindString),
	field(FieldInterfaceType, "interface-type", 11, KindString),
	field(FieldNextHopInterfaceID, "next-hop-interface-id", 11, KindString),
	field(FieldNextHopSubnetID, "next-hop-subnet-id", 11, KindString),
	field(FieldNextHopAZID, "next-hop-az-id", 11, KindString),
	field(FieldNextHopVPCID, "next-hop-vpc-id", 11, KindString),
	field(FieldNextHopInterfaceType, "next-hop-interface-type", 11, KindString),
	// The deciding layer and rule of a REJECT record (issue 7), one
	// space-free token each, "-" on ACCEPT, NODATA and SKIPDATA records.
	// Layer: sg, nacl, route or nat. Rule: "<acl-id>/<direction>/<number>"
	// for a NACL ("*" for the final rule), "<sg-ids>/<direction>/no-rule"
	// for security groups (ids comma-joined: no rule of any allowed it),
	// the resource id (rtb-…, nat-…) for other layers.
	extension(FieldDecisionLayer, "vpcflow-decision-layer"),
	extension(FieldDecisionRule, "vpcflow-decision-rule"),
}

func extension(id FieldID, name string) Field {
	f := field(id, name, 0, KindString)
	f.Extension = true
	return f
}

var fieldsByName = func() map[string]FieldID {
	m := make(map[string]FieldID, NumFields)
	for _, f := range fields {
		m[f.Name] = f.ID
	}
	return m
}()

// Fields returns every known field in AWS table order.
func Fields() []Field { return fields[:] }

// Info returns the description of id. It returns the zero Field for an
// out-of-range id.
func (id FieldID) Info() Field {
	if id >= NumFields {
		return Field{}
	}
	return fields[id]
}

// String returns the AWS field name.
func (id FieldID) String() string {
	if id >= NumFields {
		return "unknown-field"
	}
	return fields[id].Name
}

// LookupField finds a field by its AWS name ("srcaddr", "pkt-dstaddr", …).
func LookupField(name string) (FieldID, bool) {
	id, ok := fieldsByName[name]
	return id, ok
}

// LookupColumn finds a field by its Athena/Parquet column name
// ("pkt_srcaddr") or its AWS name.
func LookupColumn(name string) (FieldID, bool) {
	if id, ok := fieldsByName[name]; ok {
		return id, true
	}
	for _, f := range fields {
		if f.Column == name {
			return f.ID, true
		}
	}
	return 0, false
}
