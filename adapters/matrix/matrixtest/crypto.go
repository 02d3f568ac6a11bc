//go:build goolm

package matrixtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/sqlstatestore"
	_ "modernc.org/sqlite" // the database of the person's keys
)

// EncryptedUser is a person whose client encrypts and decrypts, as Element
// or Tchap would: device keys of its own (in a SQLite file of the test), a
// /sync loop that runs until the test ends, accepts every invite (direct
// rooms included) and decrypts what arrives in encrypted rooms. It needs
// the goolm build tag.
//
// Its Send methods encrypt (the embedded User's write in clear); Wait and
// Decrypted give decrypted events, while the User's Event, Events and
// WaitEvent read them as the server has them.
type EncryptedUser struct {
	*User

	state *sqlstatestore.SQLStateStore
	// mu serialises the use of mach, which caches keys without locks, and
	// guards the fields below.
	mu     sync.Mutex
	mach   *crypto.OlmMachine
	got    []*event.Event // decrypted, in the order they came
	failed []string       // why events could not be decrypted (yet)
	late   []*event.Event // waiting for their keys
	added  chan struct{}
}

// RegisterEncrypted registers a fresh person on hs (see Register), uploads
// the keys of their device and starts their client.
func RegisterEncrypted(tb testing.TB, hs, name string) *EncryptedUser {
	tb.Helper()
	u := Register(tb, hs, name)
	cli := u.Client
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(tb.TempDir(), "keys.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		tb.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	tb.Cleanup(func() { raw.Close() })
	db, err := dbutil.NewWithDB(raw, "sqlite3")
	if err != nil {
		tb.Fatal(err)
	}
	state := sqlstatestore.NewSQLStateStore(db, dbutil.NoopLogger, false)
	if err := state.Upgrade(ctx); err != nil {
		tb.Fatalf("matrixtest: state store of %s: %v", cli.UserID, err)
	}
	cli.StateStore = state
	store := crypto.NewSQLCryptoStore(db, dbutil.NoopLogger, "", cli.DeviceID, []byte("matrixtest-pickle-key"))
	if err := store.DB.Upgrade(ctx); err != nil {
		tb.Fatalf("matrixtest: crypto store of %s: %v", cli.UserID, err)
	}
	log := zerolog.Nop()
	mach := crypto.NewOlmMachine(cli, &log, store, state)
	if err := mach.Load(ctx); err != nil {
		tb.Fatalf("matrixtest: keys of %s: %v", cli.UserID, err)
	}
	if err := mach.ShareKeys(ctx, -1); err != nil {
		tb.Fatalf("matrixtest: upload the keys of %s: %v", cli.UserID, err)
	}
	e := &EncryptedUser{User: u, state: state, mach: mach, added: make(chan struct{}, 1)}
	s := cli.Syncer.(*mautrix.DefaultSyncer)
	s.OnSync(func(ctx context.Context, resp *mautrix.RespSync, since string) bool {
		e.mu.Lock()
		ok := e.mach.ProcessSyncResponse(ctx, resp, since)
		e.mu.Unlock()
		// Keys may come in a later /sync than their message: like a real
		// client, try those again after each sync.
		e.mu.Lock()
		again := e.late
		e.late = nil
		e.mu.Unlock()
		for _, evt := range again {
			e.decrypt(ctx, evt)
		}
		return ok
	})
	s.OnEvent(cli.StateStoreSyncHandler)
	s.OnEventType(event.StateMember, func(ctx context.Context, evt *event.Event) {
		e.mu.Lock()
		e.mach.HandleMemberEvent(ctx, evt)
		e.mu.Unlock()
		if evt.GetStateKey() == cli.UserID.String() && evt.Content.AsMember().Membership == event.MembershipInvite {
			cli.JoinRoomByID(ctx, evt.RoomID)
		}
	})
	s.OnEventType(event.StateHistoryVisibility, func(ctx context.Context, evt *event.Event) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.mach.HandleHistoryVisibility(ctx, evt)
	})
	s.OnEventType(event.EventEncrypted, e.decrypt)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := cli.SyncWithContext(ctx); err != nil && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond) // a failed sync: start again
			}
		}
	}()
	tb.Cleanup(func() { cancel(); <-done })
	return e
}

// decrypt decrypts evt and keeps it, or keeps it for later when its keys
// have not arrived.
func (e *EncryptedUser) decrypt(ctx context.Context, evt *event.Event) {
	e.mu.Lock()
	dec, err := e.mach.DecryptMegolmEvent(ctx, evt)
	switch {
	case errors.Is(err, crypto.ErrNoSessionFound):
		e.late = append(e.late, evt)
		e.failed = append(e.failed, evt.ID.String()+": "+err.Error())
	case err != nil:
		e.failed = append(e.failed, evt.ID.String()+": "+err.Error())
	default:
		parse(dec)
		e.got = append(e.got, dec)
	}
	e.mu.Unlock()
	select {
	case e.added <- struct{}{}:
	default:
	}
}

// Send writes body as an encrypted m.text message into room, as a
// person's client does, and returns its id. The room must be encrypted and
// the client must have seen its members join (WaitJoined).
func (e *EncryptedUser) Send(tb testing.TB, room id.RoomID, body string) id.EventID {
	tb.Helper()
	return e.SendContent(tb, room, &event.MessageEventContent{MsgType: event.MsgText, Body: body})
}

// SendInThread writes body as an encrypted m.text message into the thread
// of root in room and returns its id.
func (e *EncryptedUser) SendInThread(tb testing.TB, room id.RoomID, root id.EventID, body string) id.EventID {
	tb.Helper()
	return e.SendContent(tb, room, &event.MessageEventContent{MsgType: event.MsgText, Body: body, RelatesTo: ThreadOf(root)})
}

// SendContent encrypts content for room and sends it, and returns its id.
func (e *EncryptedUser) SendContent(tb testing.TB, room id.RoomID, content *event.MessageEventContent) id.EventID {
	tb.Helper()
	return e.sendEncrypted(tb, room, event.EventMessage, content)
}

// React adds the reaction key to the event target of room, encrypted as
// Element does in an encrypted room, and returns the reaction's id.
func (e *EncryptedUser) React(tb testing.TB, room id.RoomID, target id.EventID, key string) id.EventID {
	tb.Helper()
	content := &event.ReactionEventContent{RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: target, Key: key}}
	return e.sendEncrypted(tb, room, event.EventReaction, content)
}

func (e *EncryptedUser) sendEncrypted(tb testing.TB, room id.RoomID, t event.Type, content any) id.EventID {
	tb.Helper()
	c, cancel := requestCtx()
	defer cancel()
	enc, err := e.encrypt(c, room, t, content)
	if err != nil {
		e.fatalf(tb, "encrypt for %s: %v", room, err)
	}
	resp, err := e.Client.SendMessageEvent(c, room, event.EventEncrypted, enc)
	if err != nil {
		e.fatalf(tb, "send into %s: %v", room, err)
	}
	return resp.EventID
}

func (e *EncryptedUser) encrypt(ctx context.Context, room id.RoomID, t event.Type, content any) (*event.EncryptedEventContent, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	enc, err := e.mach.EncryptMegolmEvent(ctx, room, t, content)
	if err == nil {
		return enc, nil
	}
	if !errors.Is(err, crypto.ErrSessionExpired) && !errors.Is(err, crypto.ErrNoGroupSession) && !errors.Is(err, crypto.ErrSessionNotShared) {
		return nil, err
	}
	users, err := e.state.GetRoomJoinedOrInvitedMembers(ctx, room)
	if err != nil {
		return nil, err
	}
	if err := e.mach.ShareGroupSession(ctx, room, users); err != nil {
		return nil, fmt.Errorf("share the room key: %w", err)
	}
	return e.mach.EncryptMegolmEvent(ctx, room, t, content)
}

// Wait waits until a decrypted event matches m and returns it (the first
// to have been decrypted when several do). Its RoomID says where it came
// from: a direct room, say. timeout 0 means Timeout.
func (e *EncryptedUser) Wait(tb testing.TB, timeout time.Duration, m Match) *event.Event {
	tb.Helper()
	deadline := time.After(or(timeout))
	for {
		e.mu.Lock()
		i := slices.IndexFunc(e.got, m)
		var evt *event.Event
		if i >= 0 {
			evt = e.got[i]
		}
		failed := slices.Clone(e.failed)
		e.mu.Unlock()
		if evt != nil {
			return evt
		}
		select {
		case <-e.added:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			e.fatalf(tb, "no matching event decrypted within %s (failures: %q)", or(timeout), failed)
		}
	}
}

// Decrypted returns the events decrypted so far, in the order they came.
func (e *EncryptedUser) Decrypted() []*event.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got)
}

// WaitJoined waits until the person's client saw user join room: then it
// shares its room keys with them (the homeserver may know it earlier).
func (e *EncryptedUser) WaitJoined(tb testing.TB, room id.RoomID, user id.UserID) {
	tb.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		if m, err := e.state.GetMembership(context.Background(), room, user); err == nil && m == event.MembershipJoin {
			return
		}
		if time.Now().After(deadline) {
			e.fatalf(tb, "never saw %s join %s within %s", user, room, Timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Trust returns how far the person's client trusts device of user: a
// cross-signed device is at least id.TrustStateCrossSignedUntrusted.
func (e *EncryptedUser) Trust(tb testing.TB, user id.UserID, device id.DeviceID) id.TrustState {
	tb.Helper()
	c, cancel := requestCtx()
	defer cancel()
	e.mu.Lock()
	defer e.mu.Unlock()
	dev, err := e.mach.GetOrFetchDevice(c, user, device)
	if err != nil {
		e.fatalf(tb, "read device %s of %s: %v", device, user, err)
	}
	return e.mach.ResolveTrust(dev)
}
