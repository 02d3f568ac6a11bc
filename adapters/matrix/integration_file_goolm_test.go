//go:build goolm

package matrix_test

import (
	"bytes"
	"context"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"entraide/adapters/matrix"
	"entraide/adapters/matrix/matrixtest"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// TestMatrixEncryptedFile: in an encrypted direct room (as on Tchap), the
// bot's file is an encrypted attachment: the event is m.room.encrypted on
// the server, the media repository holds ciphertext only, and the person's
// client decrypts the event and then the attachment to the same bytes. A
// resend after the record of the file event was lost posts no second one.
func TestMatrixEncryptedFile(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	alice := matrixtest.RegisterEncrypted(t, hs, "alice")
	store := sqlstoretest.SQLite(t)
	b := startBot(t, matrixtest.BotConfig(t, hs, matrix.EncryptionRequired), store, newRecorder())
	ctx := context.Background()

	file := exportFile()
	var m bots.Message
	m.Text("Voici vos données.")
	m.File = file
	out := bots.Outgoing{To: bots.DirectTo(core.Identity{Platform: matrix.Platform, User: string(alice.ID())}), Message: m, Key: "export/alice"}
	sent, err := b.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	isFile := func(evt *event.Event) bool { return evt.Content.AsMessage().MsgType == event.MsgFile }
	dec := alice.Wait(t, 0, isFile)
	notice := alice.Wait(t, 0, func(evt *event.Event) bool { return evt.ID == id.EventID(sent.MessageID) })
	if notice.RoomID != dec.RoomID || notice.Content.AsMessage().Body != "Voici vos données." {
		t.Errorf("notice %q in %s, file in %s", notice.Content.AsMessage().Body, notice.RoomID, dec.RoomID)
	}
	if raw := alice.Event(t, dec.RoomID, dec.ID); raw.Type != event.EventEncrypted {
		t.Errorf("the file event is %s on the server, want m.room.encrypted", raw.Type.Type)
	}
	content := dec.Content.AsMessage()
	if content.URL != "" || content.File == nil || content.File.URL == "" || content.Body != "entraide-mes-donnees.json" ||
		content.Info == nil || content.Info.MimeType != "application/json" || content.Info.Size != len(file.Data) {
		t.Errorf("decrypted file event %s", dec.Content.VeryRaw)
	}
	if got := alice.Download(t, content); !bytes.Equal(got, file.Data) {
		t.Errorf("decrypted attachment %q, want %q", got, file.Data)
	}
	// What the homeserver stores is not the file.
	mxc, err := content.File.URL.Parse()
	if err != nil {
		t.Fatal(err)
	}
	stored, err := alice.Client.DownloadBytes(ctx, mxc)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(file.Data) || bytes.Equal(stored, file.Data) || bytes.Contains(stored, []byte("Alice")) {
		t.Errorf("the media repository holds %q, want ciphertext of the same length", stored)
	}

	// A resend after the record of the file event was lost: the
	// homeserver recognises the transaction id.
	if err := store.SetCheckpoint(ctx, matrix.CheckpointKey(b.Adapter, "file:"+out.Key), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, out); err != nil {
		t.Fatal(err)
	}
	end := alice.Send(t, dec.RoomID, "fin")
	alice.Wait(t, 0, func(evt *event.Event) bool { return evt.ID == end })
	files := 0
	for _, evt := range alice.Decrypted() {
		if isFile(evt) {
			files++
		}
	}
	if files != 1 {
		t.Errorf("%d file events decrypted, want one", files)
	}
}
