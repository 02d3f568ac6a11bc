// Package matrix is entraide's Matrix adapter (Tchap included): it logs the
// bot in with a stable device, joins the rooms it is invited to, hands every
// text message people write to a bots.Inbox, and sends the bot's messages as
// m.notice with HTML formatting, and their files as m.file (encrypted
// attachments in encrypted rooms), in threads and in direct messages it
// creates on demand.
//
// The adapter owns its /sync position: the next_batch token is saved in the
// Checkpointer only after the inbox took every event of the batch, so a
// restart replays at most the last batch (the inbox drops duplicates by
// event id) and never skips one.
//
// End-to-end encryption uses mautrix's crypto helper, which builds without
// cgo only with the goolm build tag: `go build -tags goolm`. Without the tag
// the adapter still works in unencrypted rooms and says so in encrypted
// ones; with ENTRAIDE_MATRIX_ENCRYPTION=required it refuses to start.
package matrix

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lib/pq"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/sqlstatestore"
	"modernc.org/sqlite"

	"entraide/bots"
	"entraide/core"
)

// Platform is Matrix's platform name.
const Platform core.Platform = "matrix"

// Checkpointer keeps small values across restarts: the /sync position, the
// events waiting for their decryption keys and the ids of sent messages.
// *sqlstore.Store implements it.
type Checkpointer interface {
	Checkpoint(ctx context.Context, key string) (string, error)
	SetCheckpoint(ctx context.Context, key, value string) error
}

// e2ee is end-to-end encryption as the adapter uses it. The adapter asks
// for each event to be decrypted or encrypted, so that delivery and the
// sync checkpoint stay in its hands.
type e2ee interface {
	// decrypt returns the decrypted event, or an error wrapping
	// errNoSession when its keys have not arrived (yet).
	decrypt(ctx context.Context, evt *event.Event) (*event.Event, error)
	// requestKeys asks the sender's devices and the bot's other devices for
	// the keys of evt.
	requestKeys(ctx context.Context, evt *event.Event)
	// encrypt encrypts the content of an event of type t for room.
	encrypt(ctx context.Context, room id.RoomID, t event.Type, content any) (*event.EncryptedEventContent, error)
}

// errNoSession says an encrypted event's keys are missing.
var errNoSession = errors.New("matrix: no decryption keys for this message yet")

// errNoCrypto says this build cannot encrypt or decrypt.
var errNoCrypto = errors.New("matrix: end-to-end encryption unavailable: build with -tags goolm")

// Adapter connects entraide to one Matrix account. It implements
// bots.Sender; Run receives messages.
type Adapter struct {
	cfg   Config
	inbox bots.Inbox
	store Checkpointer
	db    *dbutil.Database
	log   *slog.Logger

	cli    *mautrix.Client
	syncer *mautrix.DefaultSyncer
	state  *sqlstatestore.SQLStateStore
	crypto e2ee // nil without encryption

	// ready is closed once Run has logged in; Send waits for it.
	ready     chan struct{}
	readyOnce sync.Once
	running   sync.Mutex

	// dmMu serialises the creation of direct-message rooms.
	dmMu sync.Mutex
	// mu guards the fields below.
	mu     sync.Mutex
	direct map[id.UserID][]id.RoomID // the m.direct account data
	// lastSeen is the last timeline event of each room handled, saved with
	// the sync position: filling a gap stops there.
	lastSeen map[id.RoomID]id.EventID
	warned   map[string]bool // undecryptable notices already sent
	// doubt holds the transaction ids whose last send got no clear answer
	// (a cut connection, a server error), with when that send began: the
	// homeserver may have taken the event, and a homeserver that restarted
	// since has forgotten the transaction id (Dendrite keeps them in
	// memory), so the event is looked for before it is sent again. A
	// message's doubt is also written in its record (sendOnce), for the
	// next process.
	doubt map[string]time.Time

	// Timings, shortened by tests.
	syncTimeout time.Duration
	keyWait     time.Duration // before asking other devices for missing keys
	giveUp      time.Duration // before telling the room a message is unreadable
	maxBackoff  time.Duration
	grace       time.Duration // to finish a batch after Run's ctx is done
}

var _ bots.Sender = (*Adapter)(nil)

// New returns an adapter for cfg that delivers messages to inbox, keeps its
// position in store, and keeps Matrix room state and encryption keys in db:
// entraide's own database, a *sql.DB opened with modernc.org/sqlite or
// lib/pq (sqlstore.Store.DB().DB). Tables it adds start with mx_ and
// crypto_. New does not touch the network: Run logs in. log may be nil.
//
// New fails when cfg is invalid, and when cfg requires encryption that this
// build does not have (built without -tags goolm).
func New(cfg Config, inbox bots.Inbox, store Checkpointer, db *sql.DB, log *slog.Logger) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.encryption() == EncryptionRequired && !cryptoAvailable {
		return nil, fmt.Errorf("%w (%s=required)", errNoCrypto, EnvEncryption)
	}
	if inbox == nil || store == nil || db == nil {
		return nil, errors.New("matrix: New needs an inbox, a checkpoint store and a database")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dialect, err := dialectOf(db)
	if err != nil {
		return nil, err
	}
	mdb, err := dbutil.NewWithDB(db, dialect)
	if err != nil {
		return nil, fmt.Errorf("matrix: database: %w", err)
	}
	user := id.UserID(cfg.User)
	cli, err := mautrix.NewClient(cfg.Homeserver, user, cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("matrix: homeserver %q: %w", cfg.Homeserver, err)
	}
	cli.Log = zerologTo(log)
	cli.UserAgent = "entraide (mautrix-go)"
	// No retries inside mautrix: Send reports rate limits to its caller, and
	// Run has its own backoff.
	cli.DefaultHTTPRetries = 0
	inner := mautrix.NewDefaultSyncer()
	cli.Syncer = syncer{inner}
	mdb.Log = dbutil.ZeroLogger(cli.Log)
	state := sqlstatestore.NewSQLStateStore(mdb, dbutil.ZeroLogger(cli.Log.With().Str("db_section", "matrix_state").Logger()), false)
	cli.StateStore = state
	inner.OnEvent(cli.StateStoreSyncHandler)
	return &Adapter{
		cfg: cfg, inbox: inbox, store: store, db: mdb, log: log.With("adapter", "matrix"),
		cli: cli, syncer: inner, state: state,
		ready:  make(chan struct{}),
		direct: map[id.UserID][]id.RoomID{},
		warned: map[string]bool{}, doubt: map[string]time.Time{},

		lastSeen: map[id.RoomID]id.EventID{},

		syncTimeout: 30 * time.Second,
		keyWait:     10 * time.Second,
		giveUp:      2 * time.Minute,
		maxBackoff:  time.Minute,
		grace:       30 * time.Second,
	}, nil
}

// dialectOf names db's SQL dialect for dbutil.
func dialectOf(db *sql.DB) (string, error) {
	switch db.Driver().(type) {
	case *sqlite.Driver:
		return "sqlite3", nil
	case *pq.Driver:
		return "postgres", nil
	}
	return "", fmt.Errorf("matrix: database driver %T: want modernc.org/sqlite or lib/pq, as sqlstore opens", db.Driver())
}

// Platform implements bots.Sender.
func (a *Adapter) Platform() core.Platform { return Platform }

// IdempotentSends implements bots.IdempotentSender: a message sent again
// under the same outbox key reuses its transaction id, and the homeserver
// (or the adapter's own record of sent keys) shows it once.
func (a *Adapter) IdempotentSends() bool { return true }

// Reactions implements bots.ReactingSender: Matrix has no buttons, so the
// actions that carry an emoji are offered as reactions under the message.
func (a *Adapter) Reactions() bool { return true }

var _ bots.IdempotentSender = (*Adapter)(nil)

// UserID returns the bot's Matrix user id. It waits until Run has logged in.
func (a *Adapter) UserID() id.UserID {
	<-a.ready
	return a.cli.UserID
}

// Encrypted reports whether end-to-end encryption is running. It waits
// until Run has logged in, or ctx is done.
func (a *Adapter) Encrypted(ctx context.Context) bool {
	select {
	case <-a.ready:
		return a.crypto != nil
	case <-ctx.Done():
		return false
	}
}

// SentRecordRetention is how long the adapter remembers the event it sent
// for an outbox key: as long as the pipeline keeps sent messages (7 days by
// default), after which no resend of that key can come.
const SentRecordRetention = 8 * 24 * time.Hour

// CheckpointPurger is a Checkpointer that can drop old records by prefix;
// sqlstore.Store is one. Without it, sent records are kept.
type CheckpointPurger interface {
	PurgeCheckpoints(ctx context.Context, prefix string, before time.Time) (int64, error)
}

// purgeSentRecords drops the records of messages sent longer ago than
// SentRecordRetention.
func (a *Adapter) purgeSentRecords(ctx context.Context) {
	p, ok := a.store.(CheckpointPurger)
	if !ok {
		return
	}
	for _, record := range []string{"sent:", "file:"} {
		n, err := p.PurgeCheckpoints(ctx, a.key(record), time.Now().Add(-SentRecordRetention))
		if err != nil {
			a.log.Warn("matrix: cannot purge old sent records", "err", err)
			return
		}
		if n > 0 {
			a.log.Info("matrix: purged old sent records", "records", n)
		}
	}
}

// Run logs in, then receives messages and hands them to the inbox until ctx
// is done; it then finishes the batch of messages in hand (for 30 seconds
// at most) and returns nil. Network failures and homeserver outages are
// retried with a growing delay (up to a minute). It returns an error when
// the account cannot be used: wrong password or token, revoked token,
// encryption required but failing. Run may be called once.
func (a *Adapter) Run(ctx context.Context) error {
	if !a.running.TryLock() {
		return errors.New("matrix: Run called twice")
	}
	if err := a.retry(ctx, "start", a.start); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	a.readyOnce.Do(func() { close(a.ready) })
	a.log.Info("matrix: connected", "user", a.cli.UserID, "device", a.cli.DeviceID, "encryption", a.crypto != nil)
	since, err := a.store.Checkpoint(ctx, a.key("next_batch"))
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: not a failure
		}
		return fmt.Errorf("matrix: read sync position: %w", err)
	}
	if err := a.loadLastSeen(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	filter := fmt.Sprintf(`{"room":{"timeline":{"limit":%d}},"presence":{"not_types":["*"]}}`, a.timelineLimit())
	failures := 0
	var purged time.Time
	// lastGood is when the last sync that went well before a failure
	// returned; catchUp is set by failures after one, until catching up
	// succeeded.
	var lastGood time.Time
	catchUp := false
	// floor is when the first sync of a fresh start (no saved position)
	// returned: what was written before is history, never handled, and a
	// catch-up does not read it.
	var floor time.Time
	for {
		if time.Since(purged) > time.Hour {
			a.purgeSentRecords(ctx)
			purged = time.Now()
		}
		timeout := a.syncTimeout
		if since == "" {
			timeout = 0
		}
		resp, err := a.cli.FullSyncRequest(ctx, mautrix.ReqSync{Timeout: int(timeout / time.Millisecond), Since: since, FilterID: filter})
		if err == nil {
			err = a.drain(ctx, func(ctx context.Context) error { return a.process(ctx, resp, since) })
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if fatal(err) {
				return fmt.Errorf("matrix: sync: %w", err)
			}
			failures++
			catchUp = !lastGood.IsZero()
			wait := a.backoff(failures, err)
			a.log.Warn("matrix: sync failed, retrying", "err", err, "in", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		failures = 0
		if since == "" {
			floor = time.Now()
		}
		since = resp.NextBatch
		if catchUp {
			cutoff := lastGood.Add(-catchUpMargin)
			if cutoff.Before(floor) {
				cutoff = floor
			}
			if err := a.drain(ctx, func(ctx context.Context) error { return a.catchUp(ctx, cutoff) }); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				a.log.Warn("matrix: catching up after sync failures failed, trying again after the next sync", "err", err)
				continue
			}
			catchUp = false
		}
		lastGood = time.Now()
	}
}

// drain runs f, the handling of one batch, to its end even when ctx is
// done meanwhile (a stop then leaves the batch delivered and its position
// saved, so nothing is delivered twice after a restart), unless it takes
// longer than the grace period after ctx is done.
func (a *Adapter) drain(ctx context.Context, f func(context.Context) error) error {
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(a.grace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			cancel()
		}
	}()
	return f(bctx)
}

// start logs in and loads what the adapter keeps.
func (a *Adapter) start(ctx context.Context) error {
	if err := a.login(ctx); err != nil {
		return err
	}
	if err := a.state.Upgrade(ctx); err != nil {
		return fmt.Errorf("matrix: prepare state tables: %w", err)
	}
	if a.crypto == nil && a.cfg.encryption() != EncryptionOff {
		switch c, err := a.startCrypto(ctx); {
		case err == nil:
			a.crypto = c
		case a.cfg.encryption() == EncryptionRequired:
			return fmt.Errorf("matrix: encryption: %w", err)
		default:
			a.log.Warn("matrix: running without end-to-end encryption: encrypted rooms will get a notice", "reason", err)
		}
	}
	return a.loadDirect(ctx)
}

// login logs in with the password and the stable device id, or checks the
// token.
func (a *Adapter) login(ctx context.Context) error {
	if a.cli.AccessToken != "" && a.cli.DeviceID != "" {
		return nil // a retried start after login
	}
	if a.cfg.Password != "" {
		device := a.cfg.DeviceID
		if device == "" {
			device = DefaultDeviceID
		}
		_, err := a.cli.Login(ctx, &mautrix.ReqLogin{
			Type:                     mautrix.AuthTypePassword,
			Identifier:               mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: a.cfg.User},
			Password:                 a.cfg.Password,
			DeviceID:                 id.DeviceID(device),
			InitialDeviceDisplayName: "entraide",
			StoreCredentials:         true,
		})
		if err != nil {
			return fmt.Errorf("matrix: log in as %s: %w", a.cfg.User, err)
		}
		return nil
	}
	who, err := a.cli.Whoami(ctx)
	if err != nil {
		return fmt.Errorf("matrix: check %s: %w", EnvToken, err)
	}
	if a.cfg.User != "" && who.UserID != id.UserID(a.cfg.User) {
		return fmt.Errorf("matrix: %s belongs to %s, not %s=%s", EnvToken, who.UserID, EnvUser, a.cfg.User)
	}
	if a.cfg.DeviceID != "" && who.DeviceID != id.DeviceID(a.cfg.DeviceID) {
		return fmt.Errorf("matrix: %s belongs to device %s, not %s=%s: unset %s or fix it", EnvToken, who.DeviceID, EnvDeviceID, a.cfg.DeviceID, EnvDeviceID)
	}
	if who.DeviceID == "" {
		return fmt.Errorf("matrix: the homeserver gives no device for %s: log in with a password instead", EnvToken)
	}
	a.cli.UserID, a.cli.DeviceID = who.UserID, who.DeviceID
	return nil
}

// key returns the checkpoint key of name for the logged-in account.
func (a *Adapter) key(name string) string { return "matrix:" + string(a.cli.UserID) + ":" + name }

func (a *Adapter) timelineLimit() int {
	if a.cfg.TimelineLimit > 0 {
		return a.cfg.TimelineLimit
	}
	return 50
}

// retry runs op until it succeeds, fails for good, or ctx is done.
func (a *Adapter) retry(ctx context.Context, what string, op func(context.Context) error) error {
	for failures := 1; ; failures++ {
		err := op(ctx)
		if err == nil || fatal(err) || ctx.Err() != nil {
			return err
		}
		wait := a.backoff(failures, err)
		a.log.Warn("matrix: "+what+" failed, retrying", "err", err, "in", wait)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// backoff returns how long to wait after the n-th failure in a row: what
// the homeserver asked for when it rate-limits, otherwise one second
// doubling up to maxBackoff, with jitter.
func (a *Adapter) backoff(n int, err error) time.Duration {
	var ra *bots.RetryAfterError
	if errors.As(classify("", err), &ra) {
		return ra.After
	}
	d := time.Second << min(n-1, 10)
	d = min(d, a.maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// fatal reports errors that no retry can fix: the homeserver refused the
// credentials or the request, or encryption cannot start.
func fatal(err error) bool {
	if errors.Is(err, mautrix.MUnknownToken) || errors.Is(err, mautrix.MForbidden) || errors.Is(err, mautrix.MMissingToken) ||
		errors.Is(err, mautrix.MUserDeactivated) || errors.Is(err, errNoCrypto) || errors.Is(err, errCryptoSetup) {
		return true
	}
	var herr mautrix.HTTPError
	if errors.As(err, &herr) && herr.Response != nil {
		code := herr.Response.StatusCode
		return code >= 400 && code < 500 && code != 429 && code != 408
	}
	return false
}

// errCryptoSetup marks encryption failures that retrying cannot fix.
var errCryptoSetup = errors.New("matrix: encryption setup")

// syncer hides the default syncer's Dispatch method, so that the crypto
// helper does not decrypt events on its own: the adapter decrypts them in
// order and decides when they are delivered.
type syncer struct{ inner *mautrix.DefaultSyncer }

func (s syncer) ProcessResponse(ctx context.Context, resp *mautrix.RespSync, since string) error {
	return s.inner.ProcessResponse(ctx, resp, since)
}

func (s syncer) OnFailedSync(res *mautrix.RespSync, err error) (time.Duration, error) {
	return s.inner.OnFailedSync(res, err)
}

func (s syncer) GetFilterJSON(userID id.UserID) *mautrix.Filter { return s.inner.GetFilterJSON(userID) }

func (s syncer) OnSync(callback mautrix.SyncHandler) { s.inner.OnSync(callback) }

func (s syncer) OnEvent(callback mautrix.EventHandler) { s.inner.OnEvent(callback) }

func (s syncer) OnEventType(t event.Type, callback mautrix.EventHandler) {
	s.inner.OnEventType(t, callback)
}
