package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// Tutor answers commands and presses; the tutor package provides it.
type Tutor interface {
	Handle(ctx context.Context, cmd chat.Command) []chat.Message
	Press(ctx context.Context, p chat.Press) chat.PressReply
}

// Address is the one chat the terminal holds.
var Address = chat.Address{Platform: chat.Console, ChatID: "local"}

// User is the person at the terminal.
var User = chat.User{Platform: chat.Console, ID: "local", Name: "you"}

// Chat is a private chat on a terminal: each input line is a command, or,
// while a question is waiting, the number of a choice. Questions are
// asked one at a time. Chat is safe for concurrent use: scheduled lessons
// arrive through Send while the reader waits for input.
type Chat struct {
	tutor Tutor
	out   io.Writer
	// files is the folder a message's file is written to.
	files string

	mu      sync.Mutex
	pending []chat.Message // questions not yet answered; the first is asked
	sent    int            // messages delivered by Send, for their ids
}

// New returns a terminal chat that writes to out, and the files that come
// with messages (such as /export's) to the folder files.
func New(tutor Tutor, out io.Writer, files string) *Chat {
	return &Chat{tutor: tutor, out: out, files: files}
}

// Run reads lines from in until it ends, /quit, or ctx is done.
func (c *Chat) Run(ctx context.Context, in io.Reader) error {
	c.print("lessonbot — type /help for the commands, /quit to leave.")
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				return <-errc
			}
			if !c.handleLine(ctx, strings.TrimSpace(line)) {
				return nil
			}
		}
	}
}

// handleLine answers one input line; it returns false on /quit.
func (c *Chat) handleLine(ctx context.Context, line string) bool {
	if line == "" {
		return true
	}
	if name, _, args, ok := chat.ParseCommand(line); ok {
		if name == "quit" || name == "exit" {
			return false
		}
		c.show(c.tutor.Handle(ctx, chat.Command{Chat: Address, Kind: chat.Private, From: User, Name: name, Args: args}))
		return true
	}
	c.mu.Lock()
	var question *chat.Message
	if len(c.pending) > 0 {
		question = &c.pending[0]
	}
	c.mu.Unlock()
	n, err := strconv.Atoi(line)
	switch {
	case question == nil:
		c.print("Type a command such as /lesson or /help.")
	case err != nil || n < 1 || n > len(question.Buttons):
		c.print(fmt.Sprintf("Type a number from 1 to %d to answer, or a command such as /help.", len(question.Buttons)))
	default:
		reply := c.tutor.Press(ctx, chat.Press{Chat: Address, Kind: chat.Private, From: User, Data: question.Buttons[n-1].Data})
		c.mu.Lock()
		c.pending = c.pending[1:]
		next := append([]chat.Message(nil), c.pending...)
		c.mu.Unlock()
		if reply.Notice != "" {
			c.print(Escape(reply.Notice))
		}
		c.show(reply.Messages)
		if len(next) > 0 {
			c.print(RenderText(next[0]))
		}
	}
	return true
}

// Send shows a scheduled message in the chat; it makes Chat the terminal's
// delivery Sender. A question joins the queue of waiting questions.
func (c *Chat) Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (string, error) {
	c.mu.Lock()
	c.sent++
	id := strconv.Itoa(c.sent)
	c.mu.Unlock()
	if !m.Question {
		c.print(RenderText(m))
		c.save(m.File)
		return id, nil
	}
	c.mu.Lock()
	c.pending = append(c.pending, m)
	first := len(c.pending) == 1
	c.mu.Unlock()
	if first {
		c.print(RenderText(m))
	}
	return id, nil
}

// show prints the messages of a reply; its questions replace those
// waiting, and the first is asked.
func (c *Chat) show(msgs []chat.Message) {
	var questions []chat.Message
	for _, m := range msgs {
		if m.Question {
			questions = append(questions, m)
			continue
		}
		c.print(RenderText(m))
		c.save(m.File)
	}
	if len(questions) == 0 {
		return
	}
	c.mu.Lock()
	c.pending = questions
	c.mu.Unlock()
	c.print(RenderText(questions[0]))
}

// save writes a message's file to the chat's folder, named as the file
// is, and prints its path; nothing when f is nil.
func (c *Chat) save(f *chat.File) {
	if f == nil {
		return
	}
	// Only the base name: a file name that came with a message never
	// picks the folder.
	name := filepath.Base(filepath.Clean("/" + f.Name))
	if name == "/" || name == "." {
		name = "lessonbot-file"
	}
	path := filepath.Join(c.files, name)
	if err := os.WriteFile(path, f.Data, 0o600); err != nil {
		c.print(Escape(fmt.Sprintf("Could not write %s: %v", path, err)))
		return
	}
	c.print(Escape(fmt.Sprintf("→ %s (%d bytes)", path, len(f.Data))))
}

// print writes one block of output followed by a blank line.
func (c *Chat) print(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, "%s\n\n", s)
}
