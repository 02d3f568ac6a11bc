package feeds

import "testing"

func TestHTMLText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Plain text, no tags", "Plain text, no tags"},
		{"  spaces \t and\n\n\n\nlines  ", "spaces and\n\nlines"},
		{"<p>Un</p><p>Deux</p>", "Un\n\nDeux"},
		{"ligne<br>suivante<br/>encore", "ligne\nsuivante\nencore"},
		{"<ul><li>a</li><li>b</li></ul>fin", "- a\n- b\n\nfin"},
		{"caf&eacute; &amp; th&#233; &#x2014; &laquo;&nbsp;ok&nbsp;&raquo;", "café & thé — « ok »"},
		{"<script>alert(1)</script><style>p{}</style>visible", "visible"},
		{"<!-- commentaire -->texte", "texte"},
		{"a &lt;script&gt;b&lt;/script&gt;", "a < script>b< /script>"},
		{"x < y and y > z", "x < y and y > z"},
		{"<p>unclosed <b>bold", "unclosed bold"},
		{"<a href=\"https://x.example\" onclick=\"evil()\">lien</a>", "lien"},
		{"bidi \u202eevil\u202c text", "bidi evil text"},
		{"ctrl\x00\x07chars", "ctrlchars"},
		{"<h2>Titre</h2>Texte", "Titre\n\nTexte"},
	}
	for _, tt := range tests {
		if got := htmlText(tt.in); got != tt.want {
			t.Errorf("htmlText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"court", 10, "court"},
		{"exactement", 10, "exactement"},
		{"un texte trop long", 10, "un text…"},
		{"ééééé", 8, "éé…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.max); got != tt.want || len(got) > tt.max {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
