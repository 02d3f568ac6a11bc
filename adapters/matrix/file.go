package matrix

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/attachment"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"entraide/bots"
)

// maxFileName is the longest file name the adapter shows, in characters,
// as on the other platforms.
const maxFileName = 100

// checkFile refuses a file no Matrix send could carry: one over
// bots.MaxFileSize. The error wraps bots.ErrUndeliverable, since no retry
// can make the file smaller.
func checkFile(f *bots.File) error {
	if f == nil || len(f.Data) <= bots.MaxFileSize {
		return nil
	}
	return fmt.Errorf("file %q is %d bytes, over the %d bytes a message may carry (bots.MaxFileSize): %w",
		fileName(f.Name), len(f.Data), bots.MaxFileSize, bots.ErrUndeliverable)
}

// fileName returns name as the adapter shows it in an m.file event
// (bots.SafeFileName, cut to maxFileName characters; "fichier" when
// nothing is left).
func fileName(name string) string { return bots.SafeFileName(name, maxFileName, "fichier") }

// mediaType returns t when it is a valid media type, and
// application/octet-stream otherwise.
func mediaType(t string) string {
	t = strings.TrimSpace(t)
	if _, _, err := mime.ParseMediaType(t); err != nil || t == "" {
		return "application/octet-stream"
	}
	return t
}

// fileTxnID is the transaction id of the m.file event of the message whose
// key is key. TxnID never writes a '.' followed by anything but two
// upper-case hex digits, so no key's TxnID ends in ".file": the file event
// of one message never shares its transaction id with another message.
func fileTxnID(key string) string { return TxnID(key) + ".file" }

// fileContent returns the content of the m.file event for f, before its
// upload: the shown name as body, the media type and the size, and empty
// m.mentions (the event pings nobody).
func fileContent(f *bots.File) *event.MessageEventContent {
	name := fileName(f.Name)
	return &event.MessageEventContent{
		MsgType:  event.MsgFile,
		Body:     name,
		FileName: name,
		Info:     &event.FileInfo{MimeType: mediaType(f.MIME), Size: len(f.Data)},
		Mentions: &event.Mentions{},
	}
}

// sendFile uploads f to the media repository and sends its m.file event
// into room (in the thread of to, when it has one), with txnID as the
// transaction id. In an encrypted room the bytes are encrypted first
// (AES-CTR with a fresh key, as the spec's encrypted attachments want) and
// the event, itself encrypted, carries the key in its file field instead of
// a plain url.
//
// The upload comes before the event and has no idempotency key of its own:
// a resend after a crash between the two (or after the event, before it was
// recorded) uploads the bytes again, and the homeserver keeps that copy,
// which no event points to, until its media retention removes it. The event
// itself is not repeated: its transaction id is stable and the adapter
// records it once sent.
func (a *Adapter) sendFile(ctx context.Context, room id.RoomID, f *bots.File, to bots.Destination, txnID string) (id.EventID, error) {
	content := fileContent(f)
	encrypted := false
	if a.crypto != nil {
		var err error
		if encrypted, err = a.state.IsEncrypted(ctx, room); err != nil {
			return "", fmt.Errorf("matrix: send a file to %s: %w", room, err)
		}
	}
	req := mautrix.ReqUploadMedia{ContentBytes: f.Data, ContentType: content.Info.MimeType, FileName: content.Body}
	var keys *attachment.EncryptedFile
	if encrypted {
		keys = attachment.NewEncryptedFile()
		// The homeserver sees neither the bytes, nor their type, nor the
		// name.
		req = mautrix.ReqUploadMedia{ContentBytes: bytes.Clone(f.Data), ContentType: "application/octet-stream"}
		keys.EncryptInPlace(req.ContentBytes)
	}
	up, err := a.cli.UploadMedia(ctx, req)
	if err != nil {
		return "", classify("upload "+content.Body, err)
	}
	if keys != nil {
		content.File = &event.EncryptedFileInfo{EncryptedFile: *keys, URL: up.ContentURI.CUString()}
	} else {
		content.URL = up.ContentURI.CUString()
	}
	inThread(content, to)
	return a.sendContent(ctx, room, content, txnID)
}
