package aggregate

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the aggregator's self-metrics, shared by the aggregators of
// every flow log and labelled by flow_log_id.
type Metrics struct {
	observations *prometheus.CounterVec
	filtered     *prometheus.CounterVec
	skipped      *prometheus.CounterVec
	skippedPkts  *prometheus.CounterVec
	records      *prometheus.CounterVec
	interfaces   *prometheus.GaugeVec
	flows        *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them on reg (which may be nil).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		observations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpcflow_aggregate_observations_total",
			Help: "Observations received by the aggregator.",
		}, []string{"flow_log_id"}),
		filtered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpcflow_aggregate_filtered_observations_total",
			Help: "Observations left out by the flow log's TrafficType.",
		}, []string{"flow_log_id"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpcflow_aggregate_skipped_observations_total",
			Help: "Observations dropped because an interface's flow table was full (reported as SKIPDATA).",
		}, []string{"flow_log_id"}),
		skippedPkts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpcflow_aggregate_skipped_packets_total",
			Help: "Packets of the observations dropped because an interface's flow table was full.",
		}, []string{"flow_log_id"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpcflow_aggregate_records_total",
			Help: "Flow log records emitted, by log-status.",
		}, []string{"flow_log_id", "log_status"}),
		interfaces: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vpcflow_aggregate_interfaces",
			Help: "Interfaces with an open capture window.",
		}, []string{"flow_log_id"}),
		flows: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vpcflow_aggregate_flows",
			Help: "Flows in open capture windows.",
		}, []string{"flow_log_id"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.observations, m.filtered, m.skipped, m.skippedPkts, m.records, m.interfaces, m.flows} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Delete removes the series of one flow log (after the flow log is deleted).
func (m *Metrics) Delete(flowLogID string) {
	l := prometheus.Labels{"flow_log_id": flowLogID}
	m.observations.DeletePartialMatch(l)
	m.filtered.DeletePartialMatch(l)
	m.skipped.DeletePartialMatch(l)
	m.skippedPkts.DeletePartialMatch(l)
	m.records.DeletePartialMatch(l)
	m.interfaces.DeletePartialMatch(l)
	m.flows.DeletePartialMatch(l)
}

// series are the children of one flow log, looked up once.
type series struct {
	observations, filtered, skipped, skippedPkts prometheus.Counter
	ok, nodata, skipdata                         prometheus.Counter
	interfaces, flows                            prometheus.Gauge
}

func (m *Metrics) series(id string) series {
	return series{
		observations: m.observations.WithLabelValues(id),
		filtered:     m.filtered.WithLabelValues(id),
		skipped:      m.skipped.WithLabelValues(id),
		skippedPkts:  m.skippedPkts.WithLabelValues(id),
		ok:           m.records.WithLabelValues(id, "OK"),
		nodata:       m.records.WithLabelValues(id, "NODATA"),
		skipdata:     m.records.WithLabelValues(id, "SKIPDATA"),
		interfaces:   m.interfaces.WithLabelValues(id),
		flows:        m.flows.WithLabelValues(id),
	}
}
