// Package match routes questions to the experts most likely to answer them
// and finds earlier questions similar to a new one.
//
// The package is pure Go: text analysis for French, English and Spanish
// (lowercasing, accent folding, elision, stop words, Snowball stemming and a
// cheap per-text language detection), and an in-memory Engine that learns
// online from declared profiles, questions and answers.
package match

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/french"
	"github.com/kljensen/snowball/spanish"
	"golang.org/x/text/unicode/norm"
)

// Language codes understood by the analyzer. Any other code is accepted and
// analysed without stop words or stemming.
const (
	LangFrench  = "fr"
	LangEnglish = "en"
	LangSpanish = "es"
	LangGerman  = "de"
)

// DefaultLang is the language used when neither the text nor the hint says
// otherwise.
const DefaultLang = LangFrench

// maxTokenBytes bounds the length of a token; longer runs (hashes, base64)
// are cut so that they cannot blow up the vocabulary.
const maxTokenBytes = 40

// voteWords are distinctive function words used to detect a language. A word
// appears in at most one list so that every hit is a clear vote.
var voteWords = map[string]string{}

func init() {
	lists := map[string]string{
		LangFrench:  "le les des du et est une pour qui dans sur pas avec ce cette il elle nous vous sont au aux ou mais je sur ces leur tout fait peut etre plus comme sans chez donc",
		LangEnglish: "the and is of to for that this with are it be not have what how can you was which will would there their they my an or if do does from by at but about should",
		LangSpanish: "el los las del y una por para con su como pero esta este son lo al mas muy tambien hay donde cuando porque yo tiene puede sobre ser estan",
		LangGerman:  "der die das und ist nicht ich ein eine mit zu den auf fur von sich auch wie dem im nur noch wird sind oder wenn kann aber bei",
	}
	for lang, words := range lists {
		for _, w := range strings.Fields(words) {
			voteWords[w] = lang
		}
	}
}

// stopWords holds, per language, folded lowercase stop words removed before
// stemming, on top of the Snowball lists.
var stopWords = map[string]map[string]bool{}

func init() {
	lists := map[string]string{
		LangFrench:  "a au aux avec ce ces dans de des du elle en et eux il ils je la le les leur leurs lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous y est sont ete etre avoir ai as avons avez ont fait faire cette cet celle celui ceux dont donc or ni car comme plus moins tres tout tous toute toutes aussi ainsi alors si bien sans sous chez entre vers apres avant deja encore ici la peut peuvent doit faut quand quel quelle quels quelles comment pourquoi ca cela ceci rien autre autres bonjour merci",
		LangEnglish: "a about above after again against all am an and any are as at be because been before being below between both but by can could did do does doing don down during each few for from further had has have having he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours out over own same she should so some such than that the their theirs them then there these they this those through to too under until up very was we were what when where which while who whom why will with would you your yours hi thanks thank please also get use using",
		LangSpanish: "a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante e el ella ellas ellos en entre era es esa ese eso esta estas este esto estos fue ha hay la las le les lo los mas me mi mis mucho muy nada ni no nos nosotros o otra otro para pero poco por porque que quien se ser si sin sobre su sus tambien te tiene tu tus un una uno unos y ya yo hola gracias",
		LangGerman:  "aber alle als also am an auch auf aus bei bin bis bist da damit dann das dass dem den der des die doch du durch ein eine einem einen einer er es fur hat hatte ich ihr im in ist ja kann mit nach nicht noch nur oder sich sie sind so uber um und uns von vor war was weil wenn wie wir wird zu zum zur",
	}
	for lang, words := range lists {
		set := map[string]bool{}
		for _, w := range strings.Fields(words) {
			set[w] = true
		}
		stopWords[lang] = set
	}
}

// rawToken is a lowercased token before stop-word removal and stemming.
type rawToken struct {
	lower  string // lowercase, accents kept (what the stemmers expect)
	folded string // lowercase, accents folded
}

// tokenize splits text into lowercase word tokens, appended to out.
// Apostrophes split words, which removes French elision ("l'", "d'", "qu'")
// and English clitics once one-letter pieces and stop words are dropped.
// A token already in lowercase shares the memory of text.
func tokenize(text string, out []rawToken) []rawToken {
	var buf [4 * maxTokenBytes]byte
	n := 0       // bytes of the current token in buf
	start := 0   // where the current token starts in text
	same := true // the token is text[start:start+n] as is
	flush := func() {
		if n == 0 {
			return
		}
		if n > maxTokenBytes {
			cut := maxTokenBytes
			for cut > 0 && !utf8.RuneStart(buf[cut]) {
				cut--
			}
			n = cut
		}
		var lower string
		if same {
			lower = text[start : start+n]
		} else {
			lower = string(buf[:n])
		}
		n, same = 0, true
		out = append(out, rawToken{lower: lower, folded: Fold(lower)})
	}
	// put appends the bytes of a token; ok tells whether they are those of
	// text at the same place.
	put := func(b []byte, ok bool) {
		if n+len(b) <= len(buf) {
			copy(buf[n:], b)
		}
		n = min(n+len(b), len(buf))
		same = same && ok
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf { // ASCII fast path
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				if n == 0 {
					start = i
				}
				if n < len(buf) {
					buf[n] = c
					n++
				}
			case 'A' <= c && c <= 'Z':
				if n == 0 {
					start = i
				}
				if n < len(buf) {
					buf[n] = c + 'a' - 'A'
					n++
				}
				same = false
			default:
				flush()
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if n == 0 {
				start = i
			}
			lr := unicode.ToLower(r)
			var rb [utf8.UTFMax]byte
			put(rb[:utf8.EncodeRune(rb[:], lr)], lr == r && r != utf8.RuneError)
		case unicode.Is(unicode.Mn, r) && n > 0:
			// Combining accents (decomposed input) belong to the word.
			var rb [utf8.UTFMax]byte
			put(rb[:utf8.EncodeRune(rb[:], r)], r != utf8.RuneError)
		default:
			flush()
		}
		i += size
	}
	flush()
	return out
}

// foldTable maps the runes below foldTableSize to their folded form; it is
// built once at start-up and only read afterwards.
var foldTable [foldTableSize]string

const foldTableSize = 0x250 // Latin-1 and Latin Extended-A/B

func init() {
	for r := rune(0); r < foldTableSize; r++ {
		foldTable[r] = foldSlow(string(r))
	}
}

// Fold lowercases s and removes its accents: "Élève" becomes "eleve", "œuvre"
// becomes "oeuvre", "Æ" becomes "ae" and "ß" becomes "ss".
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || ('A' <= s[i] && s[i] <= 'Z') {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		if r < foldTableSize {
			b.WriteString(foldTable[r])
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		// Rare scripts: decompose the rest of the string the slow way.
		b.WriteString(foldSlow(s[i:]))
		break
	}
	return b.String()
}

func foldSlow(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch r {
		case 'œ', 'Œ':
			b.WriteString("oe")
		case 'æ', 'Æ':
			b.WriteString("ae")
		case 'ß':
			b.WriteString("ss")
		default:
			if unicode.Is(unicode.Mn, r) {
				continue
			}
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// DetectLanguage returns the language of text ("fr", "en", "es" or "de") by a
// vote of distinctive function words. It returns hint (or DefaultLang when
// hint is empty) when the text gives no clear majority.
func DetectLanguage(text, hint string) string {
	return detect(tokenize(text, nil), hint)
}

func detect(toks []rawToken, hint string) string {
	if hint == "" {
		hint = DefaultLang
	}
	var votes [4]int
	langs := [4]string{LangFrench, LangEnglish, LangSpanish, LangGerman}
	for _, t := range toks {
		lang, ok := voteWords[t.folded]
		if !ok {
			continue
		}
		for i, l := range langs {
			if l == lang {
				votes[i]++
			}
		}
	}
	best, bestVotes, second := hint, 0, 0
	for i, v := range votes {
		switch {
		case v > bestVotes:
			second = bestVotes
			best, bestVotes = langs[i], v
		case v > second:
			second = v
		}
	}
	// The hint wins ties and near-empty texts.
	hv := 0
	for i, l := range langs {
		if l == hint {
			hv = votes[i]
		}
	}
	if bestVotes == 0 || hv == bestVotes {
		return hint
	}
	return best
}

// stemCache memoises analyzeToken per language and token: Snowball
// stemming dominates the cost of analysis, and a community's vocabulary is
// small. Readers take no lock: each shard publishes an immutable map,
// replaced by a larger copy once enough new tokens wait in a locked one.
type stemCache struct {
	shards [stemShards]stemShard
}

type stemShard struct {
	// snap and pending map lang + "\x00" + lowercase token to its term
	// ("" = drop).
	snap    atomic.Pointer[map[string]string]
	mu      sync.Mutex
	pending map[string]string
}

const (
	stemShards = 32
	// maxStemShard bounds the memoised tokens per shard.
	maxStemShard = 1 << 14
)

func (c *stemCache) analyze(toks []rawToken, lang string, out []string) []string {
	var key []byte
	for _, t := range toks {
		key = append(append(append(key[:0], lang...), 0), t.lower...)
		h := uint32(2166136261)
		for _, b := range key {
			h = (h ^ uint32(b)) * 16777619
		}
		sh := &c.shards[h%stemShards]
		var term string
		ok := false
		snap := sh.snap.Load()
		if snap != nil {
			term, ok = (*snap)[string(key)]
		}
		if !ok {
			term = sh.miss(key, t, lang)
		}
		if term != "" {
			out = append(out, term)
		}
	}
	return out
}

// miss analyses a token that was not in the published map, and remembers
// it.
func (sh *stemShard) miss(key []byte, t rawToken, lang string) string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if term, ok := sh.pending[string(key)]; ok {
		return term
	}
	cur := sh.snap.Load()
	if cur != nil {
		if term, ok := (*cur)[string(key)]; ok {
			return term // published meanwhile
		}
	}
	term, keep := analyzeToken(t, lang)
	if !keep {
		term = ""
	}
	// The term may share the memory of a whole text: the cache keeps and
	// returns a copy, so the terms it gives never do, and the engine can
	// keep them as they are (its term map then compares them by pointer).
	term = strings.Clone(term)
	published := 0
	if cur != nil {
		published = len(*cur)
	}
	if published+len(sh.pending) >= maxStemShard {
		return term
	}
	if sh.pending == nil {
		sh.pending = map[string]string{}
	}
	sh.pending[string(key)] = term
	if len(sh.pending) >= max(64, published/2) {
		// Publish: a copy of the current map with the waiting tokens;
		// the copies cost a constant amortised time per token.
		m := make(map[string]string, published+len(sh.pending))
		if cur != nil {
			for k, v := range *cur {
				m[k] = v
			}
		}
		for k, v := range sh.pending {
			m[k] = v
		}
		sh.snap.Store(&m)
		sh.pending = nil
	}
	return term
}

// Analyze turns text into index terms: lowercase, elision removed, stop
// words dropped, Snowball-stemmed in the detected language (langHint breaks
// ties, see DetectLanguage) and accent-folded. Text in a language without a
// stemmer is only folded and lowercased.
func Analyze(text, langHint string) []string {
	toks := tokenize(text, nil)
	lang := detect(toks, langHint)
	return analyzeTokens(toks, lang, nil)
}

// AnalyzeLang is Analyze with a known language: no detection is done.
func AnalyzeLang(text, lang string) []string {
	return analyzeTokens(tokenize(text, nil), lang, nil)
}

func analyzeTokens(toks []rawToken, lang string, out []string) []string {
	for _, t := range toks {
		if s, ok := analyzeToken(t, lang); ok {
			out = append(out, s)
		}
	}
	return out
}

// analyzeToken stems and folds one token, reporting false for tokens that
// carry no content (stop words, single letters).
func analyzeToken(t rawToken, lang string) (string, bool) {
	if utf8.RuneCountInString(t.lower) < 2 {
		r, _ := utf8.DecodeRuneInString(t.lower)
		if !unicode.IsDigit(r) {
			return "", false
		}
	}
	if stopWords[lang][t.folded] {
		return "", false
	}
	var stem string
	switch lang {
	case LangFrench:
		if french.IsStopWord(t.lower) {
			return "", false
		}
		stem = french.Stem(t.lower, true)
	case LangEnglish:
		if english.IsStopWord(t.lower) {
			return "", false
		}
		stem = english.Stem(t.lower, true)
	case LangSpanish:
		if spanish.IsStopWord(t.lower) {
			return "", false
		}
		stem = spanish.Stem(t.lower, true)
	default:
		return t.folded, true
	}
	if stem == "" {
		stem = t.lower
	}
	return Fold(stem), true
}
