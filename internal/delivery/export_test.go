package delivery

// HoldChat makes the workers of p hold their delivery through its chat's
// spacing, as the pool did before the ready queue, so that BenchmarkFanOut
// can measure the two designs side by side.
func HoldChat(p *Pool) { p.holdChat = true }
