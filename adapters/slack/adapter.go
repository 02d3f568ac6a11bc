// Package slack is entraide's Slack adapter. It turns what people do in a
// workspace (slash commands, mentions, direct messages, buttons, modals and
// shortcuts) into bots.Event values delivered to a bots.Inbox, and sends the
// bot's messages as Block Kit through the Web API. Two transports carry
// Slack's requests: Socket Mode (a websocket the app opens; no public URL)
// and the Events API over HTTP (signed requests to Handler, for several
// replicas behind a load balancer). Every request is acknowledged only after
// the inbox took its event.
//
// Identities: a Slack user is core.Identity{Platform: "slack", User: id}
// with the plain member id ("U012AB3CD", or "W..." on Enterprise Grid), the
// same id Destination.User holds for direct messages. A room is a
// conversation id ("C...", "G...", "D..."). An event's Tenant is the team
// id of the person who acted: their own team ("user_team", "user.team_id")
// where Slack gives it, as in channels shared between organisations, else
// the workspace's.
//
// Event ids: Events API callbacks keep Slack's event_id, which retries
// carry too; slash commands are "slash:" + trigger_id; button presses
// "action:" + trigger_id; modal submissions "view:" + the view's id;
// message shortcuts "shortcut:" + trigger_id. Slack resends the same
// payload, so a redelivery has the same id.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"entraide/bots"
	"entraide/core"
)

// Platform is Slack's platform name.
const Platform core.Platform = "slack"

// apiTimeout bounds one Web API call.
const apiTimeout = 10 * time.Second

// Adapter connects entraide to one Slack workspace.
type Adapter struct {
	cfg   Config
	inbox bots.Inbox
	log   *slog.Logger
	api   *slack.Client
	// uploads posts files' bytes to their upload URLs, with a longer
	// timeout than api's.
	uploads *slack.Client

	// now is the clock of signature checks.
	now func() time.Time
	// pace is the least time between two messages to one channel: Slack
	// allows about one per second.
	pace time.Duration
	// pingInterval is how long Socket Mode waits for Slack's ping before it
	// takes the connection for dead and reconnects.
	pingInterval time.Duration
	// minBackoff and maxBackoff bound the waits between Socket Mode runs
	// and between auth.test attempts.
	minBackoff, maxBackoff time.Duration
	// workers bounds the Socket Mode requests handled at once.
	workers int

	mu        sync.Mutex
	botUserID string
	nextPost  map[string]time.Time  // channel -> earliest next post
	ims       map[string]string     // user -> direct message channel
	names     map[string]cachedName // user -> name (users.info)
	anchors   map[string]*anchor    // event id of an ask -> the message posted for it
	// textSent remembers, by outgoing key, the text of a message with a
	// file already posted, so that a retry after a failed upload sends only
	// the file.
	textSent map[string]sentText
}

// sentText is the text of a message with a file, posted before its upload.
type sentText struct {
	ts string
	at time.Time
}

// anchor is a message posted in a channel to carry a question asked by a
// slash command or a modal, so that its answers have a thread. Concurrent
// deliveries of one request wait for the first one's post.
type anchor struct {
	done chan struct{}
	at   time.Time
	ts   string
	err  error
}

var _ bots.Sender = (*Adapter)(nil)

// New returns a Slack adapter that delivers events to inbox. It does not
// connect: Run does.
func New(cfg Config, inbox bots.Inbox, log *slog.Logger) (*Adapter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if inbox == nil {
		return nil, errors.New("slack: new adapter: nil inbox")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []slack.Option{slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(&http.Client{Timeout: apiTimeout})}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	return &Adapter{
		cfg:          cfg,
		inbox:        inbox,
		log:          log.With("platform", string(Platform)),
		api:          slack.New(cfg.BotToken, opts...),
		uploads:      slack.New(cfg.BotToken, slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(&http.Client{Timeout: uploadTimeout})),
		now:          time.Now,
		pace:         time.Second,
		pingInterval: 30 * time.Second,
		minBackoff:   time.Second,
		maxBackoff:   5 * time.Minute,
		workers:      8,
		nextPost:     map[string]time.Time{},
		ims:          map[string]string{},
		anchors:      map[string]*anchor{},
		textSent:     map[string]sentText{},
		names:        map[string]cachedName{},
	}, nil
}

// Platform implements bots.Sender.
func (a *Adapter) Platform() core.Platform { return Platform }

// Run connects to Slack and handles its requests until ctx is done: it
// checks the bot token (auth.test), then runs Socket Mode or serves the
// Events API on cfg.Listen, and returns nil after a graceful stop.
func (a *Adapter) Run(ctx context.Context) error {
	if err := a.authTest(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if a.cfg.SocketMode() {
		return a.runSocketMode(ctx)
	}
	return a.serveHTTP(ctx)
}

// authTest learns the bot's user id, retrying transient failures; an answer
// of Slack refusing the token is returned.
func (a *Adapter) authTest(ctx context.Context) error {
	wait := a.minBackoff
	for {
		resp, err := a.api.AuthTestContext(ctx)
		if err == nil {
			a.mu.Lock()
			a.botUserID = resp.UserID
			a.mu.Unlock()
			a.log.Info("slack: connected to the Web API", "team", resp.TeamID, "bot_user", resp.UserID)
			return nil
		}
		var refused slack.SlackErrorResponse
		if errors.As(err, &refused) {
			return fmt.Errorf("slack: auth.test: %w (check %s)", err, EnvBotToken)
		}
		a.log.Warn("slack: auth.test failed, retrying", "err", err, "in", wait)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(2*wait, a.maxBackoff)
	}
}

// botUser returns the bot's user id, empty before auth.test answered.
func (a *Adapter) botUser() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.botUserID
}

// sleep waits for d or until ctx is done, and reports whether d passed.
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

// tsPattern matches Slack message timestamps, the ids of messages and
// threads.
var tsPattern = regexp.MustCompile(`^[0-9]{1,12}\.[0-9]{1,9}$`)

// Send implements bots.Sender: a message to o.To.Room (in the thread
// o.To.Thread when set), or a direct message to o.To.User when Room is
// empty. Slack has no idempotency key for chat.postMessage: o.Key goes into
// the message's metadata, so a duplicate sent after a crash can be told.
//
// A message with a File is its text (when it has any), then the file
// uploaded in the same conversation and thread. A file too large or empty
// is refused before anything is sent. When the upload fails after the
// text went out, a retry of the same key sends only the file.
func (a *Adapter) Send(ctx context.Context, o bots.Outgoing) (bots.Sent, error) {
	if o.To.Platform != "" && o.To.Platform != Platform {
		return bots.Sent{}, fmt.Errorf("slack: send %s: destination on platform %q: %w", o.Key, o.To.Platform, bots.ErrUndeliverable)
	}
	file := o.Message.File
	if err := checkFile(file); err != nil {
		return bots.Sent{}, fmt.Errorf("slack: send %s: %w", o.Key, err)
	}
	channel := o.To.Room
	if channel == "" {
		if o.To.User == "" {
			return bots.Sent{}, fmt.Errorf("slack: send %s: no room and no user: %w", o.Key, bots.ErrUndeliverable)
		}
		var err error
		if channel, err = a.openIM(ctx, o.To.User); err != nil {
			return bots.Sent{}, err
		}
	}
	thread := o.To.Thread
	if thread != "" && !tsPattern.MatchString(thread) {
		a.log.Warn("slack: thread id is not a message timestamp, posting outside the thread", "thread", thread, "key", o.Key)
		thread = ""
	}
	if file == nil {
		ts, err := a.post(ctx, channel, thread, o.Message, o.Key)
		if err != nil {
			return bots.Sent{}, err
		}
		return bots.Sent{MessageID: ts}, nil
	}
	ts, posted := a.textPosted(o.Key)
	if m := o.Message; !posted && (len(m.Spans) > 0 || m.Card != nil || len(m.Actions) > 0) {
		m.File = nil
		var err error
		if ts, err = a.post(ctx, channel, thread, m, o.Key); err != nil {
			return bots.Sent{}, err
		}
		a.rememberText(o.Key, ts)
	}
	if err := a.upload(ctx, channel, thread, *file); err != nil {
		return bots.Sent{}, fmt.Errorf("slack: send %s: %w", o.Key, err)
	}
	a.forgetText(o.Key)
	return bots.Sent{MessageID: ts}, nil
}

// textPosted returns the ts of the text of the message with key, when it
// was posted by an earlier attempt whose upload failed.
func (a *Adapter) textPosted(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.textSent[key]
	return s.ts, ok
}

// rememberText records that the text of the message with key was posted,
// for a day at most.
func (a *Adapter) rememberText(key, ts string) {
	if key == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for k, v := range a.textSent {
		if now.Sub(v.at) > 24*time.Hour {
			delete(a.textSent, k)
		}
	}
	a.textSent[key] = sentText{ts: ts, at: now}
}

// forgetText drops what rememberText recorded once the file went out.
func (a *Adapter) forgetText(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.textSent, key)
}

// post sends m to channel, in thread when set, at most one message per
// a.pace and channel.
func (a *Adapter) post(ctx context.Context, channel, thread string, m bots.Message, key string) (string, error) {
	if err := a.waitTurn(ctx, channel); err != nil {
		return "", fmt.Errorf("slack: chat.postMessage %s: %w", channel, err)
	}
	opts := []slack.MsgOption{
		slack.MsgOptionText(mrkdwn(m), false),
		slack.MsgOptionBlocks(blocks(m)...),
		slack.MsgOptionParse(false),
		slack.MsgOptionLinkNames(false),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	if key != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: metadataType, EventPayload: map[string]any{"key": key}}))
	}
	_, ts, err := a.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		var limited *slack.RateLimitedError
		if errors.As(err, &limited) {
			a.delayChannel(channel, limited.RetryAfter)
		}
		return "", apiError("chat.postMessage "+channel, err)
	}
	return ts, nil
}

var _ bots.CheckingSender = (*Adapter)(nil)

// metadataType is the event type of the metadata each message carries, with
// its outbox key.
const metadataType = "entraide_message"

// unsearchable are the errors of conversations.history and .replies after
// which looking again cannot help: a scope the app lacks (channels:history,
// groups:history, im:history, mpim:history), a conversation or thread gone
// or out of reach.
var unsearchable = map[string]bool{
	"missing_scope": true, "not_allowed_token_type": true, "not_in_channel": true,
	"channel_not_found": true, "thread_not_found": true, "is_archived": true,
}

// findPages bounds the pages of a conversation (of 200 messages) FindSent
// reads.
const findPages = 5

// FindSent implements bots.CheckingSender: it looks for the message with
// o's key in its metadata among the messages of o's conversation (of its
// thread when it has one) since since, less a minute for clocks that
// differ, newest first in a channel, at most findPages pages. The text of a
// message with a file, found, is remembered and reported not found: Send
// then uploads only the file.
func (a *Adapter) FindSent(ctx context.Context, o bots.Outgoing, since time.Time) (bots.Sent, bool, error) {
	if o.Key == "" || o.To.Platform != "" && o.To.Platform != Platform {
		return bots.Sent{}, false, nil
	}
	channel := o.To.Room
	if channel == "" {
		if o.To.User == "" {
			return bots.Sent{}, false, nil
		}
		var err error
		if channel, err = a.openIM(ctx, o.To.User); err != nil {
			return bots.Sent{}, false, err
		}
	}
	thread := o.To.Thread
	if !tsPattern.MatchString(thread) {
		thread = ""
	}
	oldest := ""
	if !since.IsZero() {
		oldest = strconv.FormatInt(since.Add(-time.Minute).Unix(), 10) + ".000000"
	}
	cursor := ""
	for range findPages {
		var msgs []slack.Message
		var more bool
		var err error
		op := "conversations.history " + channel
		if thread != "" {
			op = "conversations.replies " + channel
			msgs, more, cursor, err = a.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: channel, Timestamp: thread, Cursor: cursor, Oldest: oldest, Limit: 200, IncludeAllMetadata: true})
		} else {
			var resp *slack.GetConversationHistoryResponse
			if resp, err = a.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
				ChannelID: channel, Cursor: cursor, Oldest: oldest, Limit: 200, IncludeAllMetadata: true}); err == nil {
				msgs, more, cursor = resp.Messages, resp.HasMore, resp.ResponseMetaData.NextCursor
			}
		}
		var resp slack.SlackErrorResponse
		if errors.As(err, &resp) && unsearchable[resp.Err] {
			// Looking cannot help: post, at the risk of a duplicate.
			a.log.Warn("slack: cannot look for a message in doubt, posting it again", "op", op, "err", resp.Err, "key", o.Key)
			return bots.Sent{}, false, nil
		}
		if err != nil {
			return bots.Sent{}, false, apiError(op, err)
		}
		for _, m := range msgs {
			if m.Metadata.EventType != metadataType || m.Metadata.EventPayload["key"] != o.Key {
				continue
			}
			if o.Message.File != nil {
				a.rememberText(o.Key, m.Timestamp)
				return bots.Sent{}, false, nil
			}
			return bots.Sent{MessageID: m.Timestamp}, true, nil
		}
		if !more || cursor == "" {
			break
		}
	}
	return bots.Sent{}, false, nil
}

// openIM returns the direct message channel with user, opening it once.
func (a *Adapter) openIM(ctx context.Context, user string) (string, error) {
	a.mu.Lock()
	ch, ok := a.ims[user]
	a.mu.Unlock()
	if ok {
		return ch, nil
	}
	c, _, _, err := a.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return "", apiError("conversations.open "+user, err)
	}
	if c == nil || c.ID == "" {
		return "", fmt.Errorf("slack: conversations.open %s: no channel in the answer", user)
	}
	a.mu.Lock()
	if len(a.ims) >= 10000 {
		clear(a.ims)
	}
	a.ims[user] = c.ID
	a.mu.Unlock()
	return c.ID, nil
}

// waitTurn waits until channel may receive the next message.
func (a *Adapter) waitTurn(ctx context.Context, channel string) error {
	if a.pace <= 0 {
		return ctx.Err()
	}
	a.mu.Lock()
	now := time.Now()
	at := a.nextPost[channel]
	if at.Before(now) {
		at = now
	}
	if len(a.nextPost) >= 1024 {
		for ch, t := range a.nextPost {
			if t.Before(now) {
				delete(a.nextPost, ch)
			}
		}
	}
	a.nextPost[channel] = at.Add(a.pace)
	a.mu.Unlock()
	if d := time.Until(at); d > 0 && !sleep(ctx, d) {
		return ctx.Err()
	}
	return nil
}

// delayChannel holds the next posts to channel for d, as Slack asked.
func (a *Adapter) delayChannel(channel string, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if at := time.Now().Add(d); a.nextPost[channel].Before(at) {
		a.nextPost[channel] = at
	}
}

// undeliverableCodes are the Web API errors no retry can fix.
var undeliverableCodes = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true,
	"user_not_found": true, "user_not_visible": true, "user_disabled": true,
	"cannot_dm_bot": true, "invalid_blocks": true, "msg_too_long": true,
	"restricted_action": true, "no_permission": true, "thread_not_found": true,
}

// apiError wraps an error of the Web API method op once: a rate limit
// becomes a *bots.RetryAfterError, an error no retry can fix wraps
// bots.ErrUndeliverable.
func apiError(op string, err error) error {
	var limited *slack.RateLimitedError
	if errors.As(err, &limited) {
		return &bots.RetryAfterError{After: limited.RetryAfter, Err: fmt.Errorf("slack: %s: %w", op, err)}
	}
	var resp slack.SlackErrorResponse
	if errors.As(err, &resp) && undeliverableCodes[resp.Err] {
		return fmt.Errorf("slack: %s: %s: %w", op, resp.Err, bots.ErrUndeliverable)
	}
	return fmt.Errorf("slack: %s: %w", op, err)
}
