package replay

import (
	"math"
	"strings"
	"unicode"
)

// Baseline parameters, identical to the reference scorer.
const (
	baseK1 = 1.2
	baseB  = 0.75
)

// pyTokens mirrors the reference scorer's tokenizer: Python's
// re.findall(r"\w+", text.lower()) on a str, where \w is a Unicode letter,
// number or underscore.
func pyTokens(text string, out []string) []string {
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range text {
		if r == 'İ' {
			// Python lowercases it to "i" + U+0307; the mark ends the word.
			b.WriteByte('i')
			flush()
			continue
		}
		r = unicode.ToLower(r)
		if unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' {
			b.WriteRune(r)
			continue
		}
		flush()
	}
	flush()
	return out
}

// termCounts is an insertion-ordered bag of words (like Python's Counter).
type termCounts struct {
	order []string
	n     map[string]int
}

func newTermCounts() *termCounts { return &termCounts{n: map[string]int{}} }

func (c *termCounts) add(toks []string) {
	for _, t := range toks {
		if _, ok := c.n[t]; !ok {
			c.order = append(c.order, t)
		}
		c.n[t]++
	}
}

func (c *termCounts) total() int {
	s := 0
	for _, v := range c.n {
		s += v
	}
	return s
}

// onlineBM25 mirrors the reference scorer's growing BM25 index.
type onlineBM25 struct {
	post  map[string]map[string]int
	dl    map[string]int
	total int
}

func newOnlineBM25() *onlineBM25 {
	return &onlineBM25{post: map[string]map[string]int{}, dl: map[string]int{}}
}

func (x *onlineBM25) add(doc string, tf *termCounts) {
	for _, w := range tf.order {
		p := x.post[w]
		if p == nil {
			p = map[string]int{}
			x.post[w] = p
		}
		p[doc] += tf.n[w]
	}
	n := tf.total()
	x.dl[doc] += n
	x.total += n
}

// scores returns the BM25 score of every document sharing a term with the
// query terms, summed in query-term order as the reference does.
func (x *onlineBM25) scores(qterms []string) map[string]float64 {
	n := len(x.dl)
	s := map[string]float64{}
	if n == 0 {
		return s
	}
	avg := float64(x.total) / float64(n)
	for _, w := range qterms {
		p := x.post[w]
		if len(p) == 0 {
			continue
		}
		df := float64(len(p))
		idf := math.Log(1 + (float64(n)-df+0.5)/(df+0.5))
		for d, f := range p {
			ff := float64(f)
			num := idf * ff * (baseK1 + 1)
			den := ff + baseK1*(1-baseB+baseB*float64(x.dl[d])/avg)
			s[d] += num / den
		}
	}
	return s
}

// expectedRandom returns the exact expectations of (MRR, R@k, P@1) for a
// uniformly random order of c candidates of which g are gold.
func expectedRandom(c, g, k int) (mrr, rk, p1 float64) {
	if c <= 0 || g <= 0 {
		return 0, 0, 0
	}
	pNone := 1.0
	for r := 1; r < c-g+2; r++ {
		pHere := pNone * float64(g) / float64(c-r+1)
		mrr += pHere / float64(r)
		pNone *= 1 - float64(g)/float64(c-r+1)
	}
	return mrr, float64(min(k, c)) / float64(c), float64(g) / float64(c)
}

// rankMetrics returns MRR, recall@5 and precision@1 of ranking against gold.
func rankMetrics(ranking []string, gold map[string]bool) (mrr, r5, p1 float64) {
	for i, u := range ranking {
		if gold[u] {
			mrr = 1 / float64(i+1)
			break
		}
	}
	hits := 0
	for i := 0; i < len(ranking) && i < 5; i++ {
		if gold[ranking[i]] {
			hits++
		}
	}
	r5 = float64(hits) / float64(len(gold))
	if len(ranking) > 0 && gold[ranking[0]] {
		p1 = 1
	}
	return mrr, r5, p1
}
