package worker

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	jobs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	lag      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantry_jobs_total", Help: "Jobs finished by this worker, by kind and final status.",
		}, []string{"kind", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tenantry_job_duration_seconds", Help: "Time to apply a job, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"kind"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenantry_consumer_lag", Help: "Commands waiting for the worker consumer (pending + unacked).",
			ConstLabels: prometheus.Labels{"consumer": "worker"},
		}),
	}
	for _, c := range []prometheus.Collector{m.jobs, m.duration, m.lag} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) finished(kind, status string, d time.Duration) {
	m.jobs.WithLabelValues(kind, status).Inc()
	if status != "failed" {
		m.duration.WithLabelValues(kind).Observe(d.Seconds())
	}
}
