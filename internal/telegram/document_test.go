package telegram

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// wordsFile is a learner's exported words: its name and content hold
// characters that mean something in HTML, and bytes that are not text,
// so that both must arrive exactly as they were.
func wordsFile() *chat.File {
	return &chat.File{
		Name: `words <B2> & "more".csv`,
		MIME: "text/csv; charset=utf-8",
		Data: []byte("term,translation\nfish & chips,poisson-frites\n<rely on>,compter sur\n\x00\xff\r\n"),
	}
}

// wordsMessage is a short reply that carries the words file.
func wordsMessage() chat.Message {
	return chat.Message{
		Title:   "Your words <B2> & more",
		Blocks:  []chat.Block{{Kind: chat.Text, Text: `3 words, "fish & chips" first.`}},
		Buttons: []chat.Button{{Label: "Review", Data: "review:1"}},
		File:    wordsFile(),
	}
}

// newBot makes the bot of h without running it, for Send.
func (h *harness) newBot() *Bot {
	h.t.Helper()
	b, err := New(context.Background(), h.opts, h.tutor, h.state)
	if err != nil {
		h.t.Fatal(err)
	}
	h.bot = b
	return b
}

// checkDocument checks that doc carries the file exactly and the caption
// rendered from msg (none when caption is false).
func checkDocument(t *testing.T, doc telegramtest.SentDocument, f *chat.File, msg chat.Message, caption bool) {
	t.Helper()
	if doc.Name != f.Name || !bytes.Equal(doc.Data, f.Data) {
		t.Errorf("document %q with %q, want %q with %q", doc.Name, doc.Data, f.Name, f.Data)
	}
	want := ""
	if caption {
		want = RenderHTML(msg)
	}
	if doc.Caption != want {
		t.Errorf("caption = %q, want %q", doc.Caption, want)
	}
	if caption && doc.ParseMode != "HTML" {
		t.Errorf("parse mode = %q, want HTML", doc.ParseMode)
	}
}

// TestReplyWithFile answers a command with a message that carries a file:
// one sendDocument, a real multipart upload whose bytes and name arrive
// exactly, whose caption is the message's text with its HTML escaped,
// and whose keyboard is the message's; over a socket and over the fake's
// in-process transport alike.
func TestReplyWithFile(t *testing.T) {
	for _, transport := range []string{"OverSocket", "InProcess"} {
		t.Run(transport, func(t *testing.T) {
			h := newHarness(t)
			if transport == "InProcess" {
				h.opts.HTTPClient = &http.Client{Transport: h.api.Transport(), Timeout: time.Minute}
			}
			msg := wordsMessage()
			h.tutor.handle = func(context.Context, chat.Command) []chat.Message { return []chat.Message{msg} }
			h.start()
			h.api.SendText(private, &alice, "/words")
			eventually(t, "the document", func() bool { return len(h.api.Documents()) == 1 })
			doc := h.api.Documents()[0]
			checkDocument(t, doc, msg.File, msg, true)
			if want := "Your words <B2> & more\n\n" + `3 words, "fish & chips" first.`; doc.CaptionPlain != want {
				t.Errorf("caption as Telegram reads it = %q, want %q", doc.CaptionPlain, want)
			}
			if doc.ChatID != "1001" || doc.MIME != "application/octet-stream" {
				t.Errorf("document to %q as %q", doc.ChatID, doc.MIME)
			}
			if want := [][]telegramtest.FakeButton{{{Text: "Review", CallbackData: "review:1"}}}; !equalJSON(doc.Buttons, want) {
				t.Errorf("keyboard = %+v, want %+v", doc.Buttons, want)
			}
			if n := len(h.api.Sent()); n != 0 {
				t.Errorf("%d text messages besides the document, want none", n)
			}
		})
	}
}

// TestSendFile sends scheduled messages with a file: the text is the
// document's caption when it fits one, and otherwise goes first as text
// messages, split as usual, the document after them without a caption.
// The buttons are under the document, and Send reports its id.
func TestSendFile(t *testing.T) {
	text := func(s string) []chat.Block { return []chat.Block{{Kind: chat.Text, Text: s}} }
	buttons := []chat.Button{{Label: "Done", Data: "done"}}
	article := articleMessage(9, 900)
	tests := []struct {
		name      string
		msg       chat.Message
		wantTexts int // text messages before the document
		caption   bool
	}{
		{"OKCaption", wordsMessage(), 0, true},
		{"OKCaptionAtLimit", chat.Message{Blocks: text(strings.Repeat("&", MaxCaptionLength)), Buttons: buttons, File: wordsFile()}, 0, true},
		{"OKEmojiCaptionAtLimit", chat.Message{Blocks: text(strings.Repeat("🚢", MaxCaptionLength/2)), Buttons: buttons, File: wordsFile()}, 0, true},
		{"OKTextBeforeOverCaption", chat.Message{Blocks: text(strings.Repeat("<", MaxCaptionLength+1)), Buttons: buttons, File: wordsFile()}, 1, false},
		{"OKSplitTextBefore", chat.Message{Title: article.Title, Blocks: article.Blocks, Buttons: buttons, File: wordsFile()}, len(Split(article)), false},
		{"OKFileOnly", chat.Message{File: wordsFile()}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.opts.PaidBroadcast = true
			b := h.newBot()
			topic := chat.Address{Platform: chat.Telegram, ChatID: "-100200300", ThreadID: "17"}
			id, err := b.Send(context.Background(), topic, chat.Group, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			texts, docs := h.api.Sent(), h.api.Documents()
			if len(texts) != tt.wantTexts || len(docs) != 1 {
				t.Fatalf("sent %d texts and %d documents, want %d and 1", len(texts), len(docs), tt.wantTexts)
			}
			doc := docs[0]
			checkDocument(t, doc, tt.msg.File, tt.msg, tt.caption)
			if doc.ChatID != "-100200300" || doc.ThreadID != "17" || !doc.PaidBroadcast {
				t.Errorf("document to %q thread %q, paid %v; want -100200300, 17, true", doc.ChatID, doc.ThreadID, doc.PaidBroadcast)
			}
			if id != strconv.Itoa(doc.MessageID) {
				t.Errorf("id = %s, want the document's %d", id, doc.MessageID)
			}
			if !equalJSON(doc.Buttons, keyboardOf(tt.msg.Buttons)) {
				t.Errorf("document keyboard = %+v, want the message's %+v", doc.Buttons, tt.msg.Buttons)
			}
			for i, m := range texts {
				if m.MessageID > doc.MessageID || m.Buttons != nil || m.ThreadID != "17" {
					t.Errorf("text %d: id %d (document %d), buttons %v, thread %q; want it before the document, without buttons, in the topic", i, m.MessageID, doc.MessageID, m.Buttons, m.ThreadID)
				}
			}
			if tt.wantTexts > 0 {
				if parts := Split(tt.msg); !equalJSON(textsOf(texts), parts) {
					t.Errorf("texts = %q, want Split's %q", textsOf(texts), parts)
				}
			}
		})
	}
}

// keyboardOf is how the fake records data buttons, one per row.
func keyboardOf(buttons []chat.Button) [][]telegramtest.FakeButton {
	var rows [][]telegramtest.FakeButton
	for _, b := range buttons {
		rows = append(rows, []telegramtest.FakeButton{{Text: b.Label, CallbackData: b.Data}})
	}
	return rows
}

func textsOf(sent []telegramtest.SentMessage) []string {
	var out []string
	for _, m := range sent {
		out = append(out, m.Text)
	}
	return out
}

// TestSendFileErrors sorts sendDocument's answers as sendMessage's (the
// library leaves the error code out of an upload's errors), and refuses
// a message that cannot be posted as it is before sending any of it.
func TestSendFileErrors(t *testing.T) {
	tooBig := &chat.File{Name: "big.txt", Data: make([]byte, chat.MaxFileSize+1)}
	tests := []struct {
		name    string
		answer  *telegramtest.APIError
		msg     chat.Message
		want    chat.ErrorKind
		movedTo string
	}{
		{"RateLimited", telegramtest.ErrTooManyRequests(7), wordsMessage(), chat.RateLimited, ""},
		{"Blocked", telegramtest.ErrBlocked(), wordsMessage(), chat.ChatGone, ""},
		{"ForbiddenOtherwise", &telegramtest.APIError{Code: 403, Description: "Forbidden: bot can't initiate conversation with a user"}, wordsMessage(), chat.ChatGone, ""},
		{"ChatNotFound", telegramtest.ErrChatNotFound(), wordsMessage(), chat.ChatGone, ""},
		{"Migrated", telegramtest.ErrMigrated(-1009876543210), wordsMessage(), chat.ChatMoved, "-1009876543210"},
		{"CantParseEntities", telegramtest.ErrParseEntities(), wordsMessage(), chat.Rejected, ""},
		{"ServerError", telegramtest.ErrServer(), wordsMessage(), chat.Transient, ""},
		{"Unauthorized", &telegramtest.APIError{Code: 401, Description: "Unauthorized"}, wordsMessage(), chat.Transient, ""},
		{"RejectedEmptyFile", nil, chat.Message{File: &chat.File{Name: "empty.txt"}}, chat.Rejected, ""},
		{"RejectedFileTooBig", nil, chat.Message{File: tooBig}, chat.Rejected, ""},
		{"RejectedBadStartPayload", nil, chat.Message{Blocks: textMessages("hi")[0].Blocks, Buttons: []chat.Button{{Label: "Go", Start: "not/ok"}}, File: wordsFile()}, chat.Rejected, ""},
		{"RejectedTwoActions", nil, chat.Message{Blocks: textMessages("hi")[0].Blocks, Buttons: []chat.Button{{Label: "Go", Data: "go", URL: "https://example.org"}}}, chat.Rejected, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			b := h.newBot()
			h.api.Fail("sendDocument", func(url.Values) *telegramtest.APIError { return tt.answer })
			_, err := b.Send(context.Background(), to, chat.Private, tt.msg)
			var se *chat.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send = %v, want a *chat.SendError", err)
			}
			if se.Kind != tt.want || se.MovedTo != tt.movedTo {
				t.Errorf("Send = kind %v, moved to %q; want %v, %q (%v)", se.Kind, se.MovedTo, tt.want, tt.movedTo, err)
			}
			if tt.want == chat.RateLimited && se.RetryAfter != 7*time.Second {
				t.Errorf("retry after %v, want 7s", se.RetryAfter)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("the error shows the token: %v", err)
			}
			if n, m := len(h.api.Sent()), len(h.api.Documents()); n+m != 0 {
				t.Errorf("%d texts and %d documents arrived, want none", n, m)
			}
		})
	}
}

// TestFileReplyPacing sends a reply whose long text goes before its file:
// every Bot API message takes a turn from the pacer, a 429 on the
// document pauses the pacer and the document is sent again, and a chat
// found moved or gone on the document is handed to the tutor.
func TestFileReplyPacing(t *testing.T) {
	article := articleMessage(9, 900)
	msg := chat.Message{Title: article.Title, Blocks: article.Blocks, File: wordsFile()}
	parts := len(Split(msg))
	t.Run("OKRetried", func(t *testing.T) {
		h := newHarness(t)
		pacer := &pacerLog{}
		h.opts.Pacer = pacer
		calls := 0
		h.api.Fail("sendDocument", func(url.Values) *telegramtest.APIError {
			calls++
			if calls == 1 {
				return telegramtest.ErrTooManyRequests(1)
			}
			return nil
		})
		h.tutor.handle = func(context.Context, chat.Command) []chat.Message { return []chat.Message{msg} }
		h.start()
		h.api.SendText(private, &alice, "/words")
		eventually(t, "the document", func() bool { return len(h.api.Documents()) == 1 })
		if n := len(h.api.Sent()); n != parts {
			t.Errorf("%d texts before the document, want %d", n, parts)
		}
		pacer.mu.Lock()
		defer pacer.mu.Unlock()
		if len(pacer.replies) != parts+2 || len(pacer.pauses) != 1 || pacer.pauses[0] != time.Second {
			t.Errorf("pacer asked for %d turns and %v pauses, want %d turns and one pause of 1s", len(pacer.replies), pacer.pauses, parts+2)
		}
		if strings.Contains(h.logs.String(), "sending a reply failed") {
			t.Error("a reply that arrived was logged as failed")
		}
	})
	t.Run("OKChatMoved", func(t *testing.T) {
		h := newHarness(t)
		h.opts.Pacer = &pacerLog{}
		h.api.Fail("sendDocument", func(form url.Values) *telegramtest.APIError {
			if form.Get("chat_id") == "-4400" {
				return telegramtest.ErrMigrated(-1004400)
			}
			return nil
		})
		h.tutor.handle = func(context.Context, chat.Command) []chat.Message { return []chat.Message{wordsMessage()} }
		h.start()
		h.api.SendText(oldGrp, &alice, "/words")
		eventually(t, "the document", func() bool { return len(h.api.Documents()) == 1 })
		if doc := h.api.Documents()[0]; doc.ChatID != "-1004400" {
			t.Errorf("document sent to %s, want the supergroup -1004400", doc.ChatID)
		}
		if moved := h.tutor.Moved(); len(moved) != 1 || moved[0] != [2]string{"-4400", "-1004400"} {
			t.Errorf("tutor told of moves %v, want -4400 → -1004400", moved)
		}
	})
	t.Run("ErrChatGone", func(t *testing.T) {
		h := newHarness(t)
		h.opts.Pacer = &pacerLog{}
		h.api.Fail("sendDocument", func(url.Values) *telegramtest.APIError { return telegramtest.ErrBlocked() })
		h.tutor.handle = func(context.Context, chat.Command) []chat.Message { return []chat.Message{wordsMessage()} }
		h.start()
		h.api.SendText(private, &alice, "/words")
		eventually(t, "the tutor told", func() bool { return len(h.tutor.Gone()) == 1 })
		if gone := h.tutor.Gone(); gone[0].ChatID != "1001" {
			t.Errorf("tutor told chat %q is gone, want 1001", gone[0].ChatID)
		}
	})
}

// TestLinkButtons renders URL and Start buttons as url buttons, without
// callback data, next to callback buttons, under a text and under a
// document alike; a Start button links to the bot's private chat.
func TestLinkButtons(t *testing.T) {
	buttons := []chat.Button{
		{Label: "Quiz", Data: "quiz:fish"},
		{Label: "Article & more", URL: "https://example.org/news/fish?id=7&page=2"},
		{Label: "Continue alone", Start: "words_fr-2"},
	}
	want := [][]telegramtest.FakeButton{
		{{Text: "Quiz", CallbackData: "quiz:fish"}},
		{{Text: "Article & more", URL: "https://example.org/news/fish?id=7&page=2"}},
		{{Text: "Continue alone", URL: "https://t.me/LessonTestBot?start=words_fr-2"}},
	}
	tests := []struct {
		name string
		file *chat.File
	}{
		{"OKUnderText", nil},
		{"OKUnderDocument", wordsFile()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			b := h.newBot()
			if b.Username() != "LessonTestBot" {
				t.Fatalf("username = %q", b.Username())
			}
			msg := chat.Message{Blocks: textMessages("Pick one.")[0].Blocks, Buttons: buttons, File: tt.file}
			if _, err := b.Send(context.Background(), to, chat.Private, msg); err != nil {
				t.Fatal(err)
			}
			var got [][]telegramtest.FakeButton
			var raw string
			if tt.file == nil {
				sent := h.api.Sent()
				got, raw = sent[0].Buttons, sent[0].ReplyMarkupRaw
			} else {
				docs := h.api.Documents()
				got, raw = docs[0].Buttons, docs[0].ReplyMarkupRaw
			}
			if !equalJSON(got, want) {
				t.Errorf("keyboard = %+v, want %+v", got, want)
			}
			if n := strings.Count(raw, "callback_data"); n != 1 {
				t.Errorf("reply_markup %s has %d callback_data, want the data button's only", raw, n)
			}
		})
	}
}

// TestStartPayload accepts what Telegram carries after /start in a deep
// link, and refuses the rest before anything is sent.
func TestStartPayload(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		ok      bool
	}{
		{"OKOneChar", "a", true},
		{"OKAllClasses", "Words_fr-2026", true},
		{"OKLongest", strings.Repeat("x", 64), true},
		{"ErrTooLong", strings.Repeat("x", 65), false},
		{"ErrSpace", "my words", false},
		{"ErrSlash", "a/b", false},
		{"ErrQuery", "a&start=b", false},
		{"ErrEquals", "a=b", false},
		{"ErrAccent", "café", false},
		{"ErrHTML", "<b>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &Bot{}
			b.self.UserName = "LessonTestBot"
			_, err := b.keyboard([]chat.Button{{Label: "Go", Start: tt.payload}})
			if (err == nil) != tt.ok {
				t.Errorf("keyboard with start %q: %v, want ok %v", tt.payload, err, tt.ok)
			}
		})
	}
	t.Run("ErrSentNothing", func(t *testing.T) {
		h := newHarness(t)
		b := h.newBot()
		msg := chat.Message{Blocks: textMessages("Continue in private.")[0].Blocks, Buttons: []chat.Button{{Label: "Go", Start: "a b"}}}
		_, err := b.Send(context.Background(), to, chat.Private, msg)
		if k := chat.KindOf(err); k != chat.Rejected || !strings.Contains(err.Error(), "start payload") {
			t.Errorf("Send = %v (%v), want rejected for its start payload", err, k)
		}
		if n := len(h.api.Sent()); n != 0 {
			t.Errorf("%d messages arrived, want none", n)
		}
	})
	t.Run("ErrReplyLogged", func(t *testing.T) {
		h := newHarness(t)
		h.tutor.handle = func(context.Context, chat.Command) []chat.Message {
			return []chat.Message{{Blocks: textMessages("x")[0].Blocks, Buttons: []chat.Button{{Label: "Go", Start: "a b"}}}}
		}
		h.start()
		h.api.SendText(group, &alice, "/words")
		eventually(t, "the failure in the log", func() bool { return strings.Contains(h.logs.String(), "sending a reply failed") })
		if n := len(h.api.Sent()); n != 0 {
			t.Errorf("%d messages arrived, want none", n)
		}
	})
}
