package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/lessonbot/lessonbot/internal/console"
	"github.com/lessonbot/lessonbot/internal/discord"
	"github.com/lessonbot/lessonbot/internal/telegram"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

var previewFormats = []string{"telegram", "discord", "text"}

func runPreview(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "preview", "ID [--as telegram|discord|text]", "print a lesson's daily post exactly as each platform gets it: Telegram HTML, the Discord embed as JSON, or plain text")
	as := f.String("as", "", "print only this `format`: telegram, discord or text (default: all three, each under a heading)")
	lang := f.String("language", "", "the interface `language` of the post's labels: en or fr (default: the configured language)")
	pos, code, done := f.parse(env, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "lessonbot preview: want one lesson id, such as: lessonbot preview port-strike --as telegram")
		return exitUsage
	}
	if *as != "" && !slices.Contains(previewFormats, *as) {
		fmt.Fprintf(env.Stderr, "lessonbot preview: unknown format %q (want telegram, discord or text)\n", *as)
		return exitUsage
	}
	cfg, ok := configFor(env, f)
	if !ok {
		return exitFailure
	}
	if *lang == "" {
		*lang = cfg.Language
	}
	if !slices.Contains(tutor.Languages, *lang) {
		fmt.Fprintf(env.Stderr, "lessonbot preview: unknown language %q (want en or fr)\n", *lang)
		return exitUsage
	}
	res := loadLessons(cfg.Lessons)
	l, found := res.Library.Lookup(pos[0])
	if !found {
		for _, p := range res.Problems {
			if !p.Warning {
				fmt.Fprintln(env.Stderr, p)
			}
		}
		fmt.Fprintf(env.Stderr, "lessonbot preview: no valid lesson %q in %s\n", pos[0], cfg.Lessons)
		return exitFailure
	}
	post := tutor.LessonPost(l, *lang)
	for _, format := range previewFormats {
		if *as != "" && *as != format {
			continue
		}
		if *as == "" {
			fmt.Fprintf(env.Stdout, "── %s ──\n", format)
		}
		switch format {
		case "telegram":
			fmt.Fprintln(env.Stdout, telegram.RenderHTML(post))
		case "discord":
			out, err := json.MarshalIndent(discord.RenderEmbed(post), "", "  ")
			if err != nil {
				fmt.Fprintf(env.Stderr, "lessonbot preview: %v\n", err)
				return exitFailure
			}
			fmt.Fprintln(env.Stdout, string(out))
		case "text":
			fmt.Fprintln(env.Stdout, console.RenderText(post))
		}
		if *as == "" && format != previewFormats[len(previewFormats)-1] {
			fmt.Fprintln(env.Stdout)
		}
	}
	return exitOK
}
