//go:build race

package delivery_test

// crashChats is how many chats TestCrashSafety delivers to. The race
// detector slows the child several times over, so it gets fewer chats
// to stay within its time.
const crashChats = 100
