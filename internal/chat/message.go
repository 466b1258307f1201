// Package chat is the platform-neutral vocabulary shared by the tutor and the
// platform adapters: what a message to send looks like, before any adapter
// renders it for Telegram, Discord or the terminal.
package chat

// Message is one outgoing message. The tutor fills it with plain,
// unescaped text; each adapter escapes and lays it out for its platform.
type Message struct {
	// Title is the message's heading, shown in bold (the embed title on
	// Discord). It may be empty.
	Title string
	// URL, when set, is where the message comes from (a lesson's source
	// article): Discord links the title to it, Telegram and the terminal
	// show it on a last line after URLLabel.
	URL string
	// URLLabel is the visible text of the URL's line, such as "Source".
	URLLabel string
	// Meta is one short line about the message, such as a lesson's level:
	// Telegram shows it under the title, Discord in the embed footer.
	Meta string
	// Blocks are the body of the message, in order.
	Blocks []Block
	// Buttons are pressable choices shown under the message, one per row.
	Buttons []Button
	// Question tells that the buttons answer a quiz question: the terminal
	// asks such messages one at a time and reads the number of a choice.
	Question bool
	// File, when set, is a document sent with the message, such as a
	// learner's exported words: Telegram sends it as a document whose
	// caption is the message's text, Discord as an attachment, the
	// terminal writes it to a file and prints its path.
	File *File
}

// File is a document attached to a message.
type File struct {
	// Name is the file name the recipient sees, such as
	// "lessonbot-anki.txt".
	Name string
	// MIME is its media type, such as "text/csv; charset=utf-8".
	MIME string
	// Data is its content.
	Data []byte
}

// MaxFileSize is the largest File the adapters send: Discord takes 10 MiB
// without boosts (Telegram takes 50 MB), and a learner's words are far
// smaller.
const MaxFileSize = 8 << 20

// BlockKind tells an adapter how to lay out a Block.
type BlockKind int

// The kinds of block a message body is made of.
const (
	// Text is a paragraph of plain text.
	Text BlockKind = iota
	// Vocabulary is a list of terms whose translations are hidden until
	// the reader reveals them (a spoiler), headed by the block's Label.
	Vocabulary
)

// Block is one part of a message body.
type Block struct {
	// Kind says which of the fields below are used.
	Kind BlockKind
	// Label heads a Vocabulary block.
	Label string
	// Text is the paragraph of a Text block.
	Text string
	// Terms are the entries of a Vocabulary block.
	Terms []Term
}

// Term is one vocabulary entry: a word or phrase, its translations and an
// optional note.
type Term struct {
	// Term is the word or phrase in the article's language.
	Term string
	// Translations are its meanings in the learner's language.
	Translations []string
	// Note is an optional short remark on usage.
	Note string
}

// Button is a pressable choice. Data comes back with the press; adapters
// carry it opaquely, and the tutor parses it strictly because a client can
// forge it. A button with a URL opens that link instead, and nothing
// comes back.
type Button struct {
	// Label is the visible text of the button.
	Label string
	// Data identifies the press for the tutor; at most MaxButtonData bytes.
	Data string
	// URL, when set, is the link the button opens; Data is then empty.
	URL string
	// Start, when set, makes the button open the bot's private chat with
	// "/start Start" (Telegram's deep link t.me/BOT?start=Start), so that
	// someone in a group can continue alone; Data is then empty. It is 1
	// to 64 characters of A-Z, a-z, 0-9, _ and -. A platform without such
	// links shows the command to send instead.
	Start string
}

// MaxButtonData is the longest Button.Data the platforms carry: Telegram
// allows 64 bytes of callback data (Discord allows 100 for a custom id).
const MaxButtonData = 64
