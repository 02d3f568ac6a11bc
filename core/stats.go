package core

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Activity is what happened in a community over a period: the questions
// asked, their answers and to whom they were routed.
type Activity struct {
	Questions []Question
	Answers   []Answer
	Routings  []Routing
}

// Stats are the figures an animator needs to keep a community alive.
type Stats struct {
	From, To time.Time
	// Askers and Answerers count the people who asked, and who answered,
	// in the period: producers against consumers.
	Askers, Answerers int
	// Experts is the size of the directory now.
	Experts int
	// Questions asked in the period, how many got at least one answer, and
	// how many were escalated (sent to more experts because nobody
	// answered) or expired.
	Questions, Answered, Escalated, Expired, Resolved int
	// AnswerRate is Answered / Questions (0 without questions).
	AnswerRate float64
	// FirstAnswerMedian and FirstAnswerP90 are the time from a question to
	// its first answer, over answered questions; 0 without any.
	FirstAnswerMedian, FirstAnswerP90 time.Duration
	// Unmatched are the topics of questions that found no expert, most
	// asked first.
	Unmatched []TopicCount
	// OverBudget are the experts asked as many questions in the last 24
	// hours as their budget allows.
	OverBudget []Person
	// Helpful are the people who answered most, most first.
	Helpful []PersonCount
	// Weeks are the same figures week by week, oldest first.
	Weeks []WeekStats
}

// TopicCount is a topic and how many questions were about it.
type TopicCount struct {
	Topic     string
	Questions int
	// Suggested are the people who answered such questions best, to
	// invite into the directory.
	Suggested []Person
	// key groups the forms of the topic's word (TopicTerm.Key).
	key string
}

// PersonCount is a person and a count.
type PersonCount struct {
	Person Person
	Count  int
}

// WeekStats are the figures of one week.
type WeekStats struct {
	Start                                 time.Time
	Questions, Answered, Askers, Answerer int
	FirstAnswerMedian                     time.Duration
}

// Limits of the lists in Stats.
const (
	statsTopics  = 10
	statsHelpful = 5
	statsWeeks   = 12
)

// Stats computes the figures of a community between from and to, for who,
// who must animate it, with the weekly series over the 12 weeks before to.
func (n *Network) Stats(ctx context.Context, who Identity, community CommunityID, from, to time.Time) (Stats, error) {
	if ok, err := n.CanAnimate(ctx, who, community); err != nil || !ok {
		return Stats{}, forbidden(err, who)
	}
	return n.stats(ctx, community, from, to)
}

func (n *Network) stats(ctx context.Context, community CommunityID, from, to time.Time) (Stats, error) {
	weeksFrom := to.AddDate(0, 0, -7*statsWeeks)
	start := from
	if weeksFrom.Before(start) {
		start = weeksFrom
	}
	act, err := n.store.Activity(ctx, community, start, to)
	if err != nil {
		return Stats{}, fmt.Errorf("core: stats: %w", err)
	}
	s := Stats{From: from, To: to}
	first := map[QuestionID]time.Time{}
	answerers := map[PersonID]int{}
	for _, a := range act.Answers {
		if t, ok := first[a.Question]; !ok || a.CreatedAt.Before(t) {
			first[a.Question] = a.CreatedAt
		}
	}
	routed := map[QuestionID][]Routing{}
	for _, r := range act.Routings {
		routed[r.Question] = append(routed[r.Question], r)
	}
	inPeriod := map[QuestionID]bool{}
	askers := map[PersonID]bool{}
	var delays []time.Duration
	unmatched := map[string]int{}        // topic key -> questions
	forms := map[string]map[string]int{} // topic key -> its forms written
	for _, q := range act.Questions {
		if q.CreatedAt.Before(from) || !q.CreatedAt.Before(to) {
			continue
		}
		inPeriod[q.ID] = true
		s.Questions++
		askers[q.Asker] = true
		if t, ok := first[q.ID]; ok {
			s.Answered++
			delays = append(delays, t.Sub(q.CreatedAt))
		}
		switch q.State {
		case StateExpired:
			s.Expired++
		case StateResolved:
			s.Resolved++
		}
		rs := routed[q.ID]
		for _, r := range rs {
			if r.RoutedAt.After(q.CreatedAt.Add(time.Minute)) {
				s.Escalated++
				break
			}
		}
		if len(rs) == 0 {
			for _, term := range n.topicTerms(q.Text) {
				unmatched[term.Key]++
				if forms[term.Key] == nil {
					forms[term.Key] = map[string]int{}
				}
				forms[term.Key][term.Word]++
			}
		}
	}
	for _, a := range act.Answers {
		if inPeriod[a.Question] {
			answerers[a.Author]++
		}
	}
	s.Askers, s.Answerers = len(askers), len(answerers)
	if s.Questions > 0 {
		s.AnswerRate = float64(s.Answered) / float64(s.Questions)
	}
	s.FirstAnswerMedian, s.FirstAnswerP90 = quantile(delays, 0.5), quantile(delays, 0.9)

	// Helpful: most answers in the period.
	for id, c := range answerers {
		p, err := n.store.Person(ctx, id)
		if err != nil {
			return Stats{}, fmt.Errorf("core: stats: %w", err)
		}
		s.Helpful = append(s.Helpful, PersonCount{Person: p, Count: c})
	}
	sort.Slice(s.Helpful, func(a, b int) bool {
		if s.Helpful[a].Count != s.Helpful[b].Count {
			return s.Helpful[a].Count > s.Helpful[b].Count
		}
		return s.Helpful[a].Person.ID < s.Helpful[b].Person.ID
	})
	if len(s.Helpful) > statsHelpful {
		s.Helpful = s.Helpful[:statsHelpful]
	}

	// Topics without expert, with the people who answered such questions.
	for key, c := range unmatched {
		s.Unmatched = append(s.Unmatched, TopicCount{Topic: mostUsed(forms[key]), Questions: c, key: key})
	}
	sort.Slice(s.Unmatched, func(a, b int) bool {
		if s.Unmatched[a].Questions != s.Unmatched[b].Questions {
			return s.Unmatched[a].Questions > s.Unmatched[b].Questions
		}
		return s.Unmatched[a].Topic < s.Unmatched[b].Topic
	})
	if len(s.Unmatched) > statsTopics {
		s.Unmatched = s.Unmatched[:statsTopics]
	}
	if err := n.suggest(ctx, act, s.Unmatched); err != nil {
		return Stats{}, err
	}

	// Experts over budget now.
	experts, err := n.store.Experts(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("core: stats: %w", err)
	}
	s.Experts = len(experts)
	now := n.clock.Now()
	for _, e := range experts {
		budget := e.DailyBudget
		if budget <= 0 {
			budget = n.cfg.DailyBudget
		}
		count, err := n.store.CountRoutingsSince(ctx, e.Person, now.Add(-24*time.Hour))
		if err != nil {
			return Stats{}, fmt.Errorf("core: stats: %w", err)
		}
		if count >= budget {
			p, err := n.store.Person(ctx, e.Person)
			if err != nil {
				return Stats{}, fmt.Errorf("core: stats: %w", err)
			}
			s.OverBudget = append(s.OverBudget, p)
		}
	}

	// Weekly series.
	for w := 0; w < statsWeeks; w++ {
		ws := WeekStats{Start: weeksFrom.AddDate(0, 0, 7*w)}
		end := ws.Start.AddDate(0, 0, 7)
		askers, answerers := map[PersonID]bool{}, map[PersonID]bool{}
		var delays []time.Duration
		inWeek := map[QuestionID]bool{}
		for _, q := range act.Questions {
			if q.CreatedAt.Before(ws.Start) || !q.CreatedAt.Before(end) {
				continue
			}
			inWeek[q.ID] = true
			ws.Questions++
			askers[q.Asker] = true
			if t, ok := first[q.ID]; ok {
				ws.Answered++
				delays = append(delays, t.Sub(q.CreatedAt))
			}
		}
		for _, a := range act.Answers {
			if inWeek[a.Question] {
				answerers[a.Author] = true
			}
		}
		ws.Askers, ws.Answerer = len(askers), len(answerers)
		ws.FirstAnswerMedian = quantile(delays, 0.5)
		s.Weeks = append(s.Weeks, ws)
	}
	return s, nil
}

// suggest fills each topic's Suggested with who answered questions with
// that topic best (most answers on questions containing the term).
func (n *Network) suggest(ctx context.Context, act Activity, topics []TopicCount) error {
	if len(topics) == 0 {
		return nil
	}
	wanted := map[string]int{}
	for i, t := range topics {
		wanted[t.key] = i
	}
	// The terms of each question are read once, and only the topics asked
	// about are kept.
	byQuestion := map[QuestionID]Question{}
	termsOf := map[QuestionID][]int{}
	for _, q := range act.Questions {
		byQuestion[q.ID] = q
		for _, term := range n.topicTerms(q.Text) {
			if i, ok := wanted[term.Key]; ok {
				termsOf[q.ID] = append(termsOf[q.ID], i)
			}
		}
	}
	counts := make([]map[PersonID]int, len(topics))
	for i := range counts {
		counts[i] = map[PersonID]int{}
	}
	for _, a := range act.Answers {
		q, ok := byQuestion[a.Question]
		if !ok || a.Author == q.Asker {
			continue
		}
		for _, i := range termsOf[a.Question] {
			counts[i][a.Author]++
		}
	}
	for i := range topics {
		counts := counts[i]
		var ids []PersonID
		for id := range counts {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(a, b int) bool {
			if counts[ids[a]] != counts[ids[b]] {
				return counts[ids[a]] > counts[ids[b]]
			}
			return ids[a] < ids[b]
		})
		for _, id := range ids[:min(3, len(ids))] {
			p, err := n.store.Person(ctx, id)
			if err != nil {
				return fmt.Errorf("core: stats: %w", err)
			}
			topics[i].Suggested = append(topics[i].Suggested, p)
		}
	}
	return nil
}

// TopicTerm is a topic word of a text: Key groups the forms of one word
// (its stem), Word is one form, to show.
type TopicTerm struct{ Key, Word string }

// TopicAnalyzer is a Router that tells the topic words of a text (the
// matching engine's: stop words dropped, words stemmed in the text's
// language). The figures group the questions that found no expert by them.
type TopicAnalyzer interface {
	TopicTerms(text string) []TopicTerm
}

// topicTerms returns the distinct topic words of a text: the router's when
// it tells them, else its terms of five letters or more, which are rarely
// grammar.
func (n *Network) topicTerms(text string) []TopicTerm {
	if a, ok := n.router.(TopicAnalyzer); ok {
		return a.TopicTerms(text)
	}
	seen := map[string]bool{}
	var out []TopicTerm
	for _, t := range Terms(text) {
		if len(t) >= 5 && !seen[t] {
			seen[t] = true
			out = append(out, TopicTerm{Key: t, Word: t})
		}
	}
	return out
}

// mostUsed returns the form of a word written most often, the first in
// alphabetical order among ties.
func mostUsed(forms map[string]int) string {
	best, n := "", 0
	for w, c := range forms {
		if c > n || c == n && w < best {
			best, n = w, c
		}
	}
	return best
}

// quantile returns the q-quantile of ds (nearest rank), 0 when empty.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	i := int(q*float64(len(s))+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}
