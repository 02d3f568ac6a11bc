//go:build !race

package bots_test

// raceDetector is true when the tests run with -race.
const raceDetector = false
