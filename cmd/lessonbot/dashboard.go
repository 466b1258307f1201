package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/config"
	"github.com/lessonbot/lessonbot/internal/console"
	"github.com/lessonbot/lessonbot/internal/dashboard"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

const dashboardLinkSummary = "print a single-use sign-in link to the admin dashboard, for setups without a chat"

// runDashboardLink is lessonbot dashboard-link: the bot's /dashboard for
// an admin at the server's terminal. With no argument it makes the link
// for the only admin the config names; with several, ADMIN says which.
func runDashboardLink(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "dashboard-link", "[ADMIN]", dashboardLinkSummary)
	pos, code, done := f.parse(env, args)
	if done {
		return code
	}
	if len(pos) > 1 {
		fmt.Fprintf(env.Stderr, "lessonbot dashboard-link: takes at most one admin, got %q\n", pos)
		return exitUsage
	}
	cfg, ok := configFor(env, f)
	if !ok {
		return exitFailure
	}
	base := cfg.DashboardURL()
	if base == "" {
		fmt.Fprintln(env.Stderr, "lessonbot dashboard-link: the dashboard is off: lessonbot run serves it on the admin listener, and admin.listen is empty (set it, such as 127.0.0.1:9090)")
		return exitUsage
	}
	admin, err := pickAdmin(configAdmins(cfg), pos)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot dashboard-link: %v\n", err)
		return exitUsage
	}
	// The link is good only in the database lessonbot run serves: a
	// mistyped path must not quietly make a new one.
	if _, err := os.Stat(cfg.Database); err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot dashboard-link: no database at %s: run it with lessonbot run's configuration (--config)\n", cfg.Database)
		return exitFailure
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot dashboard-link: %v\n", err)
		return exitFailure
	}
	defer st.Close()
	who := admin.Platform + ":" + admin.ID
	if admin.Name, err = st.AdminName(ctx, admin); err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot dashboard-link: %v\n", err)
		return exitFailure
	}
	if admin.Name == "" {
		admin.Name = who
	}
	link, err := dashboard.NewLinks(st, base, time.Now).LoginLink(ctx, admin)
	if errors.Is(err, store.ErrTooManyLinks) {
		fmt.Fprintf(env.Stderr, "lessonbot dashboard-link: too many sign-in links for %s: at most %d in %d minutes; use the last one, or wait a few minutes\n",
			who, store.MaxLinks, int(store.LinkWindow/time.Minute))
		return exitFailure
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot dashboard-link: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(env.Stdout, link)
	if admin.Name != who {
		who = admin.Name + " (" + who + ")"
	}
	fmt.Fprintf(env.Stderr, "Signs in %s once, within %d minutes; keep it to yourself.\n", who, int(store.LoginTTL/time.Minute))
	return exitOK
}

// configAdmins lists the admins the config names, Telegram's first, as
// users without a name.
func configAdmins(cfg config.Config) []chat.User {
	var out []chat.User
	for _, id := range cfg.Telegram.Admins {
		out = append(out, chat.User{Platform: chat.Telegram, ID: strconv.FormatInt(id, 10)})
	}
	for _, id := range cfg.Discord.Admins {
		out = append(out, chat.User{Platform: chat.Discord, ID: id})
	}
	return out
}

// isConfigAdmin tells whether u is one of the admins cfg names, for the
// dashboard's check of each sign-in and session.
func isConfigAdmin(cfg config.Config) func(chat.User) bool {
	admins := map[chat.User]bool{}
	for _, a := range configAdmins(cfg) {
		admins[a] = true
	}
	return func(u chat.User) bool { return admins[chat.User{Platform: u.Platform, ID: u.ID}] }
}

// pickAdmin chooses the admin dashboard-link makes a link for: the only
// one, or the one arg names as "telegram:ID", "discord:ID" or a bare ID.
func pickAdmin(admins []chat.User, arg []string) (chat.User, error) {
	list := make([]string, len(admins))
	for i, a := range admins {
		list[i] = a.Platform + ":" + a.ID
	}
	names := strings.Join(list, ", ")
	if len(arg) == 0 {
		switch len(admins) {
		case 0:
			return chat.User{}, errors.New("the config names no admin: add your user id to telegram.admins or discord.admins")
		case 1:
			return admins[0], nil
		}
		return chat.User{}, fmt.Errorf("the config names several admins; say which: lessonbot dashboard-link ADMIN, one of %s", names)
	}
	want := arg[0]
	var found []chat.User
	for i, a := range admins {
		if want == list[i] || want == a.ID {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		if len(admins) == 0 {
			return chat.User{}, fmt.Errorf("%s is not an admin: the config names none (add your user id to telegram.admins or discord.admins)", want)
		}
		return chat.User{}, fmt.Errorf("%s is not an admin in the config (admins: %s)", want, names)
	case 1:
		return found[0], nil
	}
	return chat.User{}, fmt.Errorf("%s is an admin on several platforms; say which: %s", want, names)
}

// newDashboard makes the dashboard for lessonbot run, served on the admin
// listener whose actual address is addr, and gives the tutor its sign-in
// links. The links keep admin.listen's host (a name such as localhost
// stays a name, as in lessonbot dashboard-link's links) and take the
// listener's port, which the system chose for port 0. wake tells the
// delivery pool of deliveries the dashboard put back in the queue.
func newDashboard(a *app, addr string, log *slog.Logger, wake func()) (*dashboard.Server, error) {
	cfg := a.cfg
	host, _, err := net.SplitHostPort(cfg.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin.listen: %w", err)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	cfg.Admin.Listen = net.JoinHostPort(host, port)
	base := cfg.DashboardURL()
	dash, err := dashboard.New(dashboard.Options{
		Store: a.store, BaseURL: base, Zone: cfg.Timezone, IsAdmin: isConfigAdmin(cfg),
		Reload: a.lessons.Reload, Now: a.now, Log: log,
		Lessons: a.lessons.Library, Questions: cfg.Quiz.Questions, Preview: lessonPreview(a.tutor, cfg.Language),
		Wake: wake,
	})
	if err != nil {
		return nil, err
	}
	a.tutor.SetLinks(dashboard.NewLinks(a.store, base, a.now))
	log.Info("admin dashboard ready", "addr", base)
	return dash, nil
}

// lessonPreview returns the dashboard's preview of a lesson: the messages
// the tutor composes for it (the post, then each question), in the
// configured language, rendered as the terminal chat renders them.
func lessonPreview(t *tutor.Tutor, lang string) func(*lesson.Lesson) []string {
	return func(l *lesson.Lesson) []string {
		var out []string
		for _, m := range t.LessonMessages(l, lang) {
			out = append(out, console.RenderText(m))
		}
		return out
	}
}

// poolWaker wakes the delivery pool once there is one: the dashboard is
// made before the pool, so that the tutor has its sign-in links before any
// bot takes a command. Before the pool starts, a wake is not needed: it
// looks at the queue as it starts.
type poolWaker struct{ wake atomic.Value }

// Wake wakes the pools, if there are any yet.
func (w *poolWaker) Wake() {
	if f, ok := w.wake.Load().(func()); ok {
		f()
	}
}
