package main

import (
	"context"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/metrics"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

// meteredTutor is the tutor as the adapters see it in run: each update
// it handles is counted, with the time it took, by platform and kind.
type meteredTutor struct {
	*tutor.Tutor
	metrics *metrics.Metrics
}

// Handle runs a command and counts it.
func (t meteredTutor) Handle(ctx context.Context, cmd chat.Command) []chat.Message {
	start := time.Now()
	defer func() { t.metrics.Update(cmd.Chat.Platform, metrics.KindCommand, time.Since(start)) }()
	return t.Tutor.Handle(ctx, cmd)
}

// Press handles a button press and counts it.
func (t meteredTutor) Press(ctx context.Context, p chat.Press) chat.PressReply {
	start := time.Now()
	defer func() { t.metrics.Update(p.Chat.Platform, metrics.KindButton, time.Since(start)) }()
	return t.Tutor.Press(ctx, p)
}

// ChatGone turns off a gone chat's subscription and counts the update.
func (t meteredTutor) ChatGone(ctx context.Context, addr chat.Address) {
	start := time.Now()
	defer func() { t.metrics.Update(addr.Platform, metrics.KindMembership, time.Since(start)) }()
	t.Tutor.ChatGone(ctx, addr)
}

// ChatMoved moves a chat's subscription and counts the update.
func (t meteredTutor) ChatMoved(ctx context.Context, from chat.Address, newChatID string) {
	start := time.Now()
	defer func() { t.metrics.Update(from.Platform, metrics.KindMembership, time.Since(start)) }()
	t.Tutor.ChatMoved(ctx, from, newChatID)
}
