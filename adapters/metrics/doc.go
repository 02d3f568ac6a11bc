// Package metrics exposes entraide's Prometheus metrics. Its Observer hears
// what a bots.Pipeline does (events delivered and handled, messages sent,
// jobs run) and counts it; at scrape time it also asks the database for the
// queue depth and the questions by state, through functions cmd gives it.
// Everything lives in the Observer's own registry: the package keeps no
// global state, so tests and several observers in one process do not mix.
package metrics
