//go:build race

package bots_test

// raceDetector is true when the tests run with -race, about ten times
// slower: the longest crash tests then visit fewer crash points.
const raceDetector = true
