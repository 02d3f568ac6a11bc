package slack

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"entraide/adapters/slack/slacktest"
	"entraide/bots"
	"entraide/core"
)

// exportFile is a person's data export, as bots attaches it.
func exportFile() *bots.File {
	return &bots.File{
		Name: "../entraide mes-données <!channel>.json",
		MIME: "application/json",
		Data: []byte(`{"identities":[{"platform":"slack","user":"U7"}],"questions":[{"id":1,"text":"Comment rédiger un CCTP ?"}]}` + "\n"),
	}
}

// methods returns the Web API methods (and uploads) called, in order,
// among those of files and chat.postMessage.
func methods(f *slacktest.Workspace) []string {
	var out []string
	for _, c := range f.Calls("") {
		if c.Method == "chat.postMessage" || c.Method == slacktest.Upload || strings.HasPrefix(c.Method, "files.") {
			out = append(out, c.Method)
		}
	}
	return out
}

// TestSendFile sends a message with a JSON file end to end over the fake:
// in a direct message, and in a channel's thread. The text goes first,
// escaped as ever, then the file is uploaded in three steps and shared in
// the same conversation and thread, under a sanitised name.
func TestSendFile(t *testing.T) {
	for _, c := range []struct {
		name            string
		to              bots.Destination
		channel, thread string
	}{
		{"dm", bots.DirectTo(core.Identity{Platform: Platform, User: "U7"}), "D7", ""},
		{"dm in a thread", bots.Destination{Platform: Platform, User: "U7", Thread: "1700000000.000042"}, "D7", "1700000000.000042"},
		{"channel thread", bots.Destination{Platform: Platform, Room: "C1", Thread: "1515449522.000016"}, "C1", "1515449522.000016"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := slacktest.New(t)
			a := newTestAdapter(t, f, &recordingInbox{}, false)
			var m bots.Message
			m.Text("Voici vos données ").Quote("<!channel> *moi*")
			m.File = exportFile()
			sent, err := a.Send(context.Background(), bots.Outgoing{To: c.to, Message: m, Key: "export/1"})
			if err != nil {
				t.Fatal(err)
			}
			posts := f.Posts()
			if len(posts) != 1 || sent.MessageID != posts[0].TS || posts[0].Channel != c.channel || posts[0].Thread != c.thread {
				t.Fatalf("Send = %+v, posts %+v", sent, posts)
			}
			if text := posts[0].Text; !strings.Contains(text, "&lt;!channel&gt;") || strings.Contains(text, "<!channel>") {
				t.Errorf("text not escaped: %q", text)
			}
			files := f.Files()
			if len(files) != 1 {
				t.Fatalf("files %+v", files)
			}
			got := files[0]
			const name = "_entraide_mes-données___channel_.json"
			if got.Name != name || got.Title != name || got.Channel != c.channel || got.Thread != c.thread || !bytes.Equal(got.Data, m.File.Data) {
				t.Errorf("file %+v %q", got, got.Data)
			}
			want := []string{"chat.postMessage", "files.getUploadURLExternal", slacktest.Upload, "files.completeUploadExternal"}
			if got := methods(f); !slices.Equal(got, want) {
				t.Errorf("calls %q, want %q", got, want)
			}
			if get := f.Calls("files.getUploadURLExternal")[0].Form; get.Get("filename") != name || get.Get("length") != strconv.Itoa(len(m.File.Data)) {
				t.Errorf("files.getUploadURLExternal %v", get)
			}
		})
	}
}

// TestSendFileOnly sends a message that has a file and no text: only the
// file goes out.
func TestSendFileOnly(t *testing.T) {
	f := slacktest.New(t)
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	m := bots.Message{File: exportFile()}
	if _, err := a.Send(context.Background(), bots.Outgoing{To: bots.Destination{Room: "C1"}, Message: m, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if posts := f.Posts(); len(posts) != 0 {
		t.Errorf("posted %+v", posts)
	}
	if files := f.Files(); len(files) != 1 || files[0].Channel != "C1" || files[0].Thread != "" {
		t.Errorf("files %+v", files)
	}
}

// TestSendFileRateLimited checks that a 429 on any step of the upload is
// a *bots.RetryAfterError with Slack's delay, and that the retry of the
// same message sends the file without posting its text again.
func TestSendFileRateLimited(t *testing.T) {
	for _, method := range []string{"files.getUploadURLExternal", slacktest.Upload, "files.completeUploadExternal"} {
		t.Run(method, func(t *testing.T) {
			f := slacktest.New(t)
			a := newTestAdapter(t, f, &recordingInbox{}, false)
			var m bots.Message
			m.Text("Voici vos données.")
			m.File = exportFile()
			o := bots.Outgoing{To: bots.Destination{Room: "C1", Thread: "1515449522.000016"}, Message: m, Key: "export/1"}
			f.RateLimit(method, 1, 3*time.Second)
			_, err := a.Send(context.Background(), o)
			var limited *bots.RetryAfterError
			if !errors.As(err, &limited) || limited.After != 3*time.Second || errors.Is(err, bots.ErrUndeliverable) {
				t.Fatalf("Send = %v, want a RetryAfterError of 3s", err)
			}
			if strings.Contains(err.Error(), "/upload/v1/") {
				t.Errorf("error shows the upload URL: %v", err)
			}
			if files := f.Files(); len(files) != 0 {
				t.Fatalf("files %+v", files)
			}
			sent, err := a.Send(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			posts := f.Posts()
			if len(posts) != 1 || sent.MessageID != posts[0].TS {
				t.Errorf("text posted %d times: %+v (sent %+v)", len(posts), posts, sent)
			}
			if files := f.Files(); len(files) != 1 || files[0].Thread != "1515449522.000016" {
				t.Errorf("files %+v", files)
			}
			// The next message of that key is a new one: its text goes out.
			if _, err := a.Send(context.Background(), o); err != nil || len(f.Posts()) != 2 || len(f.Files()) != 2 {
				t.Errorf("a third send: %v, %d posts, %d files", err, len(f.Posts()), len(f.Files()))
			}
		})
	}
}

// TestSendFileRefused checks that a file larger than bots.MaxFileSize, or
// empty, is refused before anything is sent, with an error that names the
// file and its size and that no retry can fix.
func TestSendFileRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		size int
		says string
	}{
		{"too large", bots.MaxFileSize + 1, "8388609 bytes, more than the 8388608 bytes (8 MiB)"},
		{"empty", 0, "empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := slacktest.New(t)
			a := newTestAdapter(t, f, &recordingInbox{}, false)
			var m bots.Message
			m.Text("Voici vos données.")
			m.File = &bots.File{Name: "export.json", MIME: "application/json", Data: make([]byte, c.size)}
			_, err := a.Send(context.Background(), bots.Outgoing{To: bots.Destination{User: "U7"}, Message: m, Key: "export/1"})
			var limited *bots.RetryAfterError
			if !errors.Is(err, bots.ErrUndeliverable) || errors.As(err, &limited) || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "export.json") {
				t.Fatalf("Send = %v", err)
			}
			if calls := f.Calls(""); len(calls) != 0 {
				t.Errorf("calls %+v", calls)
			}
		})
	}
	// A file of exactly bots.MaxFileSize goes.
	f := slacktest.New(t)
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	m := bots.Message{File: &bots.File{Name: "big.bin", Data: bytes.Repeat([]byte{7}, bots.MaxFileSize)}}
	if _, err := a.Send(context.Background(), bots.Outgoing{To: bots.Destination{Room: "C1"}, Message: m}); err != nil {
		t.Fatal(err)
	}
	if files := f.Files(); len(files) != 1 || len(files[0].Data) != bots.MaxFileSize {
		t.Fatalf("%d files", len(files))
	}
}

// TestSendFileErrors checks that a conversation Slack refuses makes the
// upload undeliverable, as it does a message.
func TestSendFileErrors(t *testing.T) {
	f := slacktest.New(t)
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	f.Fail("CGONE", "channel_not_found")
	m := bots.Message{File: exportFile()}
	_, err := a.Send(context.Background(), bots.Outgoing{To: bots.Destination{Room: "CGONE"}, Message: m})
	if !errors.Is(err, bots.ErrUndeliverable) || !strings.Contains(err.Error(), "files.completeUploadExternal") {
		t.Fatalf("Send = %v", err)
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"entraide-mes-donnees.json":        "entraide-mes-donnees.json",
		"mes données 2026.json":            "mes_données_2026.json",
		"../../etc/passwd":                 "_.._etc_passwd",
		".hidden":                          "hidden",
		"...":                              "attachment",
		"":                                 "attachment",
		"/ \\":                             "attachment",
		"a\x00b\nc\u202e.json":             "a_b_c_.json",
		"\xff\xfe.txt":                     "_.txt",
		"<!channel>.json":                  "__channel_.json",
		strings.Repeat("a", 120) + ".json": strings.Repeat("a", 95) + ".json",
	} {
		if got := safeFileName(in); got != want {
			t.Errorf("safeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"entraide-mes-donnees.json", "../../x", "...", "\xff", strings.Repeat("é", 200) + ".json"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name := safeFileName(s)
		if name == "" || strings.HasPrefix(name, ".") || utf8.RuneCountInString(name) > maxFileName || !utf8.ValidString(name) {
			t.Fatalf("safeFileName(%q) = %q", s, name)
		}
		for _, r := range name {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && r != '-' && r != '_' {
				t.Fatalf("safeFileName(%q) = %q holds %q", s, name, r)
			}
		}
		if safeFileName(name) != name {
			t.Fatalf("safeFileName is not idempotent on %q", name)
		}
	})
}
