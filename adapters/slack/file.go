package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"entraide/bots"
)

const (
	// maxFileName bounds the characters of an uploaded file's name.
	maxFileName = 100
	// uploadTimeout bounds the POST of a file's bytes to its upload URL,
	// longer than apiTimeout: bots.MaxFileSize bytes over a slow link.
	uploadTimeout = 2 * time.Minute
)

// checkFile refuses a file no retry can send: larger than a message may
// carry, or empty (Slack takes no upload of 0 bytes). The error wraps
// bots.ErrUndeliverable, so the outbox sets the message aside.
func checkFile(f *bots.File) error {
	switch {
	case f == nil:
		return nil
	case len(f.Data) > bots.MaxFileSize:
		return fmt.Errorf("file %q is %d bytes, more than the %d bytes (%d MiB) a message may carry: %w",
			safeFileName(f.Name), len(f.Data), bots.MaxFileSize, bots.MaxFileSize>>20, bots.ErrUndeliverable)
	case len(f.Data) == 0:
		return fmt.Errorf("file %q is empty, and Slack takes no empty upload: %w", safeFileName(f.Name), bots.ErrUndeliverable)
	}
	return nil
}

// safeFileName returns name with only letters, digits, '.', '-' and '_':
// any other character (slashes, spaces, control characters) becomes '_',
// leading dots are dropped (no hidden file, no ".."), and a name longer
// than maxFileName characters is cut, keeping its extension. An empty
// result, or one of nothing but '_', is "attachment".
func safeFileName(name string) string { return bots.SafeFileName(name, maxFileName, "attachment") }

// upload shares f in channel (in thread when set) with Slack's external
// upload flow: files.getUploadURLExternal for an upload URL and a file id,
// a POST of the bytes to that URL, then files.completeUploadExternal,
// which posts the file in the conversation and so waits for the channel's
// turn like a message. A 429 from any of the three becomes a
// *bots.RetryAfterError; a retry starts over, as Slack discards an upload
// never completed.
func (a *Adapter) upload(ctx context.Context, channel, thread string, f bots.File) error {
	name := safeFileName(f.Name)
	u, err := a.api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: name, FileSize: len(f.Data)})
	if err != nil {
		return apiError("files.getUploadURLExternal "+name, err)
	}
	if u.UploadURL == "" || u.FileID == "" {
		return fmt.Errorf("slack: files.getUploadURLExternal %s: no upload_url or file_id in the answer", name)
	}
	uctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	err = a.uploads.UploadToURL(uctx, slack.UploadToURLParameters{UploadURL: u.UploadURL, Reader: bytes.NewReader(f.Data), Filename: name})
	if err != nil {
		// The upload URL is a secret of the upload: the error names the file.
		return apiError("upload of "+name+" ("+u.FileID+")", redactURL(err, u.UploadURL))
	}
	if err := a.waitTurn(ctx, channel); err != nil {
		return fmt.Errorf("slack: files.completeUploadExternal %s: %w", channel, err)
	}
	_, err = a.api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
		Files:           []slack.FileSummary{{ID: u.FileID, Title: name}},
		Channel:         channel,
		ThreadTimestamp: thread,
	})
	if err != nil {
		var limited *slack.RateLimitedError
		if errors.As(err, &limited) {
			a.delayChannel(channel, limited.RetryAfter)
		}
		return apiError("files.completeUploadExternal "+channel, err)
	}
	return nil
}

// redactURL replaces rawURL in err's message, keeping what errors.As
// finds in it (a rate limit, a status).
func redactURL(err error, rawURL string) error {
	if rawURL == "" || !strings.Contains(err.Error(), rawURL) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), rawURL, "<upload_url>"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
