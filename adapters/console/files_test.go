package console_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"entraide/adapters/console"
	"entraide/bots"
	"entraide/internal/golden"
)

// exportData is a person's data export, 2,150 bytes of JSON.
var exportData = []byte(`{"personne":{"nom":"alice"},"questions":[` + strings.Repeat(`{"texte":"Comment rédiger un CCTP ?"},`, 56) + `{}]}` + "\n")[:2150]

func withFile(text string, f *bots.File) bots.Message {
	var m bots.Message
	if text != "" {
		m.Text(text)
	}
	m.File = f
	return m
}

// send sends m to alice by direct message through a console on out, and
// returns what Send returned.
func send(t *testing.T, c *console.Adapter, m bots.Message) error {
	t.Helper()
	_, err := c.Send(t.Context(), bots.Outgoing{To: bots.Destination{Platform: "console", User: "alice"}, Message: m, Key: "console:1/export"})
	return err
}

// TestRenderFiles shows messages carrying files as the console prints
// them: the message's line, then the file's.
func TestRenderFiles(t *testing.T) {
	var out bytes.Buffer
	c, err := console.New(console.DefaultConfig(), &out, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []bots.Message{
		withFile("Voici vos données.", &bots.File{Name: "entraide-mes-donnees.json", MIME: "application/json", Data: exportData}),
		withFile("Un octet.", &bots.File{Name: "un.txt", MIME: "text/plain", Data: []byte("x")}),
		withFile("Vide.", &bots.File{Name: "vide.txt", MIME: "text/plain"}),
		withFile("Presque un ko.", &bots.File{Name: "presque.bin", Data: make([]byte, 1023)}),
		withFile("Trois Mo.", &bots.File{Name: "archive.zip", MIME: "application/zip", Data: make([]byte, 3<<20)}),
		withFile("Nom hostile.", &bots.File{Name: "../../etc/passwd\x1b[2J\n\x00 \u202eexe.json", MIME: "application/json", Data: []byte("{}")}),
		withFile("", &bots.File{Name: "sans-texte.csv", MIME: "text/csv", Data: []byte("a;b\n")}),
	} {
		if err := send(t, c, m); err != nil {
			t.Fatal(err)
		}
	}
	if strings.ContainsAny(out.String(), "\x00\x1b\u202e\r") {
		t.Errorf("not safe lines: %q", out.String())
	}
	golden.Check(t, "files", out.String())
}

// TestFileTooLarge checks that a file over bots.MaxFileSize is refused as
// on every platform: its line says so, nothing is written, and the error
// is undeliverable.
func TestFileTooLarge(t *testing.T) {
	var out bytes.Buffer
	cfg := console.DefaultConfig()
	cfg.FilesDir = t.TempDir()
	c, err := console.New(cfg, &out, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = send(t, c, withFile("Trop gros.", &bots.File{Name: "gros.json", Data: make([]byte, bots.MaxFileSize+1)}))
	if !errors.Is(err, bots.ErrUndeliverable) {
		t.Errorf("err %v, want undeliverable", err)
	}
	want := "[dm alice] entraide: Trop gros.\n[fichier joint : gros.json, 8,0 Mo, refusé : plus de 8,0 Mo]\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	if entries, _ := os.ReadDir(cfg.FilesDir); len(entries) != 0 {
		t.Errorf("wrote %v", entries)
	}
}

// TestFilesWritten checks that with FilesDir a file is written there (the
// directory created) with its bytes, readable by its owner only, that a
// new one of the same name replaces it, and that the line says where.
func TestFilesWritten(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fichiers")
	var out bytes.Buffer
	cfg := console.DefaultConfig()
	cfg.FilesDir = dir
	c, err := console.New(cfg, &out, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &bots.File{Name: "entraide-mes-donnees.json", MIME: "application/json", Data: exportData}
	if err := send(t, c, withFile("Voici vos données.", f)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "entraide-mes-donnees.json")
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, exportData) {
		t.Fatalf("file %q, %v; want the %d bytes sent", got, err, len(exportData))
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", info.Mode(), err)
	}
	wantLine := "[fichier joint : entraide-mes-donnees.json, 2,1 ko, enregistré : " + path + "]\n"
	if !strings.HasSuffix(out.String(), wantLine) {
		t.Errorf("printed %q, want it to end with %q", out.String(), wantLine)
	}
	f.Data = []byte(`{"nouveau":true}`)
	if err := send(t, c, withFile("Voici vos données.", f)); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, f.Data) {
		t.Errorf("after a second export the file holds %q", got)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"entraide-mes-donnees.json"}) {
		t.Errorf("directory holds %v", names)
	}
}

// TestHostileFileNames checks that no file name can write outside
// FilesDir: parent directories, absolute paths, slashes, NUL, dots, and a
// link planted in the directory.
func TestHostileFileNames(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "fichiers")
	outside := filepath.Join(parent, "passwd")
	if err := os.WriteFile(outside, []byte("root:x:0:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cfg := console.DefaultConfig()
	cfg.FilesDir = dir
	c, err := console.New(cfg, &out, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A link in the directory under the name a hostile file gets, pointing
	// outside: the file replaces the link, and what it pointed to stays.
	if err := os.Symlink(outside, filepath.Join(dir, "_passwd")); err != nil {
		t.Fatal(err)
	}
	for _, c2 := range []struct{ name, want string }{
		{"../../etc/passwd", "_.._etc_passwd"},
		{"../passwd", "_passwd"},
		{"/etc/passwd", "_etc_passwd"},
		{"a/b/c.json", "a_b_c.json"},
		{`..\..\windows\win.ini`, "_.._windows_win.ini"},
		{"mes\x00données.json", "mes_données.json"},
		{"..", "fichier"},
		{".", "fichier"},
		{"", "fichier"},
		{".profile", "profile"},
	} {
		data := []byte("contenu de " + c2.name)
		if err := send(t, c, withFile("x", &bots.File{Name: c2.name, Data: data})); err != nil {
			t.Fatalf("%q: %v", c2.name, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, c2.want))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%q: %s holds %q, %v", c2.name, c2.want, got, err)
		}
		if info, err := os.Lstat(filepath.Join(dir, c2.want)); err != nil || !info.Mode().IsRegular() {
			t.Errorf("%q: %s is not a regular file: %v", c2.name, c2.want, err)
		}
	}
	if got, _ := os.ReadFile(outside); string(got) != "root:x:0:0\n" {
		t.Errorf("the file outside was changed: %q", got)
	}
	if names := dirNames(t, parent); !slices.Equal(names, []string{"fichiers", "passwd"}) {
		t.Errorf("the parent directory holds %v", names)
	}
	for _, name := range dirNames(t, dir) {
		if strings.HasSuffix(name, ".tmp") {
			t.Errorf("temporary file %s left", name)
		}
	}
}

// TestFileNotWritten checks that a file that cannot be written is said so
// on its line, and the conversation goes on.
func TestFileNotWritten(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "export.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cfg := console.DefaultConfig()
	cfg.FilesDir = dir
	c, err := console.New(cfg, &out, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := send(t, c, withFile("Voici.", &bots.File{Name: "export.json", Data: []byte("{}")})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "[dm alice] entraide: Voici.\n[fichier joint : export.json, 2 octets, non enregistré : ") {
		t.Errorf("printed %q", out.String())
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"export.json"}) {
		t.Errorf("directory holds %v", names)
	}
}

func TestFilesDirConfig(t *testing.T) {
	for _, dir := range []string{" ", "a\x00b", "fichiers\n"} {
		cfg := console.DefaultConfig()
		cfg.FilesDir = dir
		if err := cfg.Validate(); err == nil {
			t.Errorf("FilesDir %q accepted", dir)
		}
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := console.DefaultConfig()
	cfg.FilesDir = file
	if _, err := console.New(cfg, &bytes.Buffer{}, nil, nil); err == nil {
		t.Error("a FilesDir that is a file accepted")
	}
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{
		{0, "0 octet"}, {1, "1 octet"}, {2, "2 octets"}, {1023, "1023 octets"}, {1024, "1,0 ko"},
		{2150, "2,1 ko"}, {1 << 20, "1,0 Mo"}, {bots.MaxFileSize, "8,0 Mo"},
	} {
		if got := console.Size(c.n); got != c.want {
			t.Errorf("Size(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

// FuzzSafeFileName checks that no name escapes a directory or carries a
// character other than letters, digits, '.', '-' and '_'.
func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"entraide-mes-donnees.json", "../../etc/passwd", "..", "a\x00b", "\xff", "/", `C:\x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := console.SafeFileName(s)
		if got == "" || strings.HasPrefix(got, ".") || filepath.Base(got) != got || len([]rune(got)) > 100 {
			t.Fatalf("SafeFileName(%q) = %q", s, got)
		}
		if strings.ContainsFunc(got, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && r != '-' && r != '_'
		}) {
			t.Fatalf("SafeFileName(%q) = %q", s, got)
		}
	})
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
