package flow

import (
	"fmt"
	"net/netip"
)

// Action is the record's `action` field.
type Action uint8

// Actions. ActionNone renders as "-" (NODATA and SKIPDATA records).
const (
	ActionNone Action = iota
	ActionAccept
	ActionReject
)

func (a Action) String() string {
	switch a {
	case ActionAccept:
		return "ACCEPT"
	case ActionReject:
		return "REJECT"
	}
	return "-"
}

// ParseAction parses ACCEPT or REJECT.
func ParseAction(s string) (Action, error) {
	switch s {
	case "ACCEPT":
		return ActionAccept, nil
	case "REJECT":
		return ActionReject, nil
	}
	return ActionNone, fmt.Errorf("unknown action %q (want ACCEPT or REJECT)", s)
}

// LogStatus is the record's `log-status` field.
type LogStatus uint8

// Log statuses.
const (
	StatusOK LogStatus = iota
	StatusNoData
	StatusSkipData
)

func (s LogStatus) String() string {
	switch s {
	case StatusNoData:
		return "NODATA"
	case StatusSkipData:
		return "SKIPDATA"
	}
	return "OK"
}

// ParseLogStatus parses OK, NODATA or SKIPDATA.
func ParseLogStatus(s string) (LogStatus, error) {
	switch s {
	case "OK":
		return StatusOK, nil
	case "NODATA":
		return StatusNoData, nil
	case "SKIPDATA":
		return StatusSkipData, nil
	}
	return StatusOK, fmt.Errorf("unknown log-status %q (want OK, NODATA or SKIPDATA)", s)
}

// Direction is the `flow-direction` field, relative to the interface that
// captured the traffic.
type Direction uint8

// Directions.
const (
	Ingress Direction = iota
	Egress
)

func (d Direction) String() string {
	if d == Egress {
		return "egress"
	}
	return "ingress"
}

// ParseDirection parses "ingress" or "egress".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "ingress":
		return Ingress, nil
	case "egress":
		return Egress, nil
	}
	return Ingress, fmt.Errorf("unknown flow-direction %q (want ingress or egress)", s)
}

// Record is one flow log record. Every field has a typed value and a
// presence bit: a field that is not present renders as "-", which AWS keeps
// distinct from zero or an empty value (spec §1.1). Use Set after assigning a
// value, or the setter helpers. Records from the aggregator also carry
// InterfaceID, Start and End when the format leaves them out (not present):
// destinations route by them.
type Record struct {
	Present uint64 // bit i set: field FieldID(i) has a value (fieldsFit: at most 64)

	Version     int32
	AccountID   string
	InterfaceID string
	SrcAddr     netip.Addr
	DstAddr     netip.Addr
	SrcPort     int32
	DstPort     int32
	Protocol    int32
	Packets     int64
	Bytes       int64
	Start       int64
	End         int64
	Action      Action
	LogStatus   LogStatus

	VPCID      string
	SubnetID   string
	InstanceID string
	TCPFlags   int32
	Type       string
	PktSrcAddr netip.Addr
	PktDstAddr netip.Addr

	Region          string
	AZID            string
	SublocationType string
	SublocationID   string

	PktSrcAWSService string
	PktDstAWSService string
	FlowDirection    Direction
	TrafficPath      int32

	EncryptionStatus int32

	// Other holds the values of the remaining string fields (ECS, v8–v11),
	// indexed by FieldID. Nil until one is set.
	Other *[NumFields]string
}

// fieldsFit fails to compile when the fields outgrow Present's bits.
var _ [64 - NumFields]struct{}

// Has reports whether field id has a value (is not "-").
func (r *Record) Has(id FieldID) bool { return r.Present&(1<<id) != 0 }

// Set marks field id as having a value.
func (r *Record) Set(id FieldID) { r.Present |= 1 << id }

// Clear marks field id as "-".
func (r *Record) Clear(id FieldID) { r.Present &^= 1 << id }

// Reset clears every field, keeping the Other array for reuse.
func (r *Record) Reset() {
	other := r.Other
	*r = Record{}
	if other != nil {
		*other = [NumFields]string{}
		r.Other = other
	}
}

// String returns the value of a string-kinded field (and "" for "-").
func (r *Record) String(id FieldID) string {
	if !r.Has(id) {
		return ""
	}
	switch id {
	case FieldAccountID:
		return r.AccountID
	case FieldInterfaceID:
		return r.InterfaceID
	case FieldVPCID:
		return r.VPCID
	case FieldSubnetID:
		return r.SubnetID
	case FieldInstanceID:
		return r.InstanceID
	case FieldType:
		return r.Type
	case FieldRegion:
		return r.Region
	case FieldAZID:
		return r.AZID
	case FieldSublocationType:
		return r.SublocationType
	case FieldSublocationID:
		return r.SublocationID
	case FieldPktSrcAWSService:
		return r.PktSrcAWSService
	case FieldPktDstAWSService:
		return r.PktDstAWSService
	case FieldFlowDirection:
		return r.FlowDirection.String()
	case FieldAction:
		return r.Action.String()
	case FieldLogStatus:
		return r.LogStatus.String()
	}
	if r.Other != nil && id < NumFields {
		return r.Other[id]
	}
	return ""
}

// SetString sets a string-kinded field (those of KindString) and marks it
// present. It does nothing for fields of another kind.
func (r *Record) SetString(id FieldID, v string) {
	switch id {
	case FieldAccountID:
		r.AccountID = v
	case FieldInterfaceID:
		r.InterfaceID = v
	case FieldVPCID:
		r.VPCID = v
	case FieldSubnetID:
		r.SubnetID = v
	case FieldInstanceID:
		r.InstanceID = v
	case FieldType:
		r.Type = v
	case FieldRegion:
		r.Region = v
	case FieldAZID:
		r.AZID = v
	case FieldSublocationType:
		r.SublocationType = v
	case FieldSublocationID:
		r.SublocationID = v
	case FieldPktSrcAWSService:
		r.PktSrcAWSService = v
	case FieldPktDstAWSService:
		r.PktDstAWSService = v
	default:
		if id >= NumFields || fields[id].Kind != KindString {
			return
		}
		if r.Other == nil {
			r.Other = new([NumFields]string)
		}
		r.Other[id] = v
	}
	r.Set(id)
}

// Int returns the value of an integer-kinded field and whether it is present.
func (r *Record) Int(id FieldID) (int64, bool) {
	if !r.Has(id) {
		return 0, false
	}
	switch id {
	case FieldVersion:
		return int64(r.Version), true
	case FieldSrcPort:
		return int64(r.SrcPort), true
	case FieldDstPort:
		return int64(r.DstPort), true
	case FieldProtocol:
		return int64(r.Protocol), true
	case FieldPackets:
		return r.Packets, true
	case FieldBytes:
		return r.Bytes, true
	case FieldStart:
		return r.Start, true
	case FieldEnd:
		return r.End, true
	case FieldTCPFlags:
		return int64(r.TCPFlags), true
	case FieldTrafficPath:
		return int64(r.TrafficPath), true
	case FieldEncryptionStatus:
		return int64(r.EncryptionStatus), true
	}
	return 0, false
}

// SetInt sets an integer-kinded field and marks it present. It does nothing
// for fields of another kind.
func (r *Record) SetInt(id FieldID, v int64) {
	switch id {
	case FieldVersion:
		r.Version = int32(v)
	case FieldSrcPort:
		r.SrcPort = int32(v)
	case FieldDstPort:
		r.DstPort = int32(v)
	case FieldProtocol:
		r.Protocol = int32(v)
	case FieldPackets:
		r.Packets = v
	case FieldBytes:
		r.Bytes = v
	case FieldStart:
		r.Start = v
	case FieldEnd:
		r.End = v
	case FieldTCPFlags:
		r.TCPFlags = int32(v)
	case FieldTrafficPath:
		r.TrafficPath = int32(v)
	case FieldEncryptionStatus:
		r.EncryptionStatus = int32(v)
	default:
		return
	}
	r.Set(id)
}

// Addr returns the value of an address field and whether it is present.
func (r *Record) Addr(id FieldID) (netip.Addr, bool) {
	if !r.Has(id) {
		return netip.Addr{}, false
	}
	switch id {
	case FieldSrcAddr:
		return r.SrcAddr, true
	case FieldDstAddr:
		return r.DstAddr, true
	case FieldPktSrcAddr:
		return r.PktSrcAddr, true
	case FieldPktDstAddr:
		return r.PktDstAddr, true
	}
	return netip.Addr{}, false
}

// SetAddr sets an address field and marks it present.
func (r *Record) SetAddr(id FieldID, a netip.Addr) {
	switch id {
	case FieldSrcAddr:
		r.SrcAddr = a
	case FieldDstAddr:
		r.DstAddr = a
	case FieldPktSrcAddr:
		r.PktSrcAddr = a
	case FieldPktDstAddr:
		r.PktDstAddr = a
	default:
		return
	}
	r.Set(id)
}

// SetAction sets `action` and marks it present.
func (r *Record) SetAction(a Action) {
	r.Action = a
	if a == ActionNone {
		r.Clear(FieldAction)
		return
	}
	r.Set(FieldAction)
}

// SetLogStatus sets `log-status` and marks it present.
func (r *Record) SetLogStatus(s LogStatus) { r.LogStatus = s; r.Set(FieldLogStatus) }

// SetDirection sets `flow-direction` and marks it present.
func (r *Record) SetDirection(d Direction) { r.FlowDirection = d; r.Set(FieldFlowDirection) }
