package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"entraide/bots"
)

func TestFileName(t *testing.T) {
	long := strings.Repeat("é", 150) + ".json"
	for _, tc := range []struct{ in, want string }{
		{"entraide-mes-donnees.json", "entraide-mes-donnees.json"},
		{"mes données.json", "mes_données.json"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{".bashrc", "bashrc"},
		{"a/b\\c:d*e?f\"g<h>i|j", "a_b_c_d_e_f_g_h_i_j"},
		{"facture\u202egnp.exe", "facture_gnp.exe"}, // right-to-left override
		{"ligne\nnouvelle\x00.txt", "ligne_nouvelle_.txt"},
		{"@room.json", "_room.json"},
		{"\xff\xfe.csv", "_.csv"},
		{"", "fichier"},
		{"...", "fichier"},
		{"///", "fichier"},
		{long, strings.Repeat("é", 95) + ".json"}, // 100 characters, the extension kept
	} {
		if got := fileName(tc.in); got != tc.want {
			t.Errorf("fileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFileTxnID(t *testing.T) {
	// A key ending like a file's transaction id does not share it.
	if fileTxnID("q1") == TxnID("q1.file") || fileTxnID("q1") == TxnID("q1:file") || fileTxnID("q1") == TxnID("q1") {
		t.Errorf("fileTxnID(q1) = %q collides with a message's transaction id", fileTxnID("q1"))
	}
	if got := fileTxnID("export/1"); got != "export.2F1.file" {
		t.Errorf("fileTxnID(export/1) = %q", got)
	}
}

// fakeRequest is a request the fake homeserver got.
type fakeRequest struct {
	kind        string // "send" or "upload"
	txn         string // the transaction id of a send
	contentType string
	body        []byte
}

// TestSendFile checks, against a fake homeserver, the requests of a
// message with a file: the spans as an m.notice, the upload, the m.file
// event with a transaction id of its own in the same thread; a resend
// repeats nothing; a failed upload is retried without repeating the
// notice; a file too large is refused without a request.
func TestSendFile(t *testing.T) {
	var mu sync.Mutex
	var reqs []fakeRequest
	failUpload := 0 // the status of the next upload, 0 for success
	f := &fakeHomeserver{
		send: func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			txn := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			mu.Lock()
			reqs = append(reqs, fakeRequest{kind: "send", txn: txn, body: body})
			mu.Unlock()
			fmt.Fprintf(w, `{"event_id":"$%s"}`, txn)
		},
		upload: func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			reqs = append(reqs, fakeRequest{kind: "upload", contentType: r.Header.Get("Content-Type"), body: body})
			switch failUpload {
			case 0:
				fmt.Fprintf(w, `{"content_uri":"mxc://fake/up%d"}`, len(reqs))
			case 413:
				w.WriteHeader(413)
				fmt.Fprint(w, `{"errcode":"M_TOO_LARGE","error":"too large"}`)
			default:
				w.WriteHeader(failUpload)
				fmt.Fprint(w, `{"errcode":"M_UNKNOWN","error":"storage down"}`)
			}
			failUpload = 0
		},
	}
	a, _ := runFake(t, f, bots.InboxFunc(func(context.Context, bots.Event) error { return nil }))
	ctx := context.Background()
	taken := func() []fakeRequest {
		mu.Lock()
		defer mu.Unlock()
		out := reqs
		reqs = nil
		return out
	}
	data := []byte(`{"personne":"Alice","questions":[1,2]}`)
	file := &bots.File{Name: "mes données.json", MIME: "application/json", Data: data}
	to := bots.Destination{Platform: Platform, Room: "!r:fake", Thread: "$root"}
	var m bots.Message
	m.Text("Voici vos données.")
	m.File = file
	out := bots.Outgoing{To: to, Message: m, Key: "export/1"}

	sent, err := a.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if sent.MessageID != "$export.2F1" {
		t.Errorf("MessageID %q, want the notice's", sent.MessageID)
	}
	got := taken()
	if len(got) != 3 || got[0].kind != "send" || got[1].kind != "upload" || got[2].kind != "send" {
		t.Fatalf("requests %+v, want send, upload, send", got)
	}
	if got[0].txn != "export.2F1" || got[2].txn != "export.2F1.file" {
		t.Errorf("transaction ids %q and %q", got[0].txn, got[2].txn)
	}
	var notice map[string]any
	json.Unmarshal(got[0].body, &notice)
	if notice["msgtype"] != "m.notice" || notice["body"] != "Voici vos données." || asJSON(notice["m.relates_to"]) == "null" {
		t.Errorf("notice %s", got[0].body)
	}
	if got[1].contentType != "application/json" || !bytes.Equal(got[1].body, data) {
		t.Errorf("upload %q %q, want the JSON", got[1].contentType, got[1].body)
	}
	want := `{"body":"mes_données.json","filename":"mes_données.json","fr.entraide.txn":"export.2F1.file","info":{"mimetype":"application/json","size":38},` +
		`"m.mentions":{},"m.relates_to":{"event_id":"$root","is_falling_back":true,"m.in_reply_to":{"event_id":"$root"},"rel_type":"m.thread"},` +
		`"msgtype":"m.file","url":"mxc://fake/up2"}`
	var fileEvent map[string]any
	json.Unmarshal(got[2].body, &fileEvent)
	if asJSON(fileEvent) != want {
		t.Errorf("file event\n%s\nwant\n%s", asJSON(fileEvent), want)
	}

	// A resend sends nothing.
	if again, err := a.Send(ctx, out); err != nil || again != sent {
		t.Errorf("resend: %v %v, want %v", again, err, sent)
	}
	if got := taken(); len(got) != 0 {
		t.Errorf("a resend made requests: %+v", got)
	}

	// A file alone: no notice.
	only := bots.Outgoing{To: bots.Destination{Platform: Platform, Room: "!r:fake"}, Message: bots.Message{File: file}, Key: "export/2"}
	sent, err = a.Send(ctx, only)
	if err != nil || sent.MessageID != "$export.2F2.file" {
		t.Fatalf("file alone: %v %v", sent, err)
	}
	if got := taken(); len(got) != 2 || got[0].kind != "upload" || got[1].txn != "export.2F2.file" {
		t.Errorf("file alone: requests %+v, want upload, send", got)
	}

	// A failed upload: the notice is sent once, the file on the retry.
	mu.Lock()
	failUpload = 500
	mu.Unlock()
	out.Key = "export/3"
	if _, err := a.Send(ctx, out); err == nil || errors.Is(err, bots.ErrUndeliverable) {
		t.Fatalf("failed upload: %v, want a transient error", err)
	}
	if got := taken(); len(got) != 2 || got[0].txn != "export.2F3" || got[1].kind != "upload" {
		t.Errorf("failed upload: requests %+v, want send, upload", got)
	}
	if sent, err := a.Send(ctx, out); err != nil || sent.MessageID != "$export.2F3" {
		t.Fatalf("retry: %v %v", sent, err)
	}
	if got := taken(); len(got) != 2 || got[0].kind != "upload" || got[1].txn != "export.2F3.file" {
		t.Errorf("retry: requests %+v, want upload, send of the file alone", got)
	}

	// The homeserver's refusal of a large upload is final.
	mu.Lock()
	failUpload = 413
	mu.Unlock()
	only.Key = "export/4"
	if _, err := a.Send(ctx, only); !errors.Is(err, bots.ErrUndeliverable) {
		t.Errorf("upload refused as too large: %v, want ErrUndeliverable", err)
	}
	taken()

	// Over bots.MaxFileSize: refused before any request.
	big := bots.Outgoing{To: to, Message: bots.Message{Spans: m.Spans, File: &bots.File{Name: "gros.json", MIME: "application/json", Data: make([]byte, bots.MaxFileSize+1)}}, Key: "export/5"}
	_, err = a.Send(ctx, big)
	if !errors.Is(err, bots.ErrUndeliverable) || !strings.Contains(err.Error(), "gros.json") || !strings.Contains(err.Error(), "MaxFileSize") {
		t.Errorf("file too large: %v, want ErrUndeliverable naming the file and the limit", err)
	}
	if got := taken(); len(got) != 0 {
		t.Errorf("a file too large made requests: %+v", got)
	}
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
