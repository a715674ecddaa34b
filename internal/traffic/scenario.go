package traffic

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"vpcflow/internal/vpc"
	"vpcflow/internal/yamlerr"
)

// ErrInvalid marks a scenario that failed to parse or validate.
var ErrInvalid = errors.New("invalid scenario")

// Document is the YAML form of a scenario. Values are kept as text so that
// each problem is reported at its line and column.
type Document struct {
	Name        string `yaml:"name,omitempty"`
	Description string `yaml:"description,omitempty"`
	// Topology is the topology file, relative to the scenario file. Empty
	// means the caller's default (the demo's bundled three-tier VPC).
	Topology string        `yaml:"topology,omitempty"`
	Start    string        `yaml:"start"`
	Duration string        `yaml:"duration"`
	Seed     uint64        `yaml:"seed"`
	Internet *InternetDoc  `yaml:"internet,omitempty"`
	FlowLogs []FlowLogDoc  `yaml:"flow_logs,omitempty"`
	Workload []WorkloadDoc `yaml:"workloads,omitempty"`
	Incident []IncidentDoc `yaml:"incidents,omitempty"`
}

// InternetDoc sets the pool of public hosts that "internet" endpoints draw
// from.
type InternetDoc struct {
	CIDRs []string `yaml:"cidrs,omitempty"`
	Hosts int      `yaml:"hosts,omitempty"` // 1 to 100,000; 0 or none: 5000
}

// FlowLogDoc is a flow log to create before traffic starts (the fields of
// CreateFlowLogs).
type FlowLogDoc struct {
	ID                     string `yaml:"id,omitempty"`
	Resource               string `yaml:"resource"`
	TrafficType            string `yaml:"traffic_type,omitempty"` // ALL (default) | ACCEPT | REJECT
	Destination            string `yaml:"destination,omitempty"`  // s3 (default) | cloud-watch-logs | kinesis-data-firehose
	LogDestination         string `yaml:"log_destination,omitempty"`
	LogGroup               string `yaml:"log_group,omitempty"`
	LogFormat              string `yaml:"log_format,omitempty"`
	MaxAggregationInterval int    `yaml:"max_aggregation_interval,omitempty"`
	FileFormat             string `yaml:"file_format,omitempty"` // plain-text | parquet
	HiveCompatible         bool   `yaml:"hive_compatible_partitions,omitempty"`
	PerHourPartition       bool   `yaml:"per_hour_partition,omitempty"`
}

// WorkloadDoc is steady traffic between clients and servers.
type WorkloadDoc struct {
	Name     string      `yaml:"name"`
	Protocol string      `yaml:"protocol"` // tcp | udp | icmp
	Clients  []string    `yaml:"clients"`
	Servers  []string    `yaml:"servers"`
	Port     Scalar      `yaml:"port,omitempty"` // N or N-M (tcp, udp)
	Rate     Scalar      `yaml:"rate"`           // conversations: N/s, N/m, N/h, N/d
	Diurnal  *DiurnalDoc `yaml:"diurnal,omitempty"`
	Request  Scalar      `yaml:"request,omitempty"`  // bytes per request (distribution)
	Response Scalar      `yaml:"response,omitempty"` // bytes per response (distribution)
	// Requests is the number of request/response exchanges per connection.
	Requests Scalar `yaml:"requests,omitempty"`
	Close    string `yaml:"close,omitempty"` // fin (default) | rst
	RTT      string `yaml:"rtt,omitempty"`   // default 2ms inside the VPC, 40ms to the internet
	Start    string `yaml:"start,omitempty"` // offset from the scenario start
	Duration string `yaml:"duration,omitempty"`
}

// DiurnalDoc shapes a workload's rate over the day.
type DiurnalDoc struct {
	Peak   string  `yaml:"peak"`   // HH:MM UTC
	Trough float64 `yaml:"trough"` // fraction of the peak rate at the quietest hour
}

// IncidentDoc is a named incident pattern, active from Start for Duration.
type IncidentDoc struct {
	Name        string   `yaml:"name,omitempty"`
	Pattern     string   `yaml:"pattern"`
	Description string   `yaml:"description,omitempty"`
	Start       string   `yaml:"start"`
	Duration    string   `yaml:"duration"`
	From        []string `yaml:"from"`
	Targets     []string `yaml:"targets"`
	Ports       Scalar   `yaml:"ports,omitempty"`
	Open        []int    `yaml:"open,omitempty"` // port-scan: ports that answer SYN-ACK
	Rate        Scalar   `yaml:"rate,omitempty"`
	Bytes       Scalar   `yaml:"bytes,omitempty"` // exfiltration volume
	// Expect documents the outcome the topology's rules should produce (for
	// readers and the demo summary); it never influences a verdict.
	Expect string `yaml:"expect,omitempty"`
}

// Scalar is a YAML scalar kept as text ("443", 443 and "1024-65535" all
// decode), as in topology files.
type Scalar = vpc.Scalar

// Error is one problem in a scenario file, with its position (see
// yamlerr.Error); errors.Is(err, ErrInvalid) holds for every one this
// package makes.
type Error = yamlerr.Error

// Errors is a list of problems sorted by position.
type Errors = yamlerr.Errors

// ReadDocument reads and strictly decodes a scenario file.
func ReadDocument(path string) (*Document, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read scenario: %w", err)
	}
	doc, err := DecodeDocument(b, path)
	return doc, b, err
}

// DecodeDocument decodes YAML strictly: unknown keys are errors with their
// line and column.
func DecodeDocument(data []byte, name string) (*Document, error) {
	doc := &Document{}
	if err := yamlerr.Decode(data, name, doc, ErrInvalid); err != nil {
		return nil, err
	}
	return doc, nil
}

// TopologyPath resolves the document's topology file relative to the
// scenario file; "" when the document names none.
func (d *Document) TopologyPath(scenarioPath string) string {
	if d.Topology == "" || filepath.IsAbs(d.Topology) {
		return d.Topology
	}
	return filepath.Join(filepath.Dir(scenarioPath), d.Topology)
}

// parseOffset parses a duration such as 90m or 2h30m; "" gives def.
func parseOffset(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: expected e.g. 90s, 10m or 2h30m", s)
	}
	return d, nil
}

// Load decodes and compiles a scenario. When the scenario names a topology
// file (relative to name's directory) it is loaded; otherwise def is used.
func Load(data []byte, name string, def *vpc.Topology) (*Scenario, *vpc.Topology, error) {
	doc, err := DecodeDocument(data, name)
	if err != nil {
		return nil, nil, err
	}
	topo := def
	if p := doc.TopologyPath(name); p != "" {
		topo, err = vpc.LoadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("scenario %s: topology: %w", name, err)
		}
	}
	if topo == nil {
		return nil, nil, Errors{{File: name, Msg: "no topology: set topology: to a topology file", Kind: ErrInvalid}}
	}
	sc, err := Compile(doc, topo, data, name)
	if err != nil {
		return nil, nil, err
	}
	return sc, topo, nil
}

// LoadFile reads a scenario file and loads it (see Load).
func LoadFile(path string, def *vpc.Topology) (*Scenario, *vpc.Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read scenario: %w", err)
	}
	return Load(b, path, def)
}
