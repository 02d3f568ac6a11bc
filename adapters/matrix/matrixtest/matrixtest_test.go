package matrixtest_test

import (
	"context"
	"testing"

	"maunium.net/go/mautrix/id"

	"entraide/adapters/matrix"
	"entraide/adapters/matrix/matrixtest"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
)

// TestUsage runs the package's example: a question asked in a room gets an
// answer in its thread, sent through the adapter as a pipeline would (here
// at once, from the inbox), as a cross-platform test sees it.
func TestUsage(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	alice := matrixtest.Register(t, hs, "alice")
	store := sqlstoretest.SQLite(t)
	cfg := matrixtest.BotConfig(t, hs, matrix.EncryptionOff)
	var a *matrix.Adapter
	inbox := bots.InboxFunc(func(ctx context.Context, ev bots.Event) error {
		_, err := a.Send(ctx, bots.Outgoing{To: bots.ReplyTo(ev), Message: *new(bots.Message).Text("Réponse : la DAJ a un modèle."), Key: ev.ID + "/answer"})
		return err
	})
	a, err := matrix.New(cfg, inbox, store, store.DB().DB, matrixtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	matrixtest.Run(t, a)
	room := alice.CreateRoom(t, []id.UserID{id.UserID(cfg.User)})
	alice.WaitJoined(t, room, id.UserID(cfg.User))
	q := alice.Send(t, room, "!ask Qui connaît les marchés publics ?")
	answer := alice.WaitInThread(t, room, q, 0, matrixtest.BodyContains("DAJ"))
	if answer.Sender != id.UserID(cfg.User) {
		t.Errorf("the answer comes from %s, want the bot", answer.Sender)
	}
}
