// Package metrics exposes entraide's Prometheus metrics.
package metrics

import _ "github.com/prometheus/client_golang/prometheus"
