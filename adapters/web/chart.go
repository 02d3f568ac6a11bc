package web

import (
	"math"
	"strconv"
)

// Charts are drawn on the server as inline SVG: no script, nothing to
// fetch. Each comes with its title and description for screen readers and
// with the same figures as a table.

// chart is an SVG chart ready for the "chart" template; every number is
// already written as text.
type chart struct {
	ID, Title, Desc string
	// DataLabel opens the data table ("Show the data").
	DataLabel     string
	Width, Height int
	Grid          []gridLine
	Bars          []bar
	Lines         []line
	Labels        []axisLabel
	Legend        []legendItem
	Table         dataTable
}

type gridLine struct{ X1, X2, Y, Label string }

type bar struct{ X, Y, W, H, Class, Tip string }

type line struct {
	Points, Class string
	Marks         []mark
}

// mark is a point of a line; Square tells the second series apart without
// relying on colour.
type mark struct {
	X, Y, Tip string
	Square    bool
	// SX and SY are the corner of the square mark.
	SX, SY string
}

type axisLabel struct{ X, Y, Text string }

type legendItem struct {
	Class, Text string
	Line        bool // drawn as a line with marks rather than a block
	Square      bool
}

type dataTable struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// series is one set of values to draw, one per label.
type series struct {
	Name   string
	Class  string
	Values []float64
}

// The frame of every chart.
const (
	chartW, chartH                       = 640, 260
	padLeft, padRight, padTop, padBottom = 48, 12, 14, 34
)

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// niceStep returns a round step (1, 2 or 5 times a power of ten, at least
// 1) that cuts max into about four parts.
func niceStep(max float64) float64 {
	raw := max / 4
	if raw <= 1 {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*exp >= raw {
			return f * exp
		}
	}
	return 10 * exp
}

// axis computes the vertical scale of values and draws its grid, ticks
// labelled by tick; steps are round multiples of unit.
func axis(c *chart, all []series, unit float64, tick func(float64) string) (y func(float64) float64) {
	max := 0.0
	for _, s := range all {
		for _, v := range s.Values {
			max = math.Max(max, v)
		}
	}
	step := niceStep(max/unit) * unit
	top := math.Max(step, math.Ceil(max/step)*step)
	plotH := float64(c.Height - padTop - padBottom)
	y = func(v float64) float64 { return float64(padTop) + plotH*(1-v/top) }
	for v := 0.0; v <= top+step/2; v += step {
		c.Grid = append(c.Grid, gridLine{X1: num(padLeft), X2: num(float64(c.Width - padRight)), Y: num(y(v)), Label: tick(v)})
	}
	return y
}

// xLabels writes the labels under the slots of width slot: every other
// one when there are many, always the last; the table has them all.
func xLabels(c *chart, labels []string, slot float64) {
	for i, l := range labels {
		if len(labels) > 8 && (len(labels)-1-i)%2 == 1 {
			continue
		}
		c.Labels = append(c.Labels, axisLabel{X: num(padLeft + slot*(float64(i)+0.5)), Y: num(float64(c.Height - padBottom + 16)), Text: l})
	}
}

// barChart draws the series as grouped bars, one group per label. show
// writes a value for tips and the table; tick writes the axis' values.
func barChart(id, title, desc string, labels []string, all []series, unit float64, show, tick func(float64) string, caption, first string) chart {
	c := chart{ID: id, Title: title, Desc: desc, Width: chartW, Height: chartH}
	y := axis(&c, all, unit, tick)
	slot := float64(c.Width-padLeft-padRight) / float64(max(1, len(labels)))
	barW := slot * 0.72 / float64(max(1, len(all)))
	for i := range labels {
		for k, s := range all {
			v := s.Values[i]
			x := padLeft + slot*float64(i) + slot*0.14 + barW*float64(k)
			c.Bars = append(c.Bars, bar{X: num(x), Y: num(y(v)), W: num(barW - 1), H: num(y(0) - y(v)), Class: s.Class,
				Tip: labels[i] + " · " + s.Name + " — " + show(v)})
		}
	}
	xLabels(&c, labels, slot)
	for _, s := range all {
		c.Legend = append(c.Legend, legendItem{Class: s.Class, Text: s.Name})
	}
	c.Table = table(caption, first, labels, all, show)
	return c
}

// lineChart draws the series as lines with marks, the second with square
// marks and a dashed line.
func lineChart(id, title, desc string, labels []string, all []series, unit float64, show, tick func(float64) string, caption, first string) chart {
	c := chart{ID: id, Title: title, Desc: desc, Width: chartW, Height: chartH}
	y := axis(&c, all, unit, tick)
	slot := float64(c.Width-padLeft-padRight) / float64(max(1, len(labels)))
	for k, s := range all {
		l := line{Class: s.Class}
		for i, v := range s.Values {
			x := padLeft + slot*(float64(i)+0.5)
			if l.Points != "" {
				l.Points += " "
			}
			l.Points += num(x) + "," + num(y(v))
			l.Marks = append(l.Marks, mark{X: num(x), Y: num(y(v)), SX: num(x - 4), SY: num(y(v) - 4), Square: k%2 == 1,
				Tip: labels[i] + " · " + s.Name + " — " + show(v)})
		}
		c.Lines = append(c.Lines, l)
		c.Legend = append(c.Legend, legendItem{Class: s.Class, Text: s.Name, Line: true, Square: k%2 == 1})
	}
	xLabels(&c, labels, slot)
	c.Table = table(caption, first, labels, all, show)
	return c
}

// table is the chart's data: one row per label, one column per series.
func table(caption, first string, labels []string, all []series, show func(float64) string) dataTable {
	t := dataTable{Caption: caption, Head: []string{first}}
	for _, s := range all {
		t.Head = append(t.Head, s.Name)
	}
	for i, l := range labels {
		row := []string{l}
		for _, s := range all {
			row = append(row, show(s.Values[i]))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
