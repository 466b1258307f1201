package chart

import (
	"fmt"
	"time"
)

// The inputs of the size bound and the golden files: what the dashboard
// draws on a typical day. The numbers come from fixed formulas, so that
// the files never change by chance.

// days returns n ISO dates from 2026-03-01.
func days(n int) []string {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	out := make([]string, n)
	for i := range out {
		out[i] = start.AddDate(0, 0, i).Format("2006-01-02")
	}
	return out
}

// growth returns the four series of the growth page over n days; net dips
// below zero on some days.
func growth(n int) []Series {
	sub := make([]float64, n)
	unsub := make([]float64, n)
	gone := make([]float64, n)
	net := make([]float64, n)
	for i := range n {
		sub[i] = float64(20 + (i*37)%45)
		unsub[i] = float64(5 + (i*53)%40)
		gone[i] = float64((i * 7) % 9)
		net[i] = sub[i] - unsub[i] - gone[i]
	}
	return []Series{
		{Name: "subscribes", Values: sub},
		{Name: "unsubscribes", Values: unsub},
		{Name: "chats gone", Values: gone},
		{Name: "net", Values: net},
	}
}

// lessonTitles are long, as news headlines are, and some hold characters
// that mean something in HTML.
var lessonTitles = []string{
	"Harbour town's fish & chips shop wins a national prize",
	"Why the night train is coming back <again> across Europe",
	"A library that lends tools, not books",
	`Scientists ask: "Do bees dream?"`,
	"Short title",
}

// lessonBars returns n lessons' accuracy, each with its answer count.
func lessonBars(n int) []Bar {
	out := make([]Bar, n)
	for i := range out {
		out[i] = Bar{
			Label: fmt.Sprintf("%d. %s", i+1, lessonTitles[i%len(lessonTitles)]),
			Value: float64(40+(i*29)%60) + float64(i%10)/10,
			Note:  fmt.Sprintf("%d answers", 30+(i*71)%400),
		}
	}
	return out
}

var (
	weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	hours    = func() []string {
		out := make([]string, 24)
		for i := range out {
			out[i] = fmt.Sprintf("%02d", i)
		}
		return out
	}()
)

// activity returns answers per weekday and hour, busiest in the evening.
func activity() [][]float64 {
	out := make([][]float64, 7)
	for d := range out {
		out[d] = make([]float64, 24)
		for h := range out[d] {
			if h >= 7 {
				out[d][h] = float64((h*h*(d+3))%240 + h*4)
			}
		}
	}
	return out
}

// cohorts returns n weekly cohorts over n weeks: cohort i is n-i weeks
// old, so the table is a triangle, as real retention tables are.
func cohorts(n int) (rows, cols []string, percents [][]float64) {
	for i := range n {
		rows = append(rows, fmt.Sprintf("2026-W%02d", i+1))
		cols = append(cols, fmt.Sprintf("week %d", i))
		row := make([]float64, n-i)
		for j := range row {
			if j == 0 {
				row[j] = 100
				continue
			}
			row[j] = float64(80-j*6-(i*3)%10) + float64((i+j)%7)/7
		}
		percents = append(percents, row)
	}
	return rows, cols, percents
}
