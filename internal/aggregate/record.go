package aggregate

import (
	"net/netip"

	"vpcflow/internal/flow"
)

// pktAddr is the packet-level address, or the interface-level one when the
// packet-level one is unknown, without the IPv4-in-IPv6 mapping.
func pktAddr(pkt, iface netip.Addr) netip.Addr {
	if pkt.IsValid() {
		return pkt.Unmap()
	}
	return iface.Unmap()
}

func (a *Aggregator) has(id flow.FieldID) bool { return a.want&(1<<id) != 0 }

func (a *Aggregator) setString(r *flow.Record, id flow.FieldID, v string) {
	if v != "" && a.has(id) {
		r.SetString(id, v)
	}
}

func (a *Aggregator) setInt(r *flow.Record, id flow.FieldID, v int64) {
	if a.has(id) {
		r.SetInt(id, v)
	}
}

func (a *Aggregator) setAddr(r *flow.Record, id flow.FieldID, v netip.Addr) {
	if v.IsValid() && a.has(id) {
		r.SetAddr(id, v.Unmap())
	}
}

// DecisionFields is the Annotate hook that fills the vpcflow extension
// fields of REJECT records from the dataplane's decision: the deciding layer
// (sg, nacl, route, nat) and the rule as policy.Decision.RuleToken encodes
// it. ACCEPT records keep "-".
func DecisionFields(r *flow.Record, first *Observation) {
	if first.Action != flow.ActionReject {
		return
	}
	d := &first.Decision
	if d.Layer != "" {
		r.SetString(flow.FieldDecisionLayer, d.Layer)
	}
	if tok := d.RuleToken(); tok != "-" {
		r.SetString(flow.FieldDecisionRule, tok)
	}
}

func unixSec(ns int64) int64 {
	s := ns / 1e9
	if ns < 0 && ns%1e9 != 0 {
		s--
	}
	return s
}

// routing sets the values destinations route a record by, whether or not
// the format shows them (the presence bits keep saying what it shows): a
// CloudWatch Logs stream per interface and an event time of start (spec
// §5.2), an S3 file per 5-minute bucket of end (§5.1). A custom format
// without ${interface-id}, ${start} or ${end} must still land where AWS
// puts it.
func routing(r *flow.Record, e *Interface, start, end int64) {
	r.InterfaceID, r.Start, r.End = e.ID, unixSec(start), unixSec(end)
}

// fillInterface fills the fields that describe the interface, present in
// every record including NODATA and SKIPDATA.
func (a *Aggregator) fillInterface(r *flow.Record, e *Interface) {
	a.setInt(r, flow.FieldVersion, int64(a.format.Version()))
	a.setString(r, flow.FieldAccountID, e.AccountID)
	a.setString(r, flow.FieldInterfaceID, e.ID)
	a.setString(r, flow.FieldVPCID, e.VPCID)
	a.setString(r, flow.FieldSubnetID, e.SubnetID)
	a.setString(r, flow.FieldInstanceID, e.InstanceID)
	a.setString(r, flow.FieldRegion, e.Region)
	if e.SublocationType == "" {
		a.setString(r, flow.FieldAZID, e.AZID)
	} else {
		a.setString(r, flow.FieldSublocationType, e.SublocationType)
		a.setString(r, flow.FieldSublocationID, e.SublocationID)
	}
	a.setString(r, flow.FieldInterfaceType, e.InterfaceType)
}

// fillOK makes the record of one flow.
func (a *Aggregator) fillOK(r *flow.Record, e *Interface, en *entry) {
	a.fillInterface(r, e)
	k := &en.key
	src, dst := k.srcAddr(), k.dstAddr()
	a.setAddr(r, flow.FieldSrcAddr, pktAddr(en.srcAddr, src))
	a.setAddr(r, flow.FieldDstAddr, pktAddr(en.dstAddr, dst))
	a.setInt(r, flow.FieldSrcPort, int64(k.sport))
	a.setInt(r, flow.FieldDstPort, int64(k.dport))
	a.setInt(r, flow.FieldProtocol, int64(k.proto))
	a.setInt(r, flow.FieldPackets, en.packets)
	a.setInt(r, flow.FieldBytes, en.bytes)
	a.setInt(r, flow.FieldStart, unixSec(en.first))
	a.setInt(r, flow.FieldEnd, unixSec(en.last))
	routing(r, e, en.first, en.last)
	if a.has(flow.FieldAction) {
		r.SetAction(k.action)
	}
	if a.has(flow.FieldLogStatus) {
		r.SetLogStatus(flow.StatusOK)
	}
	a.setInt(r, flow.FieldTCPFlags, int64(en.flags))
	if src.Is4() {
		a.setString(r, flow.FieldType, "IPv4")
	} else {
		a.setString(r, flow.FieldType, "IPv6")
	}
	a.setAddr(r, flow.FieldPktSrcAddr, src)
	a.setAddr(r, flow.FieldPktDstAddr, dst)
	a.setString(r, flow.FieldPktSrcAWSService, en.srcSvc)
	a.setString(r, flow.FieldPktDstAWSService, en.dstSvc)
	if a.has(flow.FieldFlowDirection) {
		r.SetDirection(k.dir)
	}
	if k.dir == flow.Egress && en.trafficPath != 0 {
		a.setInt(r, flow.FieldTrafficPath, int64(en.trafficPath))
	}
	if a.annotate != nil && en.obs != nil {
		a.annotate(r, en.obs)
		r.Present &= a.want
	}
	a.stats.Records++
}

// fillStatus makes a NODATA or SKIPDATA record: the interface fields, the
// window bounds and the status; every flow field is "-" (spec §7.2).
func (a *Aggregator) fillStatus(r *flow.Record, e *Interface, status flow.LogStatus, start, end int64) {
	a.fillInterface(r, e)
	a.setInt(r, flow.FieldStart, unixSec(start))
	a.setInt(r, flow.FieldEnd, unixSec(end))
	routing(r, e, start, end)
	if a.has(flow.FieldLogStatus) {
		r.SetLogStatus(status)
	}
	if status == flow.StatusNoData {
		a.stats.NoData++
	} else {
		a.stats.SkipData++
	}
}
