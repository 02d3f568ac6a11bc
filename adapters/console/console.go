// Package console is entraide's terminal adapter: several people talk to the
// bot from standard input, one line each, and every message the bot sends is
// printed on one line. It needs no token and no server, which makes it the
// way to try entraide, to demonstrate it and to script it.
//
// Input lines:
//
//	alice> text         alice writes text in the current room (#general)
//	alice@#room> text   alice writes in #room
//	alice@dm> text      alice writes to the bot in a direct message
//	# comment           ignored, as are blank lines
//
// Output lines:
//
//	[#room] entraide: text
//	[#room thread 3] entraide: text   a reply in the thread of message 3
//	[dm alice] entraide: text         a direct message to alice
//
// A message carrying a file (a person's data export, say) is followed by
// one line naming it:
//
//	[fichier joint : entraide-mes-donnees.json, 2,1 ko]
//
// When Config.FilesDir is set, the file is also written there under its
// sanitised name, and the line says where:
//
//	[fichier joint : entraide-mes-donnees.json, 2,1 ko, enregistré : fichiers/entraide-mes-donnees.json]
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"entraide/bots"
	"entraide/core"
)

// Platform is the console's platform name.
const Platform core.Platform = "console"

// seqKey is the checkpoint that numbers console messages, so message ids
// stay unique across runs on the same database.
const seqKey = "console:seq"

// MaxLineLen bounds one input line, in bytes.
const MaxLineLen = 64 * 1024

// Config tunes the console.
type Config struct {
	// Room is the room of lines that name none.
	Room string
	// BotName is the name printed before the bot's messages.
	BotName string
	// Echo prints each input line before handling it (the demo uses it).
	Echo bool
	// FilesDir, when set, is the directory where the files that messages
	// carry (a person's data export, say) are written, so that they can be
	// opened: under their sanitised names (letters, digits, '.', '-', '_'),
	// readable by the owner only, replacing a file of the same name. It is
	// created when missing. Empty writes nothing: the console only names
	// the file.
	FilesDir string
}

// DefaultConfig returns the settings used when none are given.
func DefaultConfig() Config { return Config{Room: "#general", BotName: "entraide"} }

// Validate reports settings the console cannot work with.
func (c Config) Validate() error {
	if _, err := parseRoom(c.Room); err != nil {
		return fmt.Errorf("console: room %q: want a name starting with #, such as #general", c.Room)
	}
	if strings.TrimSpace(c.BotName) == "" || strings.ContainsAny(c.BotName, "\n\r") {
		return fmt.Errorf("console: bot name %q: want a one-line name", c.BotName)
	}
	if c.FilesDir != "" && (strings.TrimSpace(c.FilesDir) == "" || strings.ContainsFunc(c.FilesDir, unicode.IsControl)) {
		return fmt.Errorf("console: files directory %q: want a directory path, or nothing to write no file", c.FilesDir)
	}
	return nil
}

// Checkpointer keeps the console's message counter.
type Checkpointer interface {
	Checkpoint(ctx context.Context, key string) (string, error)
	SetCheckpoint(ctx context.Context, key, value string) error
}

// Pipeline is where the console delivers lines, and what it waits for
// before reading the next one.
type Pipeline interface {
	bots.Inbox
	// Drain returns once all the work caused so far is done.
	Drain(ctx context.Context) error
}

// Adapter reads people's lines and prints the bot's messages. It is the
// console's bots.Sender.
type Adapter struct {
	cfg   Config
	out   io.Writer
	store Checkpointer
	log   *slog.Logger
	mu    sync.Mutex // serialises writes to out
}

var _ bots.Sender = (*Adapter)(nil)

// New returns a console adapter that prints to out.
func New(cfg Config, out io.Writer, store Checkpointer, log *slog.Logger) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.FilesDir != "" {
		if err := os.MkdirAll(cfg.FilesDir, 0o700); err != nil {
			return nil, fmt.Errorf("console: files directory: %w", err)
		}
	}
	return &Adapter{cfg: cfg, out: out, store: store, log: log}, nil
}

// Platform implements bots.Sender.
func (a *Adapter) Platform() core.Platform { return Platform }

// Send implements bots.Sender: it prints the message on one line, and the
// line of its file, if it carries one (see FileLine), after writing the
// file to Config.FilesDir when set. A file that cannot be written is said
// so on its line and logged: the conversation goes on. A file larger than
// bots.MaxFileSize is refused, as on every platform: its line says so, and
// the error is bots.ErrUndeliverable.
func (a *Adapter) Send(_ context.Context, o bots.Outgoing) (bots.Sent, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	lines := a.Render(o)
	var refused error
	if f := o.Message.File; f != nil {
		var note string
		switch {
		case len(f.Data) > bots.MaxFileSize:
			note = fmt.Sprintf("refusé : plus de %s", Size(bots.MaxFileSize))
			refused = fmt.Errorf("console: send %s: file %q is %d bytes, more than the %d a message may carry: %w",
				o.Key, SafeFileName(f.Name), len(f.Data), bots.MaxFileSize, bots.ErrUndeliverable)
		case a.cfg.FilesDir != "":
			path, err := a.writeFile(*f)
			if err != nil {
				a.log.Warn("console: file not written", "key", o.Key, "dir", a.cfg.FilesDir, "err", err)
				note = "non enregistré : " + err.Error()
			} else {
				note = "enregistré : " + path
			}
		}
		lines += "\n" + FileLine(*f, note)
	}
	if _, err := fmt.Fprintln(a.out, lines); err != nil {
		return bots.Sent{}, fmt.Errorf("console: write: %w", err)
	}
	return bots.Sent{}, refused
}

// FileLine is the line that follows a message carrying f:
// "[fichier joint : name, size]", with note after the size when there is
// one, all on one safe line.
func FileLine(f bots.File, note string) string {
	s := "fichier joint : " + SafeFileName(f.Name) + ", " + Size(len(f.Data))
	if note != "" {
		s += ", " + note
	}
	return "[" + Sanitize(s) + "]"
}

// Size writes a number of bytes the French way: "512 octets", "2,1 ko",
// "3,4 Mo", with ko and Mo of 1,024 bytes and 1,024 ko, as file managers
// count them.
func Size(n int) string {
	switch {
	case n < 2:
		return strconv.Itoa(n) + " octet"
	case n < 1<<10:
		return strconv.Itoa(n) + " octets"
	case n < 1<<20:
		return decimal(float64(n)/(1<<10)) + " ko"
	}
	return decimal(float64(n)/(1<<20)) + " Mo"
}

// decimal writes x with one decimal and a decimal comma.
func decimal(x float64) string {
	return strings.Replace(strconv.FormatFloat(x, 'f', 1, 64), ".", ",", 1)
}

// writeFile writes f in Config.FilesDir under its sanitised name and
// returns its path. It writes through an os.Root, so no name, link or
// file already there can make it write outside the directory, and
// replaces the file of that name at once (a temporary file, then a
// rename), so a file is never seen half written.
func (a *Adapter) writeFile(f bots.File) (string, error) {
	name := SafeFileName(f.Name)
	root, err := os.OpenRoot(a.cfg.FilesDir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	tmp := "." + name + ".tmp"
	w, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	_, err = w.Write(f.Data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return "", err
	}
	return filepath.Join(a.cfg.FilesDir, name), nil
}

// SafeFileName returns name with only letters, digits, '.', '-' and '_':
// any other character (slashes, spaces, NUL and other control characters)
// becomes '_', leading dots are dropped (no hidden file, no ".."), and a
// name longer than 100 characters is cut, keeping its extension. A name
// left empty, or with nothing but '_', becomes "fichier".
func SafeFileName(name string) string { return bots.SafeFileName(name, 100, "fichier") }

// println prints a line of the console's own.
func (a *Adapter) println(s string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err := fmt.Fprintln(a.out, s)
	return err
}

// Line is one parsed input line.
type Line struct {
	User string
	// Room is the room written in, empty for a direct message.
	Room string
	DM   bool
	Text string
}

// ErrSyntax is wrapped by the errors of ParseLine.
var ErrSyntax = errors.New("console: syntax")

// ParseLine reads "user> text", "user@#room> text" or "user@dm> text". It
// returns ok false for blank lines and comments.
func ParseLine(s string, defaultRoom string) (l Line, ok bool, err error) {
	trimmed := strings.TrimSpace(s)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return Line{}, false, nil
	}
	if !utf8.ValidString(s) {
		return Line{}, false, fmt.Errorf("%w: the line is not valid UTF-8", ErrSyntax)
	}
	head, text, found := strings.Cut(trimmed, ">")
	if !found {
		return Line{}, false, fmt.Errorf(`%w: expected "name> text", "name@#room> text" or "name@dm> text"`, ErrSyntax)
	}
	user, where, hasWhere := strings.Cut(strings.TrimSpace(head), "@")
	if !validName(user) {
		return Line{}, false, fmt.Errorf("%w: name %q: use letters, digits, '.', '-' or '_'", ErrSyntax, user)
	}
	l = Line{User: user, Room: defaultRoom, Text: strings.TrimSpace(text)}
	if hasWhere {
		switch where = strings.TrimSpace(where); {
		case strings.EqualFold(where, "dm"):
			l.Room, l.DM = "", true
		default:
			room, err := parseRoom(where)
			if err != nil {
				return Line{}, false, err
			}
			l.Room = room
		}
	}
	return l, true, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

func parseRoom(s string) (string, error) {
	if len(s) < 2 || s[0] != '#' || len(s) > 64 || !validName(s[1:]) {
		return "", fmt.Errorf(`%w: room %q: write "@#name" or "@dm"`, ErrSyntax, s)
	}
	return s, nil
}

// Run reads lines from in until it ends or ctx is done, delivers each one
// to the pipeline and waits until the work it caused is done before reading
// the next, so scripts are deterministic. Mistyped lines are reported and
// skipped.
func (a *Adapter) Run(ctx context.Context, in io.Reader, p Pipeline) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLen)
	for n := 1; sc.Scan(); n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw := sc.Text()
		line, ok, err := ParseLine(raw, a.cfg.Room)
		if err != nil {
			if err := a.println(fmt.Sprintf("[console] line %d: %s", n, strings.TrimPrefix(err.Error(), "console: syntax: "))); err != nil {
				return fmt.Errorf("console: write: %w", err)
			}
			continue
		}
		if !ok {
			continue
		}
		if a.cfg.Echo {
			if err := a.println(Sanitize(raw)); err != nil {
				return fmt.Errorf("console: write: %w", err)
			}
		}
		id, err := a.nextID(ctx)
		if err != nil {
			return err
		}
		ev := bots.Event{
			ID: id, Platform: Platform, Room: line.Room, DM: line.DM,
			Sender: core.Identity{Platform: Platform, User: line.User}, SenderName: line.User, Text: line.Text,
		}
		if err := p.Deliver(ctx, ev); err != nil {
			return fmt.Errorf("console: line %d: %w", n, err)
		}
		if err := p.Drain(ctx); err != nil {
			return fmt.Errorf("console: line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("console: read: %w", err)
	}
	return nil
}

// nextID returns the next message number, kept in the store.
func (a *Adapter) nextID(ctx context.Context) (string, error) {
	v, err := a.store.Checkpoint(ctx, seqKey)
	if err != nil {
		return "", fmt.Errorf("console: message counter: %w", err)
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	next := strconv.FormatInt(n+1, 10)
	if err := a.store.SetCheckpoint(ctx, seqKey, next); err != nil {
		return "", fmt.Errorf("console: message counter: %w", err)
	}
	return next, nil
}

// Render prints one outgoing message as one line.
func (a *Adapter) Render(o bots.Outgoing) string {
	var where string
	switch to := o.To; {
	case to.Platform != Platform && to.Platform != "":
		where = string(to.Platform) + " " + Sanitize(to.Room+to.User)
	case to.Room == "":
		where = "dm " + Sanitize(to.User)
	case to.Thread != "":
		where = Sanitize(to.Room) + " thread " + Sanitize(to.Thread)
	default:
		where = Sanitize(to.Room)
	}
	return "[" + where + "] " + a.cfg.BotName + ": " + RenderText(o.Message)
}

// RenderText renders a message on one line: paragraphs separated by " / ",
// user text in « » with control characters removed, then the lines of its
// card (bots.Card.PlainText), also separated by " / ".
func RenderText(m bots.Message) string {
	var b strings.Builder
	for _, s := range m.Spans {
		switch s.Kind {
		case bots.Break:
			b.WriteString(" / ")
		case bots.Quote:
			b.WriteString("« " + Sanitize(s.Text) + " »")
		case bots.Mention:
			b.WriteString("@" + Sanitize(s.Text))
		default:
			b.WriteString(Sanitize(s.Text))
		}
	}
	text := strings.TrimSpace(strings.ReplaceAll(b.String(), "  ", " "))
	if m.Card == nil {
		return text
	}
	parts := []string{text}
	for line := range strings.SplitSeq(m.Card.PlainText(), "\n") {
		parts = append(parts, strings.TrimSpace(Sanitize(line)))
	}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " / ")
}

// Sanitize makes text safe for one terminal line: line breaks become spaces
// and other control characters (escape sequences among them) are dropped.
func Sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r == '\u2028' || r == '\u2029':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) && r != '\u200d':
			return -1
		}
		return r
	}, s)
}
