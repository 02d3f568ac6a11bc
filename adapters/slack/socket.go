package slack

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// runSocketMode runs Socket Mode until ctx is done. slack-go's run loop
// reconnects by itself when Slack asks or when pings stop (its liveness
// watchdog: no ping for pingInterval means a dead connection), but returns
// for good when a reconnection fails; this loop runs it again after a
// growing pause. Only Slack refusing the app token ends it with an error.
// Requests are handled by a few workers, each acknowledged after its event
// was delivered, never before.
func (a *Adapter) runSocketMode(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := socketmode.New(a.api,
		socketmode.OptionPingInterval(a.pingInterval),
		socketmode.OptionReadLimit(4<<20),
		socketmode.OptionLog(slogPrinter{a}),
	)
	var wg sync.WaitGroup
	wg.Go(func() { a.consume(ctx, client) })
	wait := a.minBackoff
	for ctx.Err() == nil {
		started := time.Now()
		err := client.RunContext(ctx)
		if ctx.Err() != nil {
			break
		}
		var refused slack.SlackErrorResponse
		if errors.As(err, &refused) && authErrors[refused.Err] {
			cancel()
			wg.Wait()
			return fmt.Errorf("slack: socket mode: apps.connections.open: %s (check %s)", refused.Err, EnvAppToken)
		}
		if time.Since(started) > time.Minute {
			wait = a.minBackoff
		}
		a.log.Error("slack: Socket Mode stopped, reconnecting", "err", err, "in", wait)
		if !sleep(ctx, wait) {
			break
		}
		wait = min(2*wait, a.maxBackoff)
	}
	cancel()
	wg.Wait()
	return nil
}

// authErrors are the answers of Slack that refuse a token: retrying cannot
// help.
var authErrors = map[string]bool{"invalid_auth": true, "not_authed": true, "token_revoked": true, "account_inactive": true, "not_allowed_token_type": true}

// slogPrinter hands slack-go's log lines to the adapter's logger.
type slogPrinter struct{ a *Adapter }

// Output implements slack-go's logger.
func (p slogPrinter) Output(_ int, s string) error {
	p.a.log.Debug("slack: socket mode: " + s)
	return nil
}

// consume reads the client's events until ctx is done and hands each
// request of Slack to a worker.
func (a *Adapter) consume(ctx context.Context, client *socketmode.Client) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, max(1, a.workers))
	for {
		var evt socketmode.Event
		select {
		case <-ctx.Done():
			return
		case evt = <-client.Events:
		}
		var kind string
		switch evt.Type {
		case socketmode.EventTypeEventsAPI:
			kind = kindEvents
		case socketmode.EventTypeSlashCommand:
			kind = kindSlash
		case socketmode.EventTypeInteractive:
			kind = kindInteractive
		case socketmode.EventTypeConnected:
			a.log.Info("slack: Socket Mode connected")
			continue
		case socketmode.EventTypeInvalidAuth:
			a.log.Error("slack: Socket Mode refused the app token", "hint", "check "+EnvAppToken)
			continue
		case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed, socketmode.EventTypeErrorBadMessage:
			a.log.Warn("slack: Socket Mode trouble", "event", string(evt.Type), "detail", fmt.Sprint(evt.Data))
			continue
		default:
			continue
		}
		if evt.Request == nil {
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		req := *evt.Request
		wg.Go(func() {
			defer func() { <-slots }()
			a.handleEnvelope(ctx, client, kind, req)
		})
	}
}

// handleEnvelope handles one Socket Mode request and acknowledges it when
// its event was delivered, or when it is malformed (a redelivery would be
// as malformed). Without an acknowledgement Slack delivers it again.
func (a *Adapter) handleEnvelope(ctx context.Context, client *socketmode.Client, kind string, req socketmode.Request) {
	err := a.handle(ctx, kind, req.Payload)
	if err != nil && !errors.Is(err, errMalformed) {
		a.log.Error("slack: request not taken, Slack will redeliver it", "kind", kind, "envelope", req.EnvelopeID, "retry", req.RetryAttempt, "err", err)
		return
	}
	if err != nil {
		a.log.Warn("slack: malformed request dropped", "kind", kind, "envelope", req.EnvelopeID, "err", err)
	}
	if err := client.AckCtx(ctx, req.EnvelopeID, nil); err != nil {
		a.log.Warn("slack: acknowledgement not sent", "envelope", req.EnvelopeID, "err", err)
	}
}
