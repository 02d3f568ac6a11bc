package discord

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"entraide/bots"
	"entraide/core"
)

// export is a person's data export, as the bot sends it.
func export(name string) bots.Message {
	var m bots.Message
	m.Text("Voici vos données, ").Strong("@everyone").Text(" compris.")
	m.File = &bots.File{Name: name, MIME: "application/json", Data: []byte(`{"personne":{"nom":"Alice"},"questions":[{"id":1,"texte":"<@123> @here"}]}` + "\n")}
	return m
}

// uploads returns the message posts made to channel.
func uploads(f *fakeDiscord, channel string) []request {
	return f.find("POST /api/v10/channels/" + channel + "/messages")
}

// checkUpload checks that r carries m's file as Discord expects it: the
// payload_json with the content, no parsed mentions and one attachment of
// id 0 named name, and the files[0] part with the bytes and media type.
func checkUpload(t *testing.T, r request, m bots.Message, name string) {
	t.Helper()
	if r.Refused != "" {
		t.Fatalf("the fake refused the form: %s", r.Refused)
	}
	b := body(t, r)
	if c, _ := b["content"].(string); !strings.Contains(c, "Voici vos données") {
		t.Errorf("content %q", c)
	}
	if am := b["allowed_mentions"].(map[string]any); am["parse"] == nil || len(am["parse"].([]any)) != 0 {
		t.Errorf("allowed_mentions %v, want parse []", am)
	}
	at, _ := b["attachments"].([]any)
	if len(at) != 1 || at[0].(map[string]any)["id"] != 0.0 || at[0].(map[string]any)["filename"] != name {
		t.Errorf("attachments %v, want [{id: 0, filename: %s}]", b["attachments"], name)
	}
	if len(r.Files) != 1 {
		t.Fatalf("%d files, want 1", len(r.Files))
	}
	got := r.Files[0]
	if got.Field != "files[0]" || got.Filename != name || got.ContentType != m.File.MIME || !bytes.Equal(got.Data, m.File.Data) {
		t.Errorf("file part %s %q %s %q, want files[0] %q %s %q", got.Field, got.Filename, got.ContentType, got.Data, name, m.File.MIME, m.File.Data)
	}
}

// TestSendFileInDirectMessage sends a data export by direct message: the
// DM channel is opened, and the file arrives as the message's attachment.
func TestSendFileInDirectMessage(t *testing.T) {
	f := newFake(t)
	a := newSender(t, f, newMemStore())
	m := export("entraide-mes-donnees.json")
	sent, err := a.Send(t.Context(), bots.Outgoing{To: bots.DirectTo(core.Identity{Platform: "discord", User: userU2}), Message: m, Key: "console:7/export"})
	if err != nil || sent.MessageID == "" {
		t.Fatalf("Send = %+v, %v", sent, err)
	}
	if open := f.find("POST /api/v10/users/@me/channels"); len(open) != 1 {
		t.Errorf("DM channel opened %d times", len(open))
	}
	posts := uploads(f, dmOf(userU2))
	if len(posts) != 1 {
		t.Fatalf("%d posts in the DM channel, want 1", len(posts))
	}
	checkUpload(t, posts[0], m, "entraide-mes-donnees.json")
	if c := body(t, posts[0])["content"].(string); strings.Contains(c, "@everyone") {
		t.Errorf("content %q pings everyone", c)
	}
	// Discord answers with the attachment it stored.
	f.mu.Lock()
	stored := f.history[dmOf(userU2)][0]["attachments"].([]any)
	f.mu.Unlock()
	if len(stored) != 1 || stored[0].(map[string]any)["size"] != len(m.File.Data) {
		t.Errorf("stored attachments %v", stored)
	}
}

// TestSendFileName checks that the name sent to Discord is sanitised,
// and a media type that could break the headers is replaced.
func TestSendFileName(t *testing.T) {
	f := newFake(t)
	a := newSender(t, f, newMemStore())
	m := export("../../etc/mes données\x00.json")
	m.File.MIME = "application/json\r\nX-Evil: 1"
	if _, err := a.Send(t.Context(), bots.Outgoing{To: bots.Destination{Platform: "discord", Room: chanC1}, Message: m, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	posts := uploads(f, chanC1)
	if len(posts) != 1 {
		t.Fatalf("%d posts", len(posts))
	}
	m.File.MIME = "application/octet-stream"
	checkUpload(t, posts[0], m, "_.._etc_mes_données_.json")
}

// TestSendFileRateLimited checks that a file post limited once is sent
// again after retry_after, with the whole form both times.
func TestSendFileRateLimited(t *testing.T) {
	f := newFake(t)
	a := newSender(t, f, newMemStore())
	m := export("entraide-mes-donnees.json")
	to := bots.DirectTo(core.Identity{Platform: "discord", User: userU1})
	if _, err := a.Send(t.Context(), bots.Outgoing{To: to, Message: text("avant"), Key: "k0"}); err != nil {
		t.Fatal(err)
	}
	f.limit(1, 0.05, false)
	begin := time.Now()
	sent, err := a.Send(t.Context(), bots.Outgoing{To: to, Message: m, Key: "k1"})
	if err != nil || sent.MessageID == "" {
		t.Fatalf("after one 429: %+v, %v", sent, err)
	}
	if d := time.Since(begin); d < 50*time.Millisecond {
		t.Errorf("retried after %s, before retry_after", d)
	}
	posts := uploads(f, dmOf(userU1))
	if len(posts) != 3 {
		t.Fatalf("%d posts, want the text, then the file twice", len(posts))
	}
	for _, p := range posts[1:] {
		checkUpload(t, p, m, "entraide-mes-donnees.json")
	}

	f.limit(100, 0.01, false) // a lasting limit goes back to the pipeline
	_, err = a.Send(t.Context(), bots.Outgoing{To: to, Message: m, Key: "k2"})
	var limited *bots.RetryAfterError
	if !errors.As(err, &limited) {
		t.Fatalf("lasting 429: %v, want a RetryAfterError", err)
	}
}

// TestSendFileTooLarge checks that a file over bots.MaxFileSize is refused
// at once as undeliverable, without a request, and that one of exactly
// bots.MaxFileSize goes.
func TestSendFileTooLarge(t *testing.T) {
	f := newFake(t)
	a := newSender(t, f, newMemStore())
	to := bots.DirectTo(core.Identity{Platform: "discord", User: userU1})
	m := export("gros.json")
	m.File.Data = bytes.Repeat([]byte("a"), bots.MaxFileSize+1)
	_, err := a.Send(t.Context(), bots.Outgoing{To: to, Message: m, Key: "k"})
	if !errors.Is(err, bots.ErrUndeliverable) || !strings.Contains(err.Error(), `file "gros.json" is 8388609 bytes, more than the 8388608 bytes (8 MiB)`) {
		t.Fatalf("err %v, want an undeliverable error naming the file and the limit", err)
	}
	if n := len(f.find("")); n != 0 {
		t.Errorf("%d requests for a refused file", n)
	}
	m.File.Data = m.File.Data[:bots.MaxFileSize]
	if _, err := a.Send(t.Context(), bots.Outgoing{To: to, Message: m, Key: "k"}); err != nil {
		t.Fatalf("a file of MaxFileSize: %v", err)
	}
	if posts := uploads(f, dmOf(userU1)); len(posts) != 1 || len(posts[0].Files) != 1 || len(posts[0].Files[0].Data) != bots.MaxFileSize {
		t.Errorf("posts %d", len(posts))
	}
}

// TestSendFileEntityTooLarge checks that Discord refusing a file as too
// large (413) is undeliverable: retrying cannot help.
func TestSendFileEntityTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 413, map[string]any{"message": "Request entity too large", "code": 40005})
	}))
	defer srv.Close()
	f := newFake(t)
	a := newSender(t, f, newMemStore())
	a.api.base = srv.URL
	_, err := a.Send(t.Context(), bots.Outgoing{To: bots.Destination{Platform: "discord", Room: chanC1}, Message: export("x.json"), Key: "k"})
	if !errors.Is(err, bots.ErrUndeliverable) {
		t.Fatalf("413: %v, want undeliverable", err)
	}
}

// TestSendFileSplit checks that a long message carries its file on its
// last part only.
func TestSendFileSplit(t *testing.T) {
	f := newFake(t)
	a := newSender(t, f, newMemStore())
	m := export("entraide-mes-donnees.json")
	m.Break().Text(strings.Repeat("Une ligne assez longue pour remplir un message.\n", 60))
	if _, err := a.Send(t.Context(), bots.Outgoing{To: bots.Destination{Platform: "discord", Room: chanC1}, Message: m, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	posts := uploads(f, chanC1)
	if len(posts) < 2 {
		t.Fatalf("%d posts, want the message split", len(posts))
	}
	for _, p := range posts[:len(posts)-1] {
		if len(p.Files) != 0 || body(t, p)["attachments"] != nil {
			t.Errorf("a first part carries the file: %s", p.Body)
		}
	}
	if last := posts[len(posts)-1]; len(last.Files) != 1 || !bytes.Equal(last.Files[0].Data, m.File.Data) {
		t.Errorf("the last part lacks the file: %+v", last.Files)
	}
}

// TestSendFileFollowUp checks that the reply to a slash command carrying
// a file edits the deferred ephemeral response with the file attached, so
// only the person sees it.
func TestSendFileFollowUp(t *testing.T) {
	f := newFake(t)
	in := &recInbox{f: f}
	a := start(t, f, testConfig(f), in, newMemStore())
	f.dispatch("INTERACTION_CREATE", payload(t, "slash_expert.json", nil))
	in.wait(t, 1)
	f.waitFor("POST /api/v10/interactions/900000000000000002/", atLeast(1))
	m := export("entraide-mes-donnees.json")
	if _, err := a.Send(t.Context(), bots.Outgoing{To: bots.DirectTo(core.Identity{Platform: "discord", User: userU1}), Message: m, Key: "discord:900000000000000002/export"}); err != nil {
		t.Fatal(err)
	}
	edits := f.find("PATCH /api/v10/webhooks/" + appID + "/")
	if len(edits) != 1 {
		t.Fatalf("%d edits of the deferred response, want 1", len(edits))
	}
	checkUpload(t, edits[0], m, "entraide-mes-donnees.json")
	if posts := f.find("POST /api/v10/channels/"); len(posts) != 0 {
		t.Errorf("posted too: %+v", posts)
	}
}

// TestFakeRefusesBadForms checks the fake itself: a multipart message
// without payload_json, or whose attachments do not match its files, is
// refused as Discord refuses it (400, Invalid Form Body), and a good one is
// taken.
func TestFakeRefusesBadForms(t *testing.T) {
	f := newFake(t)
	good := upload{name: "a.json", mime: "application/json", data: []byte("{}")}
	payloadWith := func(at ...attachment) messagePayload {
		return messagePayload{Content: "x", AllowedMentions: allowedMentions{Parse: []string{}}, Attachments: at}
	}
	form := func(b formBody) func() ([]byte, string) {
		return func() ([]byte, string) {
			raw, ctype, err := b.encode()
			if err != nil {
				t.Fatal(err)
			}
			return raw, ctype
		}
	}
	for _, c := range []struct {
		name   string
		body   func() ([]byte, string)
		refuse string
	}{
		{"good", form(formBody{payload: payloadWith(attachment{0, "a.json"}), files: []upload{good}}), ""},
		{"no file", form(formBody{payload: payloadWith()}), ""},
		{"JSON", func() ([]byte, string) { return []byte(`{"content":"x"}`), "application/json" }, ""},
		{"no attachments", form(formBody{payload: payloadWith(), files: []upload{good}}), "0 attachments for 1 files"},
		{"wrong id", form(formBody{payload: payloadWith(attachment{1, "a.json"}), files: []upload{good}}), "matches no files[n] part"},
		{"wrong name", form(formBody{payload: payloadWith(attachment{0, "b.json"}), files: []upload{good}}), `named "b.json"`},
		{"attachment without a file", form(formBody{payload: payloadWith(attachment{0, "a.json"})}), "1 attachments for 0 files"},
		{"JSON with attachments", func() ([]byte, string) {
			return []byte(`{"content":"x","attachments":[{"id":0,"filename":"a.json"}]}`), "application/json"
		}, "attachments without files"},
		{"no payload_json", rawForm(t, "files[0]"), "no payload_json part"},
		{"stray part", rawForm(t, "payload_json", "content"), `unexpected part "content"`},
		{"not a form", func() ([]byte, string) { return []byte("x"), "text/plain" }, "want application/json or multipart/form-data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw, ctype := c.body()
			req, err := http.NewRequest(http.MethodPost, f.apiURL()+"/channels/"+chanC1+"/messages", bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bot test-token")
			req.Header.Set("Content-Type", ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reqs := f.find("POST /api/v10/channels/" + chanC1 + "/messages")
			last := reqs[len(reqs)-1]
			if c.refuse == "" {
				if resp.StatusCode != 200 || last.Refused != "" {
					t.Errorf("HTTP %d, refused %q", resp.StatusCode, last.Refused)
				}
				return
			}
			if resp.StatusCode != 400 || !strings.Contains(last.Refused, c.refuse) {
				t.Errorf("HTTP %d, refused %q, want 400 for %q", resp.StatusCode, last.Refused, c.refuse)
			}
		})
	}
}

// rawForm returns a multipart body with parts of the given names, the
// files[n] ones as files, each holding "{}".
func rawForm(t *testing.T, names ...string) func() ([]byte, string) {
	return func() ([]byte, string) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for _, name := range names {
			var p io.Writer
			var err error
			if strings.HasPrefix(name, "files[") {
				p, err = w.CreateFormFile(name, "a.json")
			} else {
				p, err = w.CreateFormField(name)
			}
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(p, "{}")
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), w.FormDataContentType()
	}
}

func TestSafeFileName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"entraide-mes-donnees.json", "entraide-mes-donnees.json"},
		{"mes données 2026.json", "mes_données_2026.json"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{"..", "attachment"},
		{".bashrc", "bashrc"},
		{"a/b\\c\x00d.txt", "a_b_c_d.txt"},
		{"///", "attachment"},
		{"", "attachment"},
		{"\xff.json", "_.json"},
		{"rapport\u202egnp.exe", "rapport_gnp.exe"},
		{strings.Repeat("é", 150) + ".json", strings.Repeat("é", 95) + ".json"},
	} {
		if got := safeFileName(c.in); got != c.want {
			t.Errorf("safeFileName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSafeMIME(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"application/json", "application/json"},
		{"text/csv; charset=utf-8", "text/csv; charset=utf-8"},
		{"Text/Plain; name=x; charset=UTF-8", "text/plain; charset=UTF-8"},
		{"", "application/octet-stream"},
		{"json", "application/octet-stream"},
		{"application/json\r\nX-Evil: 1", "application/octet-stream"},
		{"a/b/c", "application/octet-stream"},
	} {
		if got := safeMIME(c.in); got != c.want {
			t.Errorf("safeMIME(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzSafeFileName checks that no name escapes a directory or carries a
// character other than letters, digits, '.', '-' and '_'.
func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"entraide-mes-donnees.json", "../../etc/passwd", "..", "a\x00b", "\xff", "/", "C:\\x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeFileName(s)
		if got == "" || got == "." || got == ".." || strings.HasPrefix(got, ".") || len([]rune(got)) > maxFileName {
			t.Fatalf("safeFileName(%q) = %q", s, got)
		}
		if slices.ContainsFunc([]rune(got), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && r != '-' && r != '_'
		}) {
			t.Fatalf("safeFileName(%q) = %q", s, got)
		}
	})
}
