package discord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strconv"
	"strings"
	"unicode"

	"entraide/bots"
)

// maxFileName bounds the characters of an attachment's name.
const maxFileName = 100

// upload is a file sent with a message, ready for Discord: its name
// sanitised, its media type checked.
type upload struct {
	name, mime string
	data       []byte
}

// newUpload prepares f for Discord.
func newUpload(f bots.File) upload {
	return upload{name: safeFileName(f.Name), mime: safeMIME(f.MIME), data: f.Data}
}

// attachment describes a file of a message in its payload_json: ID is the
// index n of its files[n] part.
type attachment struct {
	ID       int    `json:"id"`
	Filename string `json:"filename"`
}

// formBody is a request body sent as multipart/form-data, the way Discord
// takes uploads: payload as the payload_json part, and files[n] parts.
type formBody struct {
	payload any
	files   []upload
}

// encode returns the body and its content type (with the boundary). It is
// encoded once per request, so a retry after a 429 sends the same bytes.
func (b formBody) encode() ([]byte, string, error) {
	js, err := json.Marshal(b.payload)
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="payload_json"`)
	h.Set("Content-Type", "application/json")
	p, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := p.Write(js); err != nil {
		return nil, "", err
	}
	for i, f := range b.files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", multipart.FileContentDisposition("files["+strconv.Itoa(i)+"]", f.name))
		h.Set("Content-Type", f.mime)
		p, err := w.CreatePart(h)
		if err != nil {
			return nil, "", err
		}
		if _, err := p.Write(f.data); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// messageBody returns the request body of m: m itself as JSON, or a
// multipart form when it carries a file.
func messageBody(m messagePayload) any {
	if m.file == nil {
		return m
	}
	return formBody{payload: m, files: []upload{*m.file}}
}

// checkFile refuses a file larger than a message may carry. No retry can
// help, so the error is bots.ErrUndeliverable.
func checkFile(f *bots.File) error {
	if f == nil || len(f.Data) <= bots.MaxFileSize {
		return nil
	}
	return fmt.Errorf("file %q is %d bytes, more than the %d bytes (%d MiB) a message may carry: %w",
		safeFileName(f.Name), len(f.Data), bots.MaxFileSize, bots.MaxFileSize>>20, bots.ErrUndeliverable)
}

// safeFileName returns name with only letters, digits, '.', '-' and '_':
// any other character (slashes, spaces, control characters) becomes '_',
// leading dots are dropped (no hidden file, no ".."), and a name longer
// than 100 characters is cut, keeping its extension. An empty result is
// "attachment", as is a name left with nothing but '_'.
func safeFileName(name string) string { return bots.SafeFileName(name, maxFileName, "attachment") }

// safeMIME returns the media type of a file part: mt when it is a valid
// type/subtype (with its charset, if any), application/octet-stream
// otherwise. Nothing else of mt reaches the request's headers.
func safeMIME(mt string) string {
	const fallback = "application/octet-stream"
	t, params, err := mime.ParseMediaType(mt)
	if err != nil || strings.Count(t, "/") != 1 || strings.HasPrefix(t, "/") || strings.HasSuffix(t, "/") {
		return fallback
	}
	keep := map[string]string{}
	if cs := params["charset"]; cs != "" {
		keep["charset"] = cs
	}
	out := mime.FormatMediaType(t, keep)
	if out == "" {
		out = mime.FormatMediaType(t, nil)
	}
	if out == "" || strings.ContainsFunc(out, unicode.IsControl) {
		return fallback
	}
	return out
}
