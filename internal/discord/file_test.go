package discord

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/lessonbot/lessonbot/internal/chat"
)

// exportFile is a learner's exported words: a CSV header, then bytes
// that look like a multipart boundary, CRLFs and NULs among random ones,
// so that only a faithful upload keeps them exact.
func exportFile(size int) *chat.File {
	data := []byte("term;translation\r\npier;jetée\r\n--boundary\r\n\x00")
	rng := rand.New(rand.NewPCG(7, 11))
	for len(data) < size {
		data = append(data, byte(rng.UintN(256)))
	}
	return &chat.File{Name: "lessonbot-words.csv", MIME: "text/csv; charset=utf-8", Data: data[:size]}
}

// checkFile checks that a sent message carries exactly the file want,
// uploaded as multipart/form-data, or no file and JSON when want is nil.
func checkFile(t *testing.T, what string, s sent, want *chat.File) {
	t.Helper()
	if want == nil {
		if len(s.files) != 0 || s.contentType != "application/json" {
			t.Errorf("%s: %d files as %s, want none, as JSON", what, len(s.files), s.contentType)
		}
		return
	}
	if s.contentType != "multipart/form-data" || len(s.files) != 1 {
		t.Fatalf("%s: %d files as %s, want 1 as multipart/form-data", what, len(s.files), s.contentType)
	}
	f := s.files[0]
	if f.Index != 0 || f.Name != want.Name || f.ContentType != want.MIME {
		t.Errorf("%s: file files[%d] %q (%s), want files[0] %q (%s)", what, f.Index, f.Name, f.ContentType, want.Name, want.MIME)
	}
	if !bytes.Equal(f.Data, want.Data) {
		t.Errorf("%s: the file's %d bytes differ from the %d sent", what, len(f.Data), len(want.Data))
	}
}

// privateCommands are a private command and an ordinary one, as the
// tutor describes them.
func privateCommands() []chat.CommandInfo {
	return []chat.CommandInfo{
		{Name: "export", Description: map[string]string{"en": "Your words as a file"}, Private: true},
		{Name: "words", Description: map[string]string{"en": "This chat's words as a file"}},
	}
}

// TestCommandReplyWithFile answers commands with a file: it arrives as an
// attachment with the exact bytes, on the Discord message that carries
// the reply's last part, ephemeral where the command is private and the
// channel shared.
func TestCommandReplyWithFile(t *testing.T) {
	ft := &fakeTutor{}
	r := startBot(t, ft, privateCommands(), nil)
	file := exportFile(300 << 10)
	withFile := func(m chat.Message) chat.Message { m.File = file; return m }
	short := textMessage("Your 120 words are attached.")
	long := chat.Message{}
	for range 5 {
		long.Blocks = append(long.Blocks, chat.Block{Kind: chat.Text, Text: strings.Repeat("word ", 100)})
	}
	tests := []struct {
		name          string
		at            where
		command       string
		reply         []chat.Message
		wantEphemeral bool
		wantMessages  int
		wantFileOn    int // which message, 0 being the edited answer
	}{
		{"PrivateInServerIsEphemeral", serverChannel, "export", []chat.Message{withFile(short)}, true, 1, 0},
		{"PrivateInDMIsPublic", dm, "export", []chat.Message{withFile(short)}, false, 1, 0},
		{"NotPrivateInServerIsPublic", serverChannel, "words", []chat.Message{withFile(short)}, false, 1, 0},
		{"FileAloneIsEphemeral", serverChannel, "export", []chat.Message{{File: file}}, true, 1, 0},
		{"LongReplyFileOnLastPartEphemeral", serverChannel, "export", []chat.Message{withFile(long)}, true, 2, 1},
		{"SecondMessageCarriesFile", dm, "export", []chat.Message{short, withFile(short), short}, false, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft.mu.Lock()
			ft.reply = func(chat.Command) []chat.Message { return tt.reply }
			ft.mu.Unlock()
			a := r.command(tt.at, member, tt.command, tt.wantMessages-1)
			if eph := a.callback.Data != nil && a.callback.Data.Flags&64 != 0; eph != tt.wantEphemeral {
				t.Errorf("deferred answer ephemeral = %v, want %v", eph, tt.wantEphemeral)
			}
			msgs := append(a.edits, a.followups...)
			if len(msgs) != tt.wantMessages {
				t.Fatalf("%d messages, want %d", len(msgs), tt.wantMessages)
			}
			for i, m := range msgs {
				var want *chat.File
				if i == tt.wantFileOn {
					want = file
				}
				checkFile(t, "message "+string(rune('0'+i)), m, want)
				if i > 0 && (m.Flags&64 != 0) != tt.wantEphemeral {
					t.Errorf("follow-up %d flags %d, want ephemeral %v", i, m.Flags, tt.wantEphemeral)
				}
			}
		})
	}
}

func TestSendWithFile(t *testing.T) {
	to := chat.Address{Platform: chat.Discord, ChatID: "400000000000000001"}
	file := exportFile(64 << 10)
	withFile := func(m chat.Message, f *chat.File) chat.Message { m.File = f; return m }
	tests := []struct {
		name       string
		msg        chat.Message
		wantPosts  int
		wantFileOn int
		wantEmbed  bool
		wantErr    chat.ErrorKind
	}{
		{"TextCarriesFile", withFile(plainMessage(), file), 1, 0, false, 0},
		{"EmbedCarriesFile", withFile(lessonMessage(), file), 1, 0, true, 0},
		{"LastPartCarriesFile", withFile(twoParts(), file), 2, 1, false, 0},
		{"FileAlone", chat.Message{File: file}, 1, 0, false, 0},
		{"OKAtMaxFileSize", withFile(plainMessage(), exportFile(chat.MaxFileSize)), 1, 0, false, 0},
		{"ErrFileTooBig", withFile(plainMessage(), exportFile(chat.MaxFileSize+1)), 0, 0, false, chat.Rejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeDiscord(t)
			b, _ := newSender(t, fake.apiURL(), fake.srv.Client())
			id, err := b.Send(t.Context(), to, chat.Group, tt.msg)
			if tt.wantErr != 0 {
				checkSendError(t, err, tt.wantErr, 0)
			} else if err != nil || id == "" {
				t.Fatalf("Send = %q, %v", id, err)
			}
			posts := fake.requests(http.MethodPost, "/channels/"+to.ChatID+"/messages")
			if len(posts) != tt.wantPosts {
				t.Fatalf("%d posts, want %d", len(posts), tt.wantPosts)
			}
			for i, p := range posts {
				s := decodeSent(t, p)
				var want *chat.File
				if i == tt.wantFileOn {
					want = tt.msg.File
				}
				checkFile(t, "post "+string(rune('0'+i)), s, want)
				if s.Flags != 0 {
					t.Errorf("post %d flags %d, want none", i, s.Flags)
				}
				if i == tt.wantFileOn && (len(s.Embeds) == 1) != tt.wantEmbed {
					t.Errorf("post %d has %d embeds, want embed %v", i, len(s.Embeds), tt.wantEmbed)
				}
			}
		})
	}
}

// TestSendButtons sends link buttons beside buttons with data, and a
// Start button, which Discord cannot show: it is dropped, and logged
// once.
func TestSendButtons(t *testing.T) {
	to := chat.Address{Platform: chat.Discord, ChatID: "400000000000000001"}
	fake := newFakeDiscord(t)
	b, logs := newSender(t, fake.apiURL(), fake.srv.Client())
	m := plainMessage()
	m.Buttons = []chat.Button{
		{Label: "Full article", Data: "read:fish-prize"},
		{Label: "Source", URL: "https://example.org/news/fish?id=7&page=2"},
		{Label: "Continue alone", Start: "review_42"},
		{Label: "A", Data: "a:x:1"},
		{Label: "Help", URL: "https://example.org/help"},
		{Label: "B", Data: "a:x:2"},
		{Label: "C", Data: "a:x:3"},
	}
	for range 2 {
		if _, err := b.Send(t.Context(), to, chat.Group, m); err != nil {
			t.Fatal(err)
		}
	}
	posts := fake.requests(http.MethodPost, "/channels/")
	if len(posts) != 2 {
		t.Fatalf("%d posts, want 2", len(posts))
	}
	s := decodeSent(t, posts[0])
	var rows []int
	for _, row := range s.Components {
		rows = append(rows, len(row.Components))
	}
	if !slices.Equal(rows, []int{5, 1}) {
		t.Errorf("rows of %v buttons, want [5 1]", rows)
	}
	want := []button{
		{label: "Full article", data: "read:fish-prize", style: 2},
		{label: "Source", url: "https://example.org/news/fish?id=7&page=2", style: 5},
		{label: "A", data: "a:x:1", style: 2},
		{label: "Help", url: "https://example.org/help", style: 5},
		{label: "B", data: "a:x:2", style: 2},
		{label: "C", data: "a:x:3", style: 2},
	}
	if got := s.buttons(); !slices.Equal(got, want) {
		t.Errorf("buttons\n%+v\nwant\n%+v", got, want)
	}
	if n := strings.Count(logs.String(), "level=DEBUG msg=\"dropping a button"); n != 1 {
		t.Errorf("the dropped Start button is logged %d times, want once:\n%s", n, logs.String())
	}
}

func TestLinkButton(t *testing.T) {
	c, err := components([]chat.Button{{Label: "Source", URL: "https://example.org/a"}})
	if err != nil {
		t.Fatal(err)
	}
	got := c[0].(discordgo.ActionsRow).Components[0].(discordgo.Button)
	want := discordgo.Button{Label: "Source", Style: discordgo.LinkButton, URL: "https://example.org/a"}
	if got != want {
		t.Errorf("link button = %+v, want %+v", got, want)
	}
}

func TestRenderFile(t *testing.T) {
	tests := []struct {
		name     string
		file     *chat.File
		wantName string
		wantErr  string
	}{
		{"OK", &chat.File{Name: "words.csv", Data: []byte("a;b")}, "words.csv", ""},
		{"PathCut", &chat.File{Name: "../exports/words.csv", Data: []byte("a")}, "words.csv", ""},
		{"BackslashPathCut", &chat.File{Name: `C:\exports\words.csv`, Data: []byte("a")}, "words.csv", ""},
		{"NoName", &chat.File{Data: []byte("a")}, "file", ""},
		{"OKEmpty", &chat.File{Name: "empty.txt"}, "empty.txt", ""},
		{"ErrTooBig", &chat.File{Name: "big.bin", Data: make([]byte, chat.MaxFileSize+1)}, "", "at most 8388608"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := renderMessage(chat.Message{Blocks: plainMessage().Blocks, File: tt.file}, false)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("render = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			last := out[len(out)-1]
			if last.File == nil || last.File.Name != tt.wantName || !bytes.Equal(last.File.Data, tt.file.Data) {
				t.Errorf("file = %+v, want %q with the data", last.File, tt.wantName)
			}
		})
	}
}

// TestFakeChecksMessages shows that the fake refuses what Discord would,
// so that the tests above prove something.
func TestFakeChecksMessages(t *testing.T) {
	f := newMemoryFake(t)
	file := fakeFile{Name: "a.csv", ContentType: "text/csv", Data: []byte("a")}
	var six []string
	for i := range 6 {
		six = append(six, `{"type":2,"style":2,"label":"x","custom_id":"c`+string(rune('0'+i))+`"}`)
	}
	sixButtons := strings.Join(six, ",")
	tests := []struct {
		name    string
		kind    string
		req     fakeRequest
		wantErr string
	}{
		{"OK", msgCreate, fakeRequest{ContentType: "application/json", Body: []byte(`{"content":"hi"}`)}, ""},
		{"OKFile", msgFollowup, fakeRequest{ContentType: "multipart/form-data", Body: []byte(`{}`), Files: []fakeFile{file}}, ""},
		{"OKEditEmpty", msgEdit, fakeRequest{ContentType: "application/json", Body: []byte(`{"content":""}`)}, ""},
		{"ErrEmpty", msgCreate, fakeRequest{ContentType: "application/json", Body: []byte(`{"content":""}`)}, "empty message"},
		{"ErrLongContent", msgCreate, fakeRequest{ContentType: "application/json", Body: []byte(`{"content":"` + strings.Repeat("x", 2001) + `"}`)}, "2001 characters"},
		{"ErrFileAsJSON", msgCreate, fakeRequest{ContentType: "application/json", Body: []byte(`{"content":"a"}`), Files: []fakeFile{file}}, "content type"},
		{"ErrSixButtons", msgCreate, fakeRequest{ContentType: "application/json", Body: []byte(`{"content":"a","components":[{"type":1,"components":[` + sixButtons + `]}]}`)}, "6 buttons"},
		{"ErrLinkWithCustomID", msgCreate, fakeRequest{ContentType: "application/json", Body: []byte(`{"content":"a","components":[{"type":1,"components":[{"type":2,"style":5,"label":"x","url":"https://a.test","custom_id":"c"}]}]}`)}, "link button"},
		{"ErrButtonWithURL", msgCreate, fakeRequest{ContentType: "application/json", Body: []byte(`{"content":"a","components":[{"type":1,"components":[{"type":2,"style":2,"label":"x","url":"https://a.test","custom_id":"c"}]}]}`)}, "style 2"},
		{"ErrEphemeralChannelMessage", msgCreate, fakeRequest{ContentType: "application/json", Body: []byte(`{"content":"a","flags":64}`)}, "ephemeral"},
		{"ErrFileTooBig", msgCreate, fakeRequest{ContentType: "multipart/form-data", Body: []byte(`{}`), Files: []fakeFile{{Name: "a", Data: make([]byte, 10<<20+1)}}}, "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := strings.Join(f.checkMessage(tt.kind, tt.req), "; ")
			switch {
			case tt.wantErr == "" && problems != "":
				t.Errorf("refused: %s", problems)
			case !strings.Contains(problems, tt.wantErr):
				t.Errorf("problems %q, want one with %q", problems, tt.wantErr)
			}
		})
	}
	t.Run("ErrUnknownFormField", func(t *testing.T) {
		var buf bytes.Buffer
		buf.WriteString("--b\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{}\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n--b--\r\n")
		if _, _, _, err := readBody("multipart/form-data; boundary=b", buf.Bytes()); err == nil || !strings.Contains(err.Error(), `"file"`) {
			t.Errorf("readBody = %v, want an unknown field error", err)
		}
	})
}
