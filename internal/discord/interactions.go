package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/timezone"
)

// response is the first answer to an interaction. It is written here
// rather than with discordgo.InteractionResponse so that an autocomplete
// answer with no match still carries "choices": [].
type response struct {
	Type discordgo.InteractionResponseType `json:"type"`
	Data *responseData                     `json:"data,omitempty"`
}

type responseData struct {
	Flags           discordgo.MessageFlags                       `json:"flags,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions            `json:"allowed_mentions,omitempty"`
	Choices         *[]*discordgo.ApplicationCommandOptionChoice `json:"choices,omitempty"`
}

// deferred is the answer "thinking…" that buys the tutor 15 minutes
// instead of 3 seconds; the reply then edits it.
func deferred(ephemeral bool) response {
	d := &responseData{AllowedMentions: noMentions()}
	if ephemeral {
		d.Flags = discordgo.MessageFlagsEphemeral
	}
	return response{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource, Data: d}
}

// respondFunc sends the first answer to an interaction: over REST for the
// gateway, in the HTTP response for the interactions endpoint.
type respondFunc func(r response) error

// onInteraction handles an INTERACTION_CREATE from the gateway.
func (b *Bot) onInteraction(s *discordgo.Session, ic *discordgo.InteractionCreate) {
	b.handle("interaction", func(ctx context.Context) {
		i := ic.Interaction
		if i == nil {
			return
		}
		then := b.interaction(i, func(r response) error {
			endpoint := discordgo.EndpointInteractionResponse(i.ID, i.Token)
			_, err := s.RequestWithBucketID(http.MethodPost, endpoint, r, endpoint, discordgo.WithContext(ctx))
			return b.red.Error(err)
		})
		if then != nil {
			then(ctx)
		}
	})
}

// interaction answers an interaction at once, well within Discord's 3
// seconds, and returns the rest of the work to run once the answer is
// sent, or nil. Commands and presses are deferred, then the tutor's reply
// edits the deferred answer, and any further message is a follow-up.
func (b *Bot) interaction(i *discordgo.Interaction, respond respondFunc) (then func(ctx context.Context)) {
	switch i.Type {
	case discordgo.InteractionPing:
		if err := respond(response{Type: discordgo.InteractionResponsePong}); err != nil {
			b.log.Warn("answering a ping failed", "err", err)
		}
		return nil
	case discordgo.InteractionApplicationCommand:
		return b.command(i, respond)
	case discordgo.InteractionApplicationCommandAutocomplete:
		b.autocomplete(i, respond)
		return nil
	case discordgo.InteractionMessageComponent:
		return b.press(i, respond)
	}
	b.log.Warn("ignoring an interaction of an unknown type", "type", int(i.Type))
	return nil
}

func (b *Bot) command(i *discordgo.Interaction, respond respondFunc) func(ctx context.Context) {
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return nil
	}
	name := strings.ToLower(data.Name)
	info, known := b.commands[name]
	if !known {
		info = chat.CommandInfo{Name: name}
	}
	cmd := chat.Command{
		Chat: address(i), Kind: kind(i), From: user(i),
		Name: name, Args: commandArgs(info, data.Options), CanManage: canManage(i),
	}
	b.remember(i)
	ephemeral := b.ephemeral(info, cmd)
	if err := respond(deferred(ephemeral)); err != nil {
		b.log.Error("answering a command failed", "command", name, "platform", cmd.Chat.Platform, "chat_id", cmd.Chat.ChatID, "err", err)
		return nil
	}
	return func(ctx context.Context) {
		var msgs []chat.Message
		if !b.protect("command /"+name, func() { msgs = b.tutor.Handle(ctx, cmd) }) {
			msgs = []chat.Message{textMessage(trouble(i.Locale))}
		}
		b.reply(ctx, i, msgs, ephemeral, false)
	}
}

// ephemeral tells which command replies only their sender sees: the admin
// commands'; outside a DM, a private command's (a learner's own review,
// words or data, which others in the channel have no business seeing);
// and those of a settings command that the tutor will refuse (in a
// server, from a member without Manage Server who is no admin). A group
// DM counts as shared, like a server's channel.
func (b *Bot) ephemeral(info chat.CommandInfo, cmd chat.Command) bool {
	if info.Admin {
		return true
	}
	if info.Private && cmd.Kind != chat.Private {
		return true
	}
	return info.Manage && cmd.Kind != chat.Private && !cmd.CanManage && !b.admins[cmd.From.ID]
}

func (b *Bot) press(i *discordgo.Interaction, respond respondFunc) func(ctx context.Context) {
	data, ok := i.Data.(discordgo.MessageComponentInteractionData)
	if !ok {
		return nil
	}
	p := chat.Press{Chat: address(i), Kind: kind(i), From: user(i), Data: data.CustomID}
	b.remember(i)
	if err := respond(deferred(true)); err != nil {
		b.log.Error("answering a button press failed", "platform", p.Chat.Platform, "chat_id", p.Chat.ChatID, "err", err)
		return nil
	}
	return func(ctx context.Context) {
		var reply chat.PressReply
		if !b.protect("press", func() { reply = b.tutor.Press(ctx, p) }) {
			reply = chat.PressReply{Notice: trouble(i.Locale)}
		}
		var msgs []chat.Message
		if reply.Notice != "" {
			msgs = append(msgs, textMessage(reply.Notice))
		}
		msgs = append(msgs, reply.Messages...)
		// As text: the full article goes in messages of at most 2000
		// characters, cut at paragraph boundaries.
		b.reply(ctx, i, msgs, true, true)
	}
}

func (b *Bot) autocomplete(i *discordgo.Interaction, respond respondFunc) {
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return
	}
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	for _, o := range data.Options {
		if o == nil || !o.Focused || o.Name != "timezone" {
			continue
		}
		query, _ := o.Value.(string)
		for _, z := range timezone.Suggest(query, maxChoices) {
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: z, Value: z})
		}
	}
	r := response{Type: discordgo.InteractionApplicationCommandAutocompleteResult, Data: &responseData{Choices: &choices}}
	if err := respond(r); err != nil {
		b.log.Warn("answering an autocomplete failed", "err", err)
	}
}

// reply sends the tutor's messages as the answer to an interaction: the
// first edits the deferred answer, the others are follow-ups (the quiz
// questions of /lesson among them, which keeps their buttons pressable
// without the bot needing the Send Messages permission). A message's file
// is attached to the Discord message that carries its last part, and
// goes ephemeral with it when the answer is.
func (b *Bot) reply(ctx context.Context, i *discordgo.Interaction, msgs []chat.Message, ephemeral, asText bool) {
	var pieces []outgoing
	for _, m := range msgs {
		ps, err := b.render(m, asText)
		if err != nil {
			b.log.Error("a reply could not be laid out for Discord", "err", err)
			continue
		}
		pieces = append(pieces, ps...)
	}
	opt := discordgo.WithContext(ctx)
	if len(pieces) == 0 {
		if err := b.s.InteractionResponseDelete(i, opt); err != nil {
			b.log.Warn("removing an empty reply failed", "err", b.red.Error(err))
		}
		return
	}
	if _, err := b.s.InteractionResponseEdit(i, pieces[0].edit(), opt); err != nil {
		b.log.Error("editing an interaction's answer failed", "platform", address(i).Platform, "chat_id", address(i).ChatID, "err", b.red.Error(err))
		return
	}
	for _, p := range pieces[1:] {
		if _, err := b.s.FollowupMessageCreate(i, true, p.followup(ephemeral), opt); err != nil {
			b.log.Error("sending a follow-up failed", "platform", address(i).Platform, "chat_id", address(i).ChatID, "err", b.red.Error(err))
			return
		}
	}
}

func (p outgoing) edit() *discordgo.WebhookEdit {
	e := &discordgo.WebhookEdit{AllowedMentions: noMentions(), Files: p.files()}
	if p.Content != "" {
		content := p.Content
		e.Content = &content
	}
	embeds := []*discordgo.MessageEmbed{}
	if p.Embed != nil {
		embeds = append(embeds, p.Embed)
	}
	e.Embeds = &embeds
	comps := p.Components
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	e.Components = &comps
	return e
}

func (p outgoing) followup(ephemeral bool) *discordgo.WebhookParams {
	w := &discordgo.WebhookParams{Content: p.Content, Components: p.Components, AllowedMentions: noMentions(), Files: p.files()}
	if w.Components == nil {
		w.Components = []discordgo.MessageComponent{}
	}
	if p.Embed != nil {
		w.Embeds = []*discordgo.MessageEmbed{p.Embed}
	}
	if ephemeral {
		w.Flags = discordgo.MessageFlagsEphemeral
	}
	return w
}

// address is the chat of an interaction: its channel (a server's channel,
// a thread, or a DM).
func address(i *discordgo.Interaction) chat.Address {
	return chat.Address{Platform: chat.Discord, ChatID: i.ChannelID}
}

// kind is a DM with the bot Private; a server's channel, or a group DM,
// is a Group, whose settings only its managers change.
func kind(i *discordgo.Interaction) chat.Kind {
	if i.GuildID == "" && i.Context != discordgo.InteractionContextPrivateChannel {
		return chat.Private
	}
	return chat.Group
}

func user(i *discordgo.Interaction) chat.User {
	u := i.User
	nick := ""
	if i.Member != nil && i.Member.User != nil {
		u, nick = i.Member.User, i.Member.Nick
	}
	if u == nil {
		return chat.User{Platform: chat.Discord}
	}
	name := u.GlobalName
	if name == "" {
		name = u.Username
	}
	if nick != "" {
		name = nick
	}
	return chat.User{Platform: chat.Discord, ID: u.ID, Name: name}
}

// canManage tells that the member may change a server channel's settings,
// from the permissions Discord computed for them in that channel: Manage
// Server or Administrator.
func canManage(i *discordgo.Interaction) bool {
	if i.Member == nil {
		return false
	}
	return i.Member.Permissions&(discordgo.PermissionManageGuild|discordgo.PermissionAdministrator) != 0
}

// textMessage is a message of one paragraph.
func textMessage(s string) chat.Message {
	return chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: s}}}
}

// trouble is the reply when the tutor failed on a command or press.
func trouble(locale discordgo.Locale) string {
	if strings.HasPrefix(string(locale), "fr") {
		return "Un problème est survenu de mon côté. Merci de réessayer dans un instant."
	}
	return "Something went wrong on my side. Please try again in a moment."
}

// The HTTP interactions endpoint's limits.
const (
	// maxInteractionBody is the largest request body read.
	maxInteractionBody = 1 << 20
	// signatureWindow is how far a request's signed timestamp may be
	// from now: older requests are refused as replays.
	signatureWindow = 5 * time.Minute
)

// InteractionsHandler is the HTTP interactions endpoint: it checks
// Discord's Ed25519 signature over the timestamp and the raw body, and
// refuses (401) a bad signature or a timestamp more than 5 minutes away;
// it answers PING with PONG, and any other interaction as the gateway's,
// with the first answer in the HTTP response and the rest over REST.
func (b *Bot) InteractionsHandler() http.Handler {
	return http.HandlerFunc(b.serveInteraction)
}

func (b *Bot) serveInteraction(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if b.publicKey == nil {
		http.Error(w, "no public key configured", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInteractionBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if !b.verify(r.Header, body) {
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		http.Error(w, "bad interaction", http.StatusBadRequest)
		return
	}
	if !b.enter() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer b.wg.Done()
	answered := false
	var then func(ctx context.Context)
	b.protect("interaction", func() {
		then = b.interaction(&i, func(resp response) error {
			var buf bytes.Buffer
			if err := json.NewEncoder(&buf).Encode(resp); err != nil {
				return err
			}
			answered = true
			w.Header().Set("Content-Type", "application/json")
			_, err := w.Write(buf.Bytes())
			return err
		})
	})
	if !answered {
		http.Error(w, "unsupported interaction", http.StatusBadRequest)
		return
	}
	if then != nil {
		http.NewResponseController(w).Flush()
		b.goHandle("interaction", then)
	}
}

// verify checks the signature Discord puts on a request to the
// interactions endpoint, and that its timestamp is recent.
func (b *Bot) verify(h http.Header, body []byte) bool {
	sig, err := hex.DecodeString(h.Get("X-Signature-Ed25519"))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	ts := h.Get("X-Signature-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	msg := make([]byte, 0, len(ts)+len(body))
	msg = append(append(msg, ts...), body...)
	if !ed25519.Verify(b.publicKey, msg, sig) {
		return false
	}
	age := b.now().Sub(time.Unix(sec, 0))
	return age <= signatureWindow && age >= -signatureWindow
}
