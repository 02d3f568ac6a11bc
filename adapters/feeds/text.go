package feeds

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlText turns an HTML fragment from a feed into plain text: tags are
// dropped, entities decoded, the content of scripts and styles skipped,
// paragraphs and line breaks kept as blank lines and newlines, list items
// started with "- ", spaces collapsed. No tag survives: a '<' that would
// open one (written as "&lt;b&gt;" in the source) is followed by a space.
// The input is untrusted; control characters are dropped.
func htmlText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return plainText(s)
	}
	var b textBuilder
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // depth inside elements whose text is not shown
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			if skip == 0 {
				b.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if hiddenElements[a] {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			}
			switch {
			case a == atom.Br:
				b.newline()
			case a == atom.Li && tt != html.EndTagToken:
				b.newline()
				b.text("- ")
			case blockElements[a]:
				b.paragraph()
			}
		}
	}
}

// hiddenElements are the elements whose content is not text for a reader.
var hiddenElements = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Head: true, atom.Title: true,
	atom.Noscript: true, atom.Template: true, atom.Iframe: true, atom.Object: true,
	atom.Svg: true, atom.Math: true, atom.Select: true, atom.Textarea: true,
}

// blockElements are the elements that start and end a paragraph.
var blockElements = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.H1: true, atom.H2: true, atom.H3: true,
	atom.H4: true, atom.H5: true, atom.H6: true, atom.Ul: true, atom.Ol: true,
	atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Table: true, atom.Tr: true,
	atom.Blockquote: true, atom.Pre: true, atom.Hr: true, atom.Section: true,
	atom.Article: true, atom.Header: true, atom.Footer: true, atom.Aside: true,
	atom.Figure: true, atom.Figcaption: true, atom.Address: true, atom.Main: true,
	atom.Nav: true, atom.Fieldset: true, atom.Form: true, atom.Details: true,
	atom.Summary: true,
}

// plainText cleans a text that is not HTML the way htmlText cleans HTML:
// control characters dropped, spaces collapsed, at most one blank line
// between paragraphs.
func plainText(s string) string {
	var b textBuilder
	for i, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if i > 0 {
			b.newline()
		}
		b.text(line)
	}
	return b.String()
}

// textBuilder accumulates text with collapsed spaces and bounded line
// breaks, and keeps no '<' that could open a tag.
type textBuilder struct {
	b        strings.Builder
	space    bool // a space is pending
	newlines int  // newlines pending (0, 1 or 2)
	lastLT   bool // the last rune written is '<'
}

func (t *textBuilder) text(s string) {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			t.space = true
			continue
		case !printable(r):
			continue
		}
		if t.b.Len() > 0 {
			if t.newlines > 0 {
				t.b.WriteString("\n\n"[:t.newlines])
				t.lastLT = false
			} else if t.space {
				t.b.WriteByte(' ')
				t.lastLT = false
			}
		}
		t.newlines, t.space = 0, false
		if t.lastLT && opensTag(r) {
			t.b.WriteByte(' ')
		}
		t.b.WriteRune(r)
		t.lastLT = r == '<'
	}
}

func (t *textBuilder) newline() {
	t.newlines = min(t.newlines+1, 2)
	t.space = false
}

func (t *textBuilder) paragraph() {
	t.newlines = 2
	t.space = false
}

func (t *textBuilder) String() string { return t.b.String() }

// opensTag reports whether r after '<' would make the HTML tokenizer see a
// tag, a comment or a processing instruction.
func opensTag(r rune) bool {
	return r == '/' || r == '!' || r == '?' || unicode.IsLetter(r)
}

// printable reports whether r may appear in untrusted text shown to people:
// no control characters and no invisible bidirectional overrides, which can
// make a text read differently from what it is.
func printable(r rune) bool {
	switch {
	case r == utf8.RuneError, unicode.IsControl(r):
		return false
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return false
	}
	return true
}

// cleanLine drops control characters and collapses spaces in a one-line
// field.
func cleanLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !printable(r) {
			return -1
		}
		return r
	}, s)), " ")
}

// cleanMultiline drops control characters from a text, keeping its line
// breaks and spaces as they are (except "\r\n", which becomes "\n").
func cleanMultiline(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || printable(r) {
			return r
		}
		if r == '\r' {
			return '\n'
		}
		return -1
	}, s)
}

// truncate shortens s to at most max bytes, cutting at a rune boundary and
// ending with "…" when something was cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	n := max - len(ellipsis)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.TrimRightFunc(s[:n], unicode.IsSpace) + ellipsis
}
