package api

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpcflow_api_requests_total",
			Help: "AWS-compatible API requests by API and status class.",
		}, []string{"api", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vpcflow_api_request_duration_seconds",
			Help:    "AWS-compatible API request latency.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"api"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}
