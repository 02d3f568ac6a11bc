package core

import (
	"strings"
	"unicode"
)

// foldMap maps accented Latin letters to their base letters, and ligatures
// to their letter pairs. Letters outside it are kept as they are.
var foldMap = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a",
	'ç': "c", 'è': "e", 'é': "e", 'ê': "e", 'ë': "e",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ñ': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y",
	'œ': "oe", 'æ': "ae", 'ß': "ss",
}

// Fold lowercases s, removes accents and reduces every run of characters
// that are not letters or digits to one space. "Marchés  publics !" becomes
// "marches publics".
func Fold(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if f, ok := foldMap[r]; ok {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteString(f)
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	return b.String()
}

// stopWords are frequent French and English words that say nothing about a
// topic.
var stopWords = wordSet(`le la les un une des du de d l au aux et ou en dans par pour sur avec sans ce cette ces
		qui que quoi quel quelle quels quelles comment est sont a ont je tu il elle nous vous ils elles on mon ma mes son sa ses
		leur leurs ne pas plus se s y qu c j m n t
		the a an of to in on for and or is are be how what which who with by as at it this that do does i you we they my`)

func wordSet(words string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(words) {
		set[w] = true
	}
	return set
}

// Terms returns the folded words of s that carry meaning, with a light
// plural stripping ("marchés" and "marché" give the same term). It is the
// simple analysis of the topic router; core/match has the full one.
func Terms(s string) []string {
	var terms []string
	for _, w := range strings.Fields(Fold(s)) {
		if stopWords[w] {
			continue
		}
		if n := len(w); n > 3 && (w[n-1] == 's' || w[n-1] == 'x') {
			w = w[:n-1]
		}
		terms = append(terms, w)
	}
	return terms
}
