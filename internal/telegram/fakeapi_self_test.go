package telegram

import (
	"errors"
	"net/http"
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
