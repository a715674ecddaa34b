package aggregate

import (
	"fmt"
	"time"

	"vpcflow/internal/flow"
)

// TrafficType is the flow log's TrafficType filter, applied after the
// security group / network ACL decision.
type TrafficType uint8

// Traffic types.
const (
	TrafficAll TrafficType = iota
	TrafficAccept
	TrafficReject
)

func (t TrafficType) String() string {
	switch t {
	case TrafficAccept:
		return "ACCEPT"
	case TrafficReject:
		return "REJECT"
	}
	return "ALL"
}

// ParseTrafficType parses ACCEPT, REJECT or ALL.
func ParseTrafficType(s string) (TrafficType, error) {
	switch s {
	case "ALL":
		return TrafficAll, nil
	case "ACCEPT":
		return TrafficAccept, nil
	case "REJECT":
		return TrafficReject, nil
	}
	return TrafficAll, fmt.Errorf("unknown traffic type %q (want ACCEPT, REJECT or ALL)", s)
}

// keeps reports whether traffic with action a is recorded.
func (t TrafficType) keeps(a flow.Action) bool {
	switch t {
	case TrafficAccept:
		return a == flow.ActionAccept
	case TrafficReject:
		return a == flow.ActionReject
	}
	return true
}

// Config configures the aggregator of one flow log.
type Config struct {
	// FlowLogID labels the metrics.
	FlowLogID string
	// Format is the flow log's LogFormat; the zero Format means the default.
	Format flow.Format
	// Interval is the MaxAggregationInterval: 60 s or 600 s.
	Interval time.Duration
	// NitroInterval caps the window of Nitro interfaces (AWS: 1 minute).
	NitroInterval time.Duration
	// TrafficType filters records by action.
	TrafficType TrafficType
	// MaxFlowsPerInterface bounds the flow table of one interface for one
	// window. Observations of further flows are dropped, counted, and
	// reported by a SKIPDATA record for the interface and window.
	MaxFlowsPerInterface int
}

// DefaultConfig is AWS's default: 600 s windows, 60 s for Nitro
// interfaces, all traffic, the default format.
func DefaultConfig() Config {
	return Config{
		Format:               flow.DefaultFormat,
		Interval:             600 * time.Second,
		NitroInterval:        60 * time.Second,
		TrafficType:          TrafficAll,
		MaxFlowsPerInterface: 1 << 16,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Interval < time.Second {
		return fmt.Errorf("aggregation interval %v: must be at least 1s", c.Interval)
	}
	if c.NitroInterval < time.Second {
		return fmt.Errorf("nitro aggregation interval %v: must be at least 1s", c.NitroInterval)
	}
	if c.MaxFlowsPerInterface < 1 {
		return fmt.Errorf("max flows per interface %d: must be at least 1", c.MaxFlowsPerInterface)
	}
	if c.TrafficType > TrafficReject {
		return fmt.Errorf("unknown traffic type %d", c.TrafficType)
	}
	return nil
}
