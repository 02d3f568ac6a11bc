package web

import (
	"net/http"
	"strconv"
	"time"

	"entraide/core"
)

// The dashboard: the figures of the last 30 days, the charts of the last
// 12 weeks, and the lists to act on.

// statsPeriod is the period of the dashboard's figures.
const statsPeriod = 30 * 24 * time.Hour

type dashboardBody struct {
	From, To   string
	Figures    []figure
	Charts     []chart
	Unmatched  []topicRow
	OverBudget []personRef
	Helpful    []helpfulRow
}

// figure is one key figure: a label, a value, an optional note.
type figure struct {
	ID, Label, Value, Note string
}

type personRef struct {
	Name, Account string
}

type topicRow struct {
	Topic     string
	Questions int
	Suggested []personRef
}

type helpfulRow struct {
	Person personRef
	Count  string
}

func refOf(p core.Person) personRef {
	return personRef{Name: p.Name(), Account: p.Identity.String()}
}

func (h *handler) dashboard(w http.ResponseWriter, r *http.Request, v *visit) {
	now := h.net.Clock().Now()
	s, err := h.net.Stats(r.Context(), v.person.Identity, v.sess.Community, now.Add(-statsPeriod), now)
	if err != nil {
		h.fail(w, r, "stats", err)
		return
	}
	loc := h.net.Location()
	h.render(w, http.StatusOK, "dashboard", v.base(word(v.lang, "dash.title"), "dashboard", buildDashboard(v.lang, loc, s)))
}

// buildDashboard turns the figures into what the page shows.
func buildDashboard(lang string, loc *time.Location, s core.Stats) dashboardBody {
	w := func(key string) string { return word(lang, key) }
	itoa := strconv.Itoa
	d := dashboardBody{From: formatDay(lang, s.From.In(loc)), To: formatDay(lang, s.To.In(loc))}
	rate := w("none")
	if s.Questions > 0 {
		rate = formatPercent(lang, s.AnswerRate)
	}
	d.Figures = []figure{
		{ID: "questions", Label: w("fig.questions"), Value: itoa(s.Questions)},
		{ID: "producers", Label: w("fig.askers") + " / " + w("fig.answerers"), Value: itoa(s.Askers) + " / " + itoa(s.Answerers), Note: w("fig.producers")},
		{ID: "rate", Label: w("fig.rate"), Value: rate, Note: sprintf(lang, "fig.rate.note", s.Answered, s.Questions)},
		{ID: "median", Label: w("fig.median"), Value: formatDuration(lang, s.FirstAnswerMedian)},
		{ID: "p90", Label: w("fig.p90"), Value: formatDuration(lang, s.FirstAnswerP90)},
		{ID: "escalated", Label: w("fig.escalated"), Value: itoa(s.Escalated), Note: w("fig.escalated.n")},
		{ID: "expired", Label: w("fig.expired"), Value: itoa(s.Expired)},
		{ID: "resolved", Label: w("fig.resolved"), Value: itoa(s.Resolved)},
		{ID: "experts", Label: w("fig.experts"), Value: itoa(s.Experts)},
	}
	d.Charts = weeklyCharts(lang, loc, s.Weeks)
	for _, t := range s.Unmatched {
		row := topicRow{Topic: t.Topic, Questions: t.Questions}
		for _, p := range t.Suggested {
			row.Suggested = append(row.Suggested, refOf(p))
		}
		d.Unmatched = append(d.Unmatched, row)
	}
	for _, p := range s.OverBudget {
		d.OverBudget = append(d.OverBudget, refOf(p))
	}
	for _, c := range s.Helpful {
		n := sprintf(lang, "helpful.n", c.Count)
		if c.Count == 1 {
			n = w("helpful.one")
		}
		d.Helpful = append(d.Helpful, helpfulRow{Person: refOf(c.Person), Count: n})
	}
	return d
}

// weeklyCharts draws the three charts of the weekly series.
func weeklyCharts(lang string, loc *time.Location, weeks []core.WeekStats) []chart {
	w := func(key string) string { return word(lang, key) }
	labels := make([]string, len(weeks))
	asked, answered, askers, answerers, median := make([]float64, len(weeks)), make([]float64, len(weeks)),
		make([]float64, len(weeks)), make([]float64, len(weeks)), make([]float64, len(weeks))
	totalAsked, totalAnswered, busiest := 0, 0, 0
	var longest time.Duration
	for i, wk := range weeks {
		labels[i] = formatShortDay(lang, wk.Start.In(loc))
		asked[i], answered[i] = float64(wk.Questions), float64(wk.Answered)
		askers[i], answerers[i] = float64(wk.Askers), float64(wk.Answerer)
		median[i] = wk.FirstAnswerMedian.Minutes()
		totalAsked += wk.Questions
		totalAnswered += wk.Answered
		busiest = max(busiest, wk.Questions)
		longest = max(longest, wk.FirstAnswerMedian)
	}
	count := func(v float64) string { return strconv.Itoa(int(v + 0.5)) }
	lastAskers, lastAnswerers := 0, 0
	if n := len(weeks); n > 0 {
		lastAskers, lastAnswerers = weeks[n-1].Askers, weeks[n-1].Answerer
	}
	minutes := func(v float64) string { return formatDuration(lang, time.Duration(v*float64(time.Minute))) }
	minuteTick := func(v float64) string {
		if v == 0 {
			return "0"
		}
		return minutes(v)
	}
	week := w("chart.week")
	charts := []chart{
		barChart("chart-questions", w("chart.q.title"), sprintf(lang, "chart.q.desc", totalAsked, totalAnswered, busiest), labels,
			[]series{{Name: w("chart.q.asked"), Class: "s1", Values: asked}, {Name: w("chart.q.ans"), Class: "s2", Values: answered}},
			1, count, count, w("chart.q.title"), week),
		lineChart("chart-people", w("chart.p.title"), sprintf(lang, "chart.p.desc", lastAskers, lastAnswerers), labels,
			[]series{{Name: w("chart.p.askers"), Class: "s1", Values: askers}, {Name: w("chart.p.answer"), Class: "s3", Values: answerers}},
			1, count, count, w("chart.p.title"), week),
		barChart("chart-delay", w("chart.d.title"), sprintf(lang, "chart.d.desc", formatDuration(lang, longest)), labels,
			[]series{{Name: w("chart.d.median"), Class: "s4", Values: median}},
			durationStep(median), minutes, minuteTick, w("chart.d.title"), week),
	}
	for i := range charts {
		charts[i].DataLabel = w("chart.data")
	}
	return charts
}

// durationStep is the smallest step of a delay axis, in minutes: 15
// minutes, an hour or a day, by the longest delay.
func durationStep(minutes []float64) float64 {
	longest := 0.0
	for _, m := range minutes {
		longest = max(longest, m)
	}
	switch {
	case longest <= 120:
		return 15
	case longest <= 72*60:
		return 60
	}
	return 24 * 60
}

func sprintf(lang, key string, args ...any) string {
	return page{Lang: lang}.F(key, args...)
}
