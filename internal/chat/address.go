package chat

// The platforms lessonbot speaks to.
const (
	Telegram = "telegram"
	Discord  = "discord"
	Console  = "console"
)

// Address names a chat on a platform: a Telegram chat, a Discord channel,
// or the local terminal. ThreadID is a Telegram forum topic, or empty.
type Address struct {
	Platform string
	ChatID   string
	ThreadID string
}

// Key returns the address as one string, "platform:chat" or
// "platform:chat:thread", for maps and logs.
func (a Address) Key() string {
	if a.ThreadID == "" {
		return a.Platform + ":" + a.ChatID
	}
	return a.Platform + ":" + a.ChatID + ":" + a.ThreadID
}

// Kind is the sort of chat, which decides who may change its settings and
// how fast the platform lets the bot post to it.
type Kind string

// The kinds of chat.
const (
	Private Kind = "private"
	Group   Kind = "group"
	Channel Kind = "channel"
)

// User is a person on a platform. Name is their display name, plain text.
type User struct {
	Platform string
	ID       string
	Name     string
}
