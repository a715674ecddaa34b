package logstore

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events, bytes, segments prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "vpcflow_logstore_events_total",
			Help: "Log events appended to the log store."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "vpcflow_logstore_bytes_total",
			Help: "Bytes appended to log store segments."}),
		segments: prometheus.NewCounter(prometheus.CounterOpts{Name: "vpcflow_logstore_segments_total",
			Help: "Log store segment files created."}),
	}
	if reg != nil {
		m.events = register(reg, m.events)
		m.bytes = register(reg, m.bytes)
		m.segments = register(reg, m.segments)
	}
	return m
}

// register registers c, or returns the collector already registered under
// the same name (several stores may share a registry).
func register(reg prometheus.Registerer, c prometheus.Counter) prometheus.Counter {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if ex, ok := are.ExistingCollector.(prometheus.Counter); ok {
				return ex
			}
		}
	}
	return c
}
