//go:build race

package discord

// raceDetector tells that the tests run under the race detector, which
// makes the code several times slower.
const raceDetector = true
