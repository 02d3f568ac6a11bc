package matrix_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"entraide/adapters/matrix"
	"entraide/adapters/matrix/matrixtest"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// exportFile is a person's data export, as the bot sends it.
func exportFile() *bots.File {
	return &bots.File{
		Name: "entraide-mes-donnees.json", MIME: "application/json",
		Data: []byte(`{"personne":{"nom":"Alice","serveur":"@room <b>"},"questions":[{"id":1,"texte":"Qui connaît les marchés publics ?"}]}` + "\n"),
	}
}

// TestMatrixSendFile: the bot sends a direct message with a JSON file; the
// person's client reads the notice, then the m.file event, and downloads
// the same bytes. A resend of the same key posts no second event, whether
// the adapter finds its record, or the record was lost (a crash after the
// send) and the homeserver recognises the transaction id, or the adapter
// restarted. In a room, the file goes into the thread.
func TestMatrixSendFile(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	alice := matrixtest.Register(t, hs, "alice")
	store := sqlstoretest.SQLite(t)
	cfg := matrixtest.BotConfig(t, hs, matrix.EncryptionOff)
	b := startBot(t, cfg, store, newRecorder())
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
	dm := alice.AcceptInvite(t, b.UserID(), 0)
	evt := alice.WaitEvent(t, dm, 0, matrixtest.IsFile())
	content := evt.Content.AsMessage()
	if content.Body != "entraide-mes-donnees.json" || content.Info == nil || content.Info.MimeType != "application/json" ||
		content.Info.Size != len(file.Data) || content.File != nil || content.URL == "" {
		t.Errorf("file event %s", evt.Content.VeryRaw)
	}
	if got := jsonOf(evt.Content.Raw["m.mentions"]); got != "{}" {
		t.Errorf("m.mentions of the file %s, want {}", got)
	}
	if got := alice.Download(t, content); !bytes.Equal(got, file.Data) {
		t.Errorf("downloaded %q, want %q", got, file.Data)
	}
	evts := alice.Events(t, dm)
	notice := slices.IndexFunc(evts, func(e *event.Event) bool { return e.ID == id.EventID(sent.MessageID) })
	fileAt := slices.IndexFunc(evts, func(e *event.Event) bool { return e.ID == evt.ID })
	if notice < 0 || notice > fileAt || evts[notice].Content.AsMessage().Body != "Voici vos données." {
		t.Errorf("the notice (%s, at %d) does not come before the file (at %d)", sent.MessageID, notice, fileAt)
	}

	// Resends: the adapter's record; the homeserver's transaction ids when
	// the record of the file event is lost; a restarted adapter.
	if again, err := b.Send(ctx, out); err != nil || again != sent {
		t.Errorf("resend: %v %v, want %v", again, err, sent)
	}
	if err := store.SetCheckpoint(ctx, matrix.CheckpointKey(b.Adapter, "file:"+out.Key), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, out); err != nil {
		t.Errorf("resend without the record of the file: %v", err)
	}
	b.stop()
	b = startBot(t, cfg, store, newRecorder())
	if again, err := b.Send(ctx, out); err != nil || again != sent {
		t.Errorf("resend after a restart: %v %v, want %v", again, err, sent)
	}
	// A message of alice's own marks the end: what the resends would have
	// posted comes before it.
	end := alice.Send(t, dm, "fin")
	alice.WaitEvent(t, dm, 0, func(e *event.Event) bool { return e.ID == end })
	if n := alice.Count(t, dm, matrixtest.IsFile()); n != 1 {
		t.Errorf("%d m.file events, want one", n)
	}
	if n := alice.Count(t, dm, matrixtest.BodyContains("Voici vos données.")); n != 1 {
		t.Errorf("%d notices, want one", n)
	}

	// In a room, in the thread of a question, the file alone.
	room := roomWithBot(t, alice, b.UserID())
	q := alice.Send(t, room, "!export")
	inThread := bots.Outgoing{To: bots.Destination{Platform: matrix.Platform, Room: string(room), Thread: string(q)}, Message: bots.Message{File: file}, Key: "export/thread"}
	sent, err = b.Send(ctx, inThread)
	if err != nil {
		t.Fatal(err)
	}
	evt = alice.WaitInThread(t, room, q, 0, matrixtest.IsFile())
	if evt.ID != id.EventID(sent.MessageID) {
		t.Errorf("the file in the thread is %s, want the event sent, %s", evt.ID, sent.MessageID)
	}
	if got := alice.Download(t, evt.Content.AsMessage()); !bytes.Equal(got, file.Data) {
		t.Errorf("downloaded from the thread %q, want %q", got, file.Data)
	}
	isMessage := func(e *event.Event) bool { return e.Type == event.EventMessage }
	if n := alice.Count(t, room, matrixtest.And(matrixtest.SentBy(b.UserID()), isMessage)); n != 1 {
		t.Errorf("%d events of the bot in the room, want the file alone", n)
	}

	// Over bots.MaxFileSize: refused.
	big := inThread
	big.Key = "export/big"
	big.Message.File = &bots.File{Name: "gros.json", MIME: "application/json", Data: make([]byte, bots.MaxFileSize+1)}
	if _, err := b.Send(ctx, big); !errors.Is(err, bots.ErrUndeliverable) {
		t.Errorf("a file over MaxFileSize: %v, want ErrUndeliverable", err)
	}
}
