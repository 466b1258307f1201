package telegram

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// TestFakeAPIWireFormat drives the fake with tgbotapi's own calls, so
// that the fake's answers are what the library decodes.
func TestFakeAPIWireFormat(t *testing.T) {
	api := telegramtest.NewFakeAPI(testToken)
	srv := api.Server(t)
	bot, err := tgbotapi.NewBotAPIWithClient(testToken, endpoint(srv.URL), &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if bot.Self.UserName != api.BotName || bot.Self.ID != api.BotID {
		t.Errorf("getMe = %+v", bot.Self)
	}
	msg := tgbotapi.NewMessage(1001, "<b>bold</b> &amp; plain")
	msg.ParseMode = tgbotapi.ModeHTML
	msg.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Yes", "y")))
	sent, err := bot.Send(msg)
	if err != nil {
		t.Fatal(err)
	}
	if sent.MessageID != 1 || sent.Chat.ID != 1001 || sent.Text != "bold & plain" {
		t.Errorf("sendMessage = %+v", sent)
	}
	edit := tgbotapi.NewEditMessageReplyMarkup(1001, sent.MessageID, tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("No", "n"))))
	if _, err := bot.Request(edit); err != nil {
		t.Fatal(err)
	}
	if e := api.Edits(); len(e) != 1 || e[0].Get("message_id") != "1" || e[0].Get("reply_markup") == "" {
		t.Errorf("edits = %v", e)
	}
	api.SetMember(-5, 7, "creator")
	member, err := bot.GetChatMember(tgbotapi.GetChatMemberConfig{ChatConfigWithUser: tgbotapi.ChatConfigWithUser{ChatID: -5, UserID: 7}})
	if err != nil || member.Status != "creator" {
		t.Errorf("getChatMember = %+v, %v", member, err)
	}
	// Bad HTML, as Telegram refuses it.
	bad := tgbotapi.NewMessage(1001, "<blink>x</blink>")
	bad.ParseMode = tgbotapi.ModeHTML
	_, err = bot.Send(bad)
	var tgErr *tgbotapi.Error
	if !errors.As(err, &tgErr) || tgErr.Code != 400 {
		t.Errorf("bad HTML: %v, want a 400", err)
	}
	id := api.SendText(private, &alice, "/start")
	updates, err := bot.GetUpdates(tgbotapi.UpdateConfig{Offset: 0})
	if err != nil || len(updates) != 1 || updates[0].UpdateID != id || updates[0].Message.Command() != "start" {
		t.Errorf("getUpdates = %+v, %v", updates, err)
	}
	updates, err = bot.GetUpdates(tgbotapi.UpdateConfig{Offset: id + 1})
	if err != nil || len(updates) != 0 {
		t.Errorf("getUpdates after the offset = %+v, %v", updates, err)
	}
}

// TestFakeAPIDocument drives the fake's sendDocument with tgbotapi's own
// upload, and checks that it refuses what Telegram refuses.
func TestFakeAPIDocument(t *testing.T) {
	api := telegramtest.NewFakeAPI(testToken)
	srv := api.Server(t)
	bot, err := tgbotapi.NewBotAPIWithClient(testToken, endpoint(srv.URL), &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	document := func(caption string, markup any) tgbotapi.DocumentConfig {
		doc := tgbotapi.NewDocument(1001, tgbotapi.FileBytes{Name: "words.csv", Bytes: []byte("a,b\n")})
		doc.Caption, doc.ParseMode, doc.ReplyMarkup = caption, tgbotapi.ModeHTML, markup
		return doc
	}
	t.Run("OK", func(t *testing.T) {
		link := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonURL("Open", "tg://resolve?domain=LessonTestBot")))
		sent, err := bot.Send(document("<b>Your</b> words &amp; more", link))
		if err != nil {
			t.Fatal(err)
		}
		d := sent.Document
		if d == nil || d.FileName != "words.csv" || d.FileSize != 4 || d.FileID == "" || sent.Caption != "Your words & more" {
			t.Errorf("sendDocument = %+v with %+v", sent, d)
		}
		docs := api.Documents()
		if len(docs) != 1 || string(docs[0].Data) != "a,b\n" || docs[0].Buttons[0][0].URL != "tg://resolve?domain=LessonTestBot" {
			t.Errorf("documents = %+v", docs)
		}
	})
	tests := []struct {
		name   string
		doc    tgbotapi.DocumentConfig
		reason string
	}{
		{"ErrCaptionTooLong", document(strings.Repeat("x", 1025), nil), "caption is too long"},
		{"ErrBadHTML", document("<blink>x</blink>", nil), "can't parse entities"},
		{"ErrURLAndData", document("x", json.RawMessage(`{"inline_keyboard":[[{"text":"a","url":"https://example.org","callback_data":"d"}]]}`)), "Exactly one"},
		{"ErrBadURL", document("x", tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonURL("a", "javascript:alert(1)")))), "BUTTON_URL_INVALID"},
		{"ErrEmptyFile", func() tgbotapi.DocumentConfig {
			d := document("x", nil)
			d.File = tgbotapi.FileBytes{Name: "empty.txt"}
			return d
		}(), "file must be non-empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bot.Send(tt.doc)
			var tgErr *tgbotapi.Error
			if !errors.As(err, &tgErr) || !strings.Contains(tgErr.Message, tt.reason) {
				t.Errorf("sendDocument = %v, want a refusal for %q", err, tt.reason)
			}
		})
	}
	t.Run("ErrNoDocument", func(t *testing.T) {
		_, err := bot.MakeRequest("sendDocument", tgbotapi.Params{"chat_id": "1001"})
		var tgErr *tgbotapi.Error
		if !errors.As(err, &tgErr) || tgErr.Code != 400 {
			t.Errorf("sendDocument without a file = %v, want a 400", err)
		}
	})
	t.Run("RateLimitedWithMessages", func(t *testing.T) {
		api.LimitSends(0.001, 1, 3)
		if _, err := bot.Send(tgbotapi.NewMessage(1001, "first")); err != nil {
			t.Fatal(err)
		}
		_, err := bot.Send(document("x", nil))
		var tgErr *tgbotapi.Error
		if !errors.As(err, &tgErr) || tgErr.RetryAfter != 3 || api.RateLimited() != 1 {
			t.Errorf("sendDocument past the limit = %v (%d limited), want a 429 with retry_after 3", err, api.RateLimited())
		}
	})
}
