package discord

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode/utf16"

	"github.com/bwmarrin/discordgo"
	"github.com/lessonbot/lessonbot/internal/chat"
)

// Discord's limits on a message, in characters (UTF-16 code units).
const (
	// MaxContent is the longest text of one message.
	MaxContent = 2000
	// MaxButtonLabel is the longest label of a button.
	MaxButtonLabel = 80
	// MaxCustomID is the longest custom_id of a button, in bytes.
	MaxCustomID = 100
	// MaxButtonURL is the longest URL of a link button.
	MaxButtonURL = 512
	// maxButtonsPerRow and maxRows bound the buttons of one message.
	maxButtonsPerRow = 5
	maxRows          = 5
)

// outgoing is one Discord message: text or one embed, its buttons, and
// the file attached to it, if any.
type outgoing struct {
	Content    string
	Embed      *discordgo.MessageEmbed
	Components []discordgo.MessageComponent
	File       *chat.File
}

// files is the attachment of the message as discordgo uploads it (a
// multipart/form-data body with payload_json and files[0]), or nil. Each
// call reads the data afresh, so that a message sent again (a retried
// delivery) carries the whole file again.
func (p outgoing) files() []*discordgo.File {
	if p.File == nil {
		return nil
	}
	return []*discordgo.File{{Name: p.File.Name, ContentType: p.File.MIME, Reader: bytes.NewReader(p.File.Data)}}
}

// noMentions is the allowed_mentions of everything the bot sends: no
// mention parsed, so that echoed text can never ping anyone.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// renderMessage lays out a message as one or more Discord messages. A
// message with a Title is one embed (see RenderEmbed), unless asText is
// set or the embed would break a Discord limit; any other message is
// text, escaped, split at block and then line boundaries into messages
// of at most MaxContent characters. The buttons, and the file, go with
// the last one; a message with a file and no text is the file alone.
func renderMessage(m chat.Message, asText bool) ([]outgoing, error) {
	comps, err := components(m.Buttons)
	if err != nil {
		return nil, err
	}
	file, err := attachment(m.File)
	if err != nil {
		return nil, err
	}
	if m.Title != "" && !asText {
		if e := RenderEmbed(m); CheckEmbed(e) == nil {
			return []outgoing{{Embed: e, Components: comps, File: file}}, nil
		}
	}
	texts := splitText(paragraphs(m), MaxContent)
	if len(texts) == 0 && file != nil {
		texts = []string{""}
	}
	if len(texts) == 0 {
		return nil, errors.New("discord: the message has no text")
	}
	out := make([]outgoing, len(texts))
	for i, t := range texts {
		out[i].Content = t
	}
	out[len(out)-1].Components = comps
	out[len(out)-1].File = file
	return out, nil
}

// attachment checks a message's file: at most chat.MaxFileSize bytes,
// named by a plain file name (Discord shows the name, and a path in it
// would be cut anyway).
func attachment(f *chat.File) (*chat.File, error) {
	if f == nil {
		return nil, nil
	}
	if len(f.Data) > chat.MaxFileSize {
		return nil, fmt.Errorf("discord: file %q of %d bytes (at most %d)", f.Name, len(f.Data), chat.MaxFileSize)
	}
	name := path.Base(strings.ReplaceAll(strings.TrimSpace(f.Name), "\\", "/"))
	if name == "." || name == "/" || name == ".." {
		name = "file"
	}
	return &chat.File{Name: name, MIME: f.MIME, Data: f.Data}, nil
}

// components lays out buttons, at most maxButtonsPerRow to an action row,
// in their order: a button with data as a button whose custom_id carries
// it, a button with a URL as a link button.
func components(buttons []chat.Button) ([]discordgo.MessageComponent, error) {
	var kept []chat.Button
	for _, b := range buttons {
		// A Start button is Telegram's deep link into the bot's private
		// chat. Discord has no link that opens a DM with the bot and runs
		// a command there, and the tutor does not send such buttons on
		// Discord; should one come, it is dropped (Bot.render logs it
		// once) rather than failing the whole message.
		if b.Start != "" {
			continue
		}
		kept = append(kept, b)
	}
	buttons = kept
	if len(buttons) > maxButtonsPerRow*maxRows {
		return nil, fmt.Errorf("discord: %d buttons (at most %d)", len(buttons), maxButtonsPerRow*maxRows)
	}
	comps := []discordgo.MessageComponent{}
	seen := map[string]bool{}
	var row discordgo.ActionsRow
	for _, b := range buttons {
		if b.URL != "" {
			if err := checkButtonURL(b.URL); err != nil {
				return nil, err
			}
			row.Components = append(row.Components, discordgo.Button{
				Label: clip(b.Label, MaxButtonLabel), Style: discordgo.LinkButton, URL: b.URL,
			})
		} else {
			if b.Data == "" || len(b.Data) > MaxCustomID {
				return nil, fmt.Errorf("discord: button data of %d bytes (want 1 to %d)", len(b.Data), MaxCustomID)
			}
			if seen[b.Data] {
				return nil, fmt.Errorf("discord: two buttons with data %q", b.Data)
			}
			seen[b.Data] = true
			row.Components = append(row.Components, discordgo.Button{
				Label: clip(b.Label, MaxButtonLabel), Style: discordgo.SecondaryButton, CustomID: b.Data,
			})
		}
		if len(row.Components) == maxButtonsPerRow {
			comps = append(comps, row)
			row = discordgo.ActionsRow{}
		}
	}
	if len(row.Components) > 0 {
		comps = append(comps, row)
	}
	return comps, nil
}

// checkButtonURL returns an error unless Discord takes u as a link
// button's URL: http, https or discord, at most MaxButtonURL characters.
func checkButtonURL(u string) error {
	if n := length(u); n > MaxButtonURL {
		return fmt.Errorf("discord: button URL of %d characters (at most %d)", n, MaxButtonURL)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("discord: button URL: %w", err)
	}
	switch parsed.Scheme {
	case "http", "https":
		if parsed.Host == "" {
			return fmt.Errorf("discord: button URL %q has no host", u)
		}
	case "discord":
	default:
		return fmt.Errorf("discord: button URL %q is not http(s) or discord", u)
	}
	return nil
}

// clip shortens s to at most max characters, ending it with "…" when
// cut; an empty label becomes "…" since Discord refuses empty ones.
func clip(s string, max int) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "…"
	}
	if length(s) <= max {
		return s
	}
	return cutUTF16(s, max-1) + "…"
}

// cutUTF16 returns the longest prefix of s of at most max UTF-16 code
// units that does not split a character.
func cutUTF16(s string, max int) string {
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if n+w > max {
			return s[:i]
		}
		n += w
	}
	return s
}

// line is one line of a text message, formatted. A plain line keeps its
// raw text, so that a line too long for one message is cut between words
// and each part escaped where it lands.
type line struct {
	text  string
	raw   string
	plain bool
}

func plainLine(raw string) line { return line{text: Escape(raw), raw: raw, plain: true} }

// paragraphs lays out a message as text: the title in bold with the meta
// line in italics, each text block, each vocabulary block with its label
// in bold and the translations in spoilers, and the source link.
func paragraphs(m chat.Message) [][]line {
	var paras [][]line
	if m.Title != "" || m.Meta != "" {
		var p []line
		if m.Title != "" {
			p = append(p, line{text: "**" + Escape(m.Title) + "**"})
		}
		if m.Meta != "" {
			p = append(p, line{text: "*" + Escape(m.Meta) + "*"})
		}
		paras = append(paras, p)
	}
	for _, b := range m.Blocks {
		switch b.Kind {
		case chat.Text:
			if strings.TrimSpace(b.Text) == "" {
				continue
			}
			var p []line
			for _, l := range strings.Split(b.Text, "\n") {
				p = append(p, plainLine(l))
			}
			paras = append(paras, p)
		case chat.Vocabulary:
			if len(b.Terms) == 0 {
				continue
			}
			var p []line
			if b.Label != "" {
				p = append(p, line{text: "**" + Escape(b.Label) + "**"})
			}
			for _, t := range b.Terms {
				p = append(p, line{text: vocabLine(t)})
			}
			paras = append(paras, p)
		}
	}
	if m.URL != "" {
		link := "<" + m.URL + ">"
		if strings.ContainsAny(m.URL, "<> \n") {
			link = Escape(m.URL)
		}
		if m.URLLabel != "" {
			link = Escape(m.URLLabel) + ": " + link
		}
		paras = append(paras, []line{{text: link}})
	}
	return paras
}

// splitText joins paragraphs with a blank line into messages of at most
// max characters: a paragraph goes whole into a message when it fits one,
// else line by line, filling the message under way, and a line longer
// than the room left is cut between words.
func splitText(paras [][]line, max int) []string {
	var out []string
	var cur strings.Builder
	curLen := 0
	add := func(sep, s string) {
		n := length(s)
		if cur.Len() > 0 && curLen+length(sep)+n <= max {
			cur.WriteString(sep)
			cur.WriteString(s)
			curLen += length(sep) + n
			return
		}
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
		cur.WriteString(s)
		curLen = n
	}
	room := func(sep string) int {
		if cur.Len() == 0 {
			return max
		}
		return max - curLen - length(sep)
	}
	for _, p := range paras {
		texts := make([]string, len(p))
		for i, l := range p {
			texts[i] = l.text
		}
		if whole := strings.Join(texts, "\n"); length(whole) <= max {
			add("\n\n", whole)
			continue
		}
		sep := "\n\n"
		for _, l := range p {
			for _, part := range fitLine(l, room(sep), max) {
				add(sep, part)
				sep = "\n"
			}
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// fitLine cuts a line into parts of at most max characters, the first of
// at most room when anything fits there: a plain line between words
// (within a word only when one word is longer than a message), each part
// escaped where it lands; a formatted line anywhere between characters.
func fitLine(l line, room, max int) []string {
	if length(l.text) <= max {
		return []string{l.text}
	}
	capacity := room
	if capacity <= 0 || capacity > max {
		capacity = max
	}
	if !l.plain {
		var parts []string
		for s := l.text; s != ""; capacity = max {
			part := cutUTF16(s, capacity)
			if part == "" {
				part = cutUTF16(s, max)
			}
			parts = append(parts, part)
			s = s[len(part):]
		}
		return parts
	}
	var parts []string
	var cur string
	flush := func() {
		if strings.TrimSpace(cur) != "" {
			parts = append(parts, Escape(strings.TrimRight(cur, " ")))
			capacity = max
		}
		cur = ""
	}
	for _, word := range strings.SplitAfter(l.raw, " ") {
		if length(Escape(cur+word)) <= capacity {
			cur += word
			continue
		}
		if strings.TrimSpace(cur) == "" {
			// Not even this word fits the room left: start a message.
			capacity = max
			if length(Escape(cur+word)) <= capacity {
				cur += word
				continue
			}
		}
		flush()
		for length(Escape(word)) > max {
			// One word longer than a message: cut it where its escaped
			// form fills the message.
			n := longestEscaped(word, max)
			cur = word[:n]
			flush()
			word = word[n:]
		}
		cur = word
	}
	flush()
	return parts
}

// longestEscaped returns the length in bytes of the longest prefix of s,
// whole characters, whose escaped form fits max characters (at least one
// character, so that cutting always moves on).
func longestEscaped(s string, max int) int {
	// A prefix of more than max characters cannot fit: look no further.
	var starts []int
	for i := range s {
		if len(starts) > max {
			break
		}
		starts = append(starts, i)
	}
	if len(starts) <= max {
		starts = append(starts, len(s))
	}
	lo, hi := 1, len(starts)-1 // prefixes s[:starts[k]]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if length(Escape(s[:starts[mid]])) <= max {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return starts[lo]
}
