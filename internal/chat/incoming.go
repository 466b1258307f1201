package chat

import (
	"strings"
	"unicode"
)

// Command is a command someone sent in a chat, such as "/subscribe 07:30
// Europe/Paris", as the tutor receives it from any platform.
type Command struct {
	// Chat is where the command was sent, and Kind what sort of chat it is.
	Chat Address
	Kind Kind
	// From is who sent it. In a Telegram channel posts have no author;
	// From.ID is then empty.
	From User
	// Name is the command without "/" or "@botname", lower-case.
	Name string
	// Args is the rest of the text, trimmed.
	Args string
	// CanManage tells that the platform says the sender may change this
	// chat's settings: a group or channel administrator, or a Discord
	// member with Manage Server. The tutor also lets configured admins and
	// anyone in a private chat do so.
	CanManage bool
}

// Press is a button someone pressed under one of the bot's messages.
type Press struct {
	Chat Address
	Kind Kind
	From User
	// Data is the button's data as the platform returned it; a client can
	// forge it, so it is parsed strictly.
	Data string
}

// MaxCommandLength is the longest command text the tutor reads; longer
// input is refused with an explanation.
const MaxCommandLength = 256

// ParseCommand splits a text message such as "/time@lessonbot 07:30" into
// the command name ("time"), the bot it addresses ("lessonbot", or "" for
// none) and its arguments ("07:30"). ok is false when the text is not a
// command.
func ParseCommand(text string) (name, bot, args string, ok bool) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", "", "", false
	}
	head, rest, _ := strings.Cut(text[1:], " ")
	if i := strings.IndexFunc(head, unicode.IsSpace); i >= 0 {
		head, rest = head[:i], head[i:]+" "+rest
	}
	name, bot, _ = strings.Cut(head, "@")
	if name == "" || !isCommandName(name) {
		return "", "", "", false
	}
	return strings.ToLower(name), bot, strings.TrimSpace(rest), true
}

func isCommandName(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return len(s) <= 32
}

// PressReply is the tutor's answer to a button press.
type PressReply struct {
	// Notice is a short text for the presser alone (Telegram's callback
	// answer, a Discord ephemeral reply), at most MaxNotice characters.
	Notice string
	// Messages are longer replies, such as the full article; may be empty.
	Messages []Message
}

// MaxNotice is the longest PressReply.Notice: Telegram shows at most 200
// characters in a callback answer.
const MaxNotice = 200

// CommandInfo describes a command for platforms that register them
// (Telegram's setMyCommands, Discord's slash commands).
type CommandInfo struct {
	Name string
	// Args is the argument syntax, such as "[HH:MM] [zone]"; empty for
	// none.
	Args string
	// Description is the command's help line, by UI language ("en", "fr").
	Description map[string]string
	// Manage tells that the command changes the chat's settings: in a
	// group only its administrators may run it.
	Manage bool
	// Admin tells that only lessonbot's admins may run it.
	Admin bool
	// Private tells that the command's reply is for its sender alone
	// (a learner's own review, words or data): where a platform can show
	// a reply to one person in a shared channel (a Discord ephemeral
	// reply), it does.
	Private bool
}
