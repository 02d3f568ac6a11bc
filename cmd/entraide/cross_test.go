package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"entraide/adapters/matrix"
	"entraide/adapters/matrix/matrixtest"
	slackad "entraide/adapters/slack"
	"entraide/adapters/slack/slacktest"
	"entraide/adapters/sqlstore"
	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// TestMatrixAskerSlackExpert is one network across two platforms in one
// process: a question asked in a Matrix room (on a real Dendrite) reaches
// an expert who works in Slack (the Slack fake, Socket Mode), whose answer
// lands in the question's Matrix thread; the asker accepts it there and
// the expert hears of it in Slack. Everything goes through the real
// adapters and the durable pipeline.
func TestMatrixAskerSlackExpert(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	svc := newService(t)
	mcfg := matrixtest.BotConfig(t, hs, matrix.EncryptionOff)
	ma, err := matrix.New(mcfg, svc.inbox, svc.store, svc.store.DB().DB, svc.log)
	if err != nil {
		t.Fatal(err)
	}
	ws := slacktest.New(t)
	scfg, _, err := slackad.ConfigFromEnv(ws.Env(slacktest.SocketMode))
	if err != nil {
		t.Fatal(err)
	}
	sa, err := slackad.New(scfg, svc.inbox, svc.log)
	if err != nil {
		t.Fatal(err)
	}
	svc.start(t, []bots.Sender{ma, sa}, sa.Run)
	matrixtest.Run(t, ma)
	ws.WaitConnected(t)

	// Carol, in a ministry's Slack, declares her expertise.
	carol := slacktest.User{ID: "U0CAROL", Name: "carol"}
	dm := slacktest.IMChannel(carol.ID)
	ws.Do(t, ws.DM(carol, "!expert congés, mutations"))
	ws.WaitPost(t, dm, "", "congés")

	// Alice asks in a Tchap-like Matrix room.
	alice := matrixtest.Register(t, hs, "alice")
	botID := id.UserID(mcfg.User)
	room := alice.CreateRoom(t, []id.UserID{botID})
	alice.WaitJoined(t, room, botID)
	q := alice.Send(t, room, "!ask Combien de jours de congés pour une mutation ? @room")
	alice.WaitInThread(t, room, q, 0, matrixtest.BodyContains("Question n°"))

	// The request reaches Carol in Slack, the room ping defused.
	request := ws.WaitPost(t, dm, "", "mutation")
	if strings.Contains(request.Text, "<!channel>") || strings.Contains(request.Text, "<!here>") {
		t.Errorf("the request pings a channel: %q", request.Text)
	}
	ws.Do(t, ws.DM(carol, "!answer Deux jours ouvrés, voir la circulaire."))

	// The answer lands in Alice's Matrix thread, from the bot.
	answer := alice.WaitInThread(t, room, q, 0, matrixtest.BodyContains("Deux jours ouvrés"))
	if answer.Sender != botID {
		t.Errorf("the answer comes from %s, want the bot", answer.Sender)
	}
	if msg := answer.Content.AsMessage(); msg.Mentions != nil && msg.Mentions.Room {
		t.Error("the relayed answer pings the room")
	}
	// Alice resolves it in Matrix; Carol hears of it in Slack.
	alice.SendInThread(t, room, q, "!resolve")
	ws.WaitPost(t, dm, "", "résolu")
}

// TestMatrixReactionRSVP: on Matrix, as the service wires it (the adapter
// behind the platform's relay), an event posted in a room gets its card
// with the bot's 👍 and 🤔 under it; a person's 👍 on the card registers
// them, as the button would elsewhere, and they are told so in a direct
// message; taking the 👍 back withdraws them.
func TestMatrixReactionRSVP(t *testing.T) {
	hs := matrixtest.Homeserver(t)
	ctx := context.Background()
	svc := newService(t)
	store := svc.store
	mcfg := matrixtest.BotConfig(t, hs, matrix.EncryptionOff)
	ma, err := matrix.New(mcfg, svc.inbox, store, store.DB().DB, svc.log)
	if err != nil {
		t.Fatal(err)
	}
	plat := termPlatform(matrix.Platform, leaseMatrix, ma, func() (platformAdapter, error) { return nil, errors.New("one term only") })
	run, err := plat.connect()
	if err != nil {
		t.Fatal(err)
	}
	svc.start(t, []bots.Sender{plat.sender}, run)

	alice := matrixtest.Register(t, hs, "alice")
	bob := matrixtest.Register(t, hs, "bob")
	botID := id.UserID(mcfg.User)
	room := alice.CreateRoom(t, []id.UserID{botID, bob.ID()})
	bob.Join(t, room)
	alice.WaitJoined(t, room, botID)
	start := time.Now().Add(72 * time.Hour).In(time.UTC).Format("2006-01-02 15:04")
	post := alice.Send(t, room, "!evenement Atelier achats responsables | début: "+start+" | lieu: Lyon")
	card := alice.WaitInThread(t, room, post, 0, matrixtest.BodyContains("Atelier achats responsables"))
	for _, key := range []string{bots.ReactGoing, bots.ReactMaybe} {
		alice.WaitEvent(t, room, 0, matrixtest.And(matrixtest.SentBy(botID), matrixtest.IsReaction(card.ID, key)))
	}

	thumb := bob.React(t, room, card.ID, bots.ReactGoing)
	dm := bob.AcceptInvite(t, botID, 0)
	bob.WaitEvent(t, dm, 0, matrixtest.BodyContains("C'est noté, vous venez à"))
	rsvps, err := store.RSVPs(ctx, 1)
	if err != nil || len(rsvps) != 1 || rsvps[0].Status != core.RSVPGoing {
		t.Errorf("RSVPs of event 1: %+v, %v; want bob going", rsvps, err)
	}

	// Bob takes his 👍 back: he is no longer going.
	c, stop := context.WithTimeout(ctx, matrixtest.Timeout)
	_, err = bob.Client.RedactEvent(c, room, thumb)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	bob.WaitEvent(t, dm, 0, matrixtest.BodyContains("C'est noté, vous ne venez pas à"))
	rsvps, err = store.RSVPs(ctx, 1)
	if err != nil || len(rsvps) != 1 || rsvps[0].Status != core.RSVPNo {
		t.Errorf("RSVPs of event 1 after the 👍 was taken back: %+v, %v; want bob not going", rsvps, err)
	}
}

// service is one entraide process as the cross-platform tests run it: a
// bot on the default network over a throwaway SQLite store, and a durable
// pipeline, made by start, to which inbox delivers.
type service struct {
	store *sqlstore.Store
	log   *slog.Logger
	bot   *bots.Bot
	pipe  *bots.Pipeline
	inbox bots.Inbox
}

func newService(t *testing.T) *service {
	t.Helper()
	s := &service{store: sqlstoretest.SQLite(t), log: matrixtest.Logger(t)}
	net, err := core.NewNetwork(s.store, nil, core.SystemClock{}, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s.bot, err = bots.New(net, botDefaults(), s.log); err != nil {
		t.Fatal(err)
	}
	s.inbox = bots.InboxFunc(func(ctx context.Context, ev bots.Event) error { return s.pipe.Deliver(ctx, ev) })
	return s
}

// start makes the pipeline, sending through senders and polling every
// 50 ms, and runs it with runs (the adapters' connections) until the test
// ends.
func (s *service) start(t *testing.T, senders []bots.Sender, runs ...func(context.Context) error) {
	t.Helper()
	pcfg := pipelineConfig(s.store.Dialect(), time.Hour)
	pcfg.Poll = 50 * time.Millisecond
	var err error
	if s.pipe, err = bots.NewPipeline(s.store, s.bot, senders, core.SystemClock{}, pcfg, s.log, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runs = append(runs, s.pipe.Run)
	done := make(chan error, len(runs))
	for _, run := range runs {
		go func() { done <- run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for range runs {
			<-done
		}
	})
}
