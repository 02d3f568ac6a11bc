//go:build goolm

package matrix

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// cryptoAvailable is true: this build has end-to-end encryption through
// mautrix's pure-Go olm implementation.
const cryptoAvailable = true

// olmCrypto is end-to-end encryption through mautrix's OlmMachine, its keys
// in entraide's database encrypted with the pickle key.
//
// It does what mautrix's cryptohelper does at start (same store, same
// checks), without the helper itself: the helper decrypts events in
// goroutines of its own and imports a cgo SQLite driver, while the adapter
// decrypts in order, before saving its sync position.
type olmCrypto struct {
	// mu serialises the use of mach: OlmMachine caches keys without locks,
	// and the adapter encrypts in Send while Run decrypts.
	mu    sync.Mutex
	mach  *crypto.OlmMachine
	cli   *mautrix.Client
	state mautrix.StateStore
}

// hook has s feed /sync responses and membership changes to the machine.
func (c *olmCrypto) hook(s mautrix.ExtensibleSyncer) {
	s.OnSync(func(ctx context.Context, resp *mautrix.RespSync, since string) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.mach.ProcessSyncResponse(ctx, resp, since)
	})
	s.OnEventType(event.StateMember, func(ctx context.Context, evt *event.Event) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.mach.HandleMemberEvent(ctx, evt)
	})
	s.OnEventType(event.StateHistoryVisibility, func(ctx context.Context, evt *event.Event) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.mach.HandleHistoryVisibility(ctx, evt)
	})
}

// startCrypto loads (or creates) the bot's device keys, checks them against
// the homeserver, hooks the crypto machine into /sync processing and
// cross-signs the bot's device when it can.
func (a *Adapter) startCrypto(ctx context.Context) (e2ee, error) {
	if a.cfg.PickleKey == "" {
		return nil, fmt.Errorf("%w: %s is empty: set it to a long random secret (openssl rand -hex 32)", errCryptoSetup, EnvPickleKey)
	}
	zlog := a.cli.Log.With().Str("component", "crypto").Logger()
	store := crypto.NewSQLCryptoStore(a.db, dbutil.ZeroLogger(zlog), "", a.cli.DeviceID, []byte(a.cfg.PickleKey))
	if err := store.DB.Upgrade(ctx); err != nil {
		return nil, fmt.Errorf("matrix: prepare crypto tables: %w", err)
	}
	stored, err := store.FindDeviceID(ctx)
	if err != nil {
		return nil, fmt.Errorf("matrix: read crypto device: %w", err)
	}
	if stored != "" && stored != a.cli.DeviceID {
		return nil, fmt.Errorf("%w: the keys in the database belong to device %s but the bot logged in as %s: set %s=%s", errCryptoSetup, stored, a.cli.DeviceID, EnvDeviceID, stored)
	}
	mach := crypto.NewOlmMachine(a.cli, &zlog, store, a.state)
	mach.SetBackgroundCtx(ctx)
	if err := mach.Load(ctx); err != nil {
		return nil, fmt.Errorf("%w: load device keys (is %s the one they were saved with?): %v", errCryptoSetup, EnvPickleKey, err)
	}
	if err := checkDeviceKeys(ctx, a.cli, mach); err != nil {
		return nil, err
	}
	if a.cfg.Password != "" {
		if err := crossSign(ctx, mach, a.cfg.Password, a.cfg.PickleKey); err != nil {
			a.log.Warn("matrix: the bot's device is not cross-signed; clients may show it as unverified", "err", err)
		}
	}
	c := &olmCrypto{mach: mach, cli: a.cli, state: a.state}
	c.hook(a.syncer)
	return c, nil
}

// checkDeviceKeys uploads the device's keys the first time, and checks
// later that the homeserver still has the same ones.
func checkDeviceKeys(ctx context.Context, cli *mautrix.Client, mach *crypto.OlmMachine) error {
	resp, err := cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{
		DeviceKeys: map[id.UserID]mautrix.DeviceIDList{cli.UserID: {cli.DeviceID}},
	})
	if err != nil {
		return fmt.Errorf("matrix: query the bot's device keys: %w", err)
	}
	shared := mach.GetAccount().Shared
	device, ok := resp.DeviceKeys[cli.UserID][cli.DeviceID]
	switch {
	case !ok || len(device.Keys) == 0:
		if shared {
			return fmt.Errorf("%w: the homeserver lost the keys of device %s: log the device out and use a new %s", errCryptoSetup, cli.DeviceID, EnvDeviceID)
		}
		if err := mach.ShareKeys(ctx, -1); err != nil {
			return fmt.Errorf("matrix: upload device keys: %w", err)
		}
	case !shared:
		return fmt.Errorf("%w: device %s already has other keys on the homeserver (lost database or pickle key?): set a new %s, or log that device out", errCryptoSetup, cli.DeviceID, EnvDeviceID)
	case device.Keys.GetEd25519(cli.DeviceID) != mach.OwnIdentity().SigningKey:
		return fmt.Errorf("%w: the homeserver has other keys for device %s: set a new %s", errCryptoSetup, cli.DeviceID, EnvDeviceID)
	}
	return nil
}

// crossSign makes the bot's device trusted by clients that check
// cross-signing: the first time, it creates the account's cross-signing
// keys (the homeserver asks for the password) and keeps their private
// parts in secret storage under a key derived from the pickle key; on a
// later device of the same account it takes them back from there.
func crossSign(ctx context.Context, mach *crypto.OlmMachine, password, pickleKey string) error {
	hasKeys, verified, err := mach.GetOwnVerificationStatus(ctx)
	if err != nil {
		return fmt.Errorf("read cross-signing status: %w", err)
	}
	if verified {
		return nil
	}
	if !hasKeys {
		if _, _, err := mach.GenerateAndUploadCrossSigningKeysWithPassword(ctx, password, pickleKey); err != nil {
			return fmt.Errorf("create cross-signing keys: %w", err)
		}
	} else {
		keyID, keyData, err := mach.SSSS.GetDefaultKeyData(ctx)
		if err != nil {
			return fmt.Errorf("find secret storage: %w", err)
		}
		key, err := keyData.VerifyPassphrase(keyID, pickleKey)
		if err != nil {
			return fmt.Errorf("open secret storage with the pickle key: %w", err)
		}
		if err := mach.FetchCrossSigningKeysFromSSSS(ctx, key); err != nil {
			return fmt.Errorf("read cross-signing keys: %w", err)
		}
	}
	if err := mach.SignOwnDevice(ctx, mach.OwnIdentity()); err != nil {
		return fmt.Errorf("sign the device: %w", err)
	}
	if err := mach.SignOwnMasterKey(ctx); err != nil {
		return fmt.Errorf("sign the master key: %w", err)
	}
	return nil
}

// decrypt implements e2ee.
func (c *olmCrypto) decrypt(ctx context.Context, evt *event.Event) (*event.Event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dec, err := c.mach.DecryptMegolmEvent(ctx, evt)
	if errors.Is(err, crypto.ErrNoSessionFound) {
		return nil, fmt.Errorf("%w: %v", errNoSession, err)
	}
	if err != nil {
		return nil, fmt.Errorf("matrix: decrypt %s: %w", evt.ID, err)
	}
	dec.Mautrix.EventSource |= event.SourceDecrypted
	return dec, nil
}

// requestKeys implements e2ee.
func (c *olmCrypto) requestKeys(ctx context.Context, evt *event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	content, ok := evt.Content.Parsed.(*event.EncryptedEventContent)
	if !ok {
		return
	}
	device := content.DeviceID
	if device == "" {
		device = "*"
	}
	err := c.mach.SendRoomKeyRequest(ctx, evt.RoomID, content.SenderKey, content.SessionID, "", map[id.UserID][]id.DeviceID{
		evt.Sender:   {device},
		c.cli.UserID: {"*"},
	})
	if err != nil {
		c.mach.Log.Warn().Err(err).Str("event_id", evt.ID.String()).Msg("cannot request room keys")
	}
}

// encrypt implements e2ee: it encrypts content for room, sharing a new
// group session with the room's members when needed.
func (c *olmCrypto) encrypt(ctx context.Context, room id.RoomID, t event.Type, content any) (*event.EncryptedEventContent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	enc, err := c.mach.EncryptMegolmEvent(ctx, room, t, content)
	if err == nil {
		return enc, nil
	}
	if !errors.Is(err, crypto.ErrSessionExpired) && !errors.Is(err, crypto.ErrNoGroupSession) && !errors.Is(err, crypto.ErrSessionNotShared) {
		return nil, fmt.Errorf("matrix: encrypt for %s: %w", room, err)
	}
	users, err := c.state.GetRoomJoinedOrInvitedMembers(ctx, room)
	if err != nil {
		return nil, fmt.Errorf("matrix: members of %s: %w", room, err)
	}
	if err := c.mach.ShareGroupSession(ctx, room, users); err != nil {
		return nil, fmt.Errorf("matrix: share keys in %s: %w", room, err)
	}
	enc, err = c.mach.EncryptMegolmEvent(ctx, room, t, content)
	if err != nil {
		return nil, fmt.Errorf("matrix: encrypt for %s: %w", room, err)
	}
	return enc, nil
}
