//go:build !race

package delivery_test

// crashChats is how many chats TestCrashSafety delivers to.
const crashChats = 500
