package matrix

import (
	"context"
	"slices"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// What the integration tests (package matrix_test, which uses matrixtest,
// which imports this package) read or change inside an adapter.

// Timings are the adapter's delays that tests shorten; a zero field keeps
// the adapter's value.
type Timings struct {
	Sync, KeyWait, GiveUp, MaxBackoff time.Duration
}

// SetTimings shortens a's delays. Call it before Run.
func SetTimings(a *Adapter, t Timings) {
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	set(&a.syncTimeout, t.Sync)
	set(&a.keyWait, t.KeyWait)
	set(&a.giveUp, t.GiveUp)
	set(&a.maxBackoff, t.MaxBackoff)
}

// DirectRooms returns the direct rooms a shares with user, as m.direct
// records them.
func DirectRooms(a *Adapter, user id.UserID) []id.RoomID {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.direct[user])
}

// Membership returns user's membership of room in a's state store.
func Membership(ctx context.Context, a *Adapter, room id.RoomID, user id.UserID) (event.Membership, error) {
	return a.state.GetMembership(ctx, room, user)
}

// SendContent sends content into room with the transaction id of key,
// without the adapter's record of sent messages.
func SendContent(ctx context.Context, a *Adapter, room id.RoomID, content *event.MessageEventContent, key string) (id.EventID, error) {
	return a.sendContent(ctx, room, content, TxnID(key))
}

// CheckpointKey returns the checkpoint key under which a keeps name.
func CheckpointKey(a *Adapter, name string) string { return a.key(name) }

// DeviceID returns a's device, once logged in.
func DeviceID(a *Adapter) id.DeviceID {
	<-a.ready
	return a.cli.DeviceID
}

// CatchUp runs a's catching up after sync failures, back to cutoff. Call
// it on an adapter that is not running.
func CatchUp(ctx context.Context, a *Adapter, cutoff time.Time) error {
	return a.catchUp(ctx, cutoff)
}

// FindInDoubt marks the send of key's transaction id in doubt since began,
// then looks for its event in room as the next send would.
func FindInDoubt(ctx context.Context, a *Adapter, room id.RoomID, key string, began time.Time) (id.EventID, error) {
	a.mu.Lock()
	a.doubt[TxnID(key)] = began
	a.mu.Unlock()
	return a.findInDoubt(ctx, room, TxnID(key))
}
